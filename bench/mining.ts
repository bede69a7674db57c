/**
 * Triplet mining benchmark (`simsage bench mining`): pairwise squared-Euclidean distances,
 * batch-hard and semi-hard mining of one batch, B ∈ {256, 1024, 4096, 8192}, D = 128, simsage against
 * a plain TypeScript implementation (bench/mining-plain.ts) and @tensorflow/tfjs on its pure-JS CPU
 * backend, in one process, on the same seeded data, printing times, ratios, time per B² element and
 * minor page faults per call (`process.resourceUsage().minorPageFault` around the timed calls).
 *
 * Every tool runs as a training loop would call it, batch after batch: simsage's miners keep their
 * distance matrix between calls, and both simsage and the plain loop write pairwise distances into
 * a reused output buffer (`pairwiseDistances(e, { out })`).
 *
 * Batches are PK batches (Hermans et al.): `perClass` rows per class. Each miner cell includes its
 * distance matrix (every tool computes it from the embeddings). tfjs semi-hard needs a B x B x B
 * tensor (TF-Addons' formulation), so it runs only up to `tfjsSemiHardMax`; its other cells only up
 * to `tfjsMax` (over a minute per call beyond).
 */
import os from 'node:os'

import { randomNormal } from './data.js'
import { hostFacts } from './machine.js'
import { plainBatchHard, plainPairwiseSq, plainSemiHard } from './mining-plain.js'
import { loadSimsage } from './simsageApi.js'

/** Benchmark settings. */
export interface MiningBenchOptions {
  /** Batch sizes B. */
  readonly sizes: readonly number[]
  /** Embedding dimension D. */
  readonly dim: number
  /** Rows per class. */
  readonly perClass: number
  /** Seconds of timed repetitions per cell (at least one repetition runs). */
  readonly budgetSeconds: number
  /** Upper bound on repetitions per cell. */
  readonly maxReps: number
  readonly seed: number
  /** Threads of the multi-threaded simsage row (simsage-1t always uses one). */
  readonly threads: number
  /** Largest B for tfjs semi-hard (B³ floats of memory). */
  readonly tfjsSemiHardMax: number
  /** Largest B for tfjs's other cells. */
  readonly tfjsMax: number
  /** Case-insensitive substrings of tool names to run; empty runs all. */
  readonly tools: readonly string[]
  readonly log: (line: string) => void
}

export type MiningOp = 'pairwise' | 'batchHard' | 'semiHard'

/** One (tool, B, op) measurement. */
export interface MiningCell {
  readonly tool: string
  readonly b: number
  readonly op: MiningOp
  readonly status: 'ok' | 'n/a' | 'error'
  readonly note?: string
  readonly bestSeconds?: number
  readonly medianSeconds?: number
  readonly reps?: number
  /** Best time per element of the B x B matrix, ns. */
  readonly nsPerElement?: number
  /** Minor page faults per timed call (the whole process: include allocation by the call). */
  readonly pageFaultsPerCall?: number
  /** Triplets returned (miners). */
  readonly triplets?: number
  /** Share of triplets identical to the plain TS result (miners; near-ties may differ in float32). */
  readonly agreement?: number
}

export interface MiningReport {
  readonly bench: 'mining'
  readonly date: string
  readonly machine: ReturnType<typeof hostFacts> & { simsage?: unknown }
  readonly options: Omit<MiningBenchOptions, 'log'>
  readonly notes: string[]
  readonly cells: MiningCell[]
  /** Per (B, op): plain TS seconds / simsage seconds, and tfjs seconds / simsage seconds. */
  readonly ratios: {
    b: number
    op: MiningOp
    simsageVsPlain?: number
    simsage1tVsPlain?: number
    simsageVsTfjs?: number
  }[]
}

const DEFAULTS: Omit<MiningBenchOptions, 'log' | 'threads'> = {
  sizes: [256, 1024, 4096, 8192],
  dim: 128,
  perClass: 8,
  budgetSeconds: 0.5,
  maxReps: 7,
  seed: 42,
  tfjsSemiHardMax: 256,
  tfjsMax: 4096,
  tools: [],
}

type Impl = Record<MiningOp, (e: Float32Array, labels: Int32Array, b: number, dim: number) => Float32Array | Int32Array>

interface Tool {
  readonly name: string
  readonly impl?: Impl
  readonly unavailable?: string
  readonly opLimit?: Partial<Record<MiningOp, number>>
}

async function simsageTools(threads: number): Promise<Tool[]> {
  const m = await loadSimsage()
  if (typeof m === 'string') return [{ name: 'simsage', unavailable: m }]
  const make = (t: number): Impl => {
    const hard = new m.BatchHardMiner({ threads: t })
    const semi = new m.SemiHardMiner({ threads: t })
    let out = new Float32Array(0)
    return {
      pairwise: (e, _l, b, dim) => {
        if (out.length !== b * b) out = new Float32Array(b * b)
        return m.pairwiseDistances(e, { dim, threads: t, out }).data
      },
      batchHard: (e, l, _b, dim) => hard.mine(e, l, dim).data,
      semiHard: (e, l, _b, dim) => semi.mine(e, l, dim).data,
    }
  }
  const tools: Tool[] = [{ name: `simsage (${threads}t)`, impl: make(threads) }]
  if (threads > 1) tools.push({ name: 'simsage-1t', impl: make(1) })
  return tools
}

let plainOut = new Float32Array(0)
const plainTool: Tool = {
  name: 'plain TS',
  impl: {
    pairwise: (e, _l, b, dim) => {
      if (plainOut.length !== b * b) plainOut = new Float32Array(b * b)
      return plainPairwiseSq(e, b, dim, plainOut)
    },
    batchHard: (e, l, b, dim) => plainBatchHard(plainPairwiseSq(e, b, dim), l, b),
    semiHard: (e, l, b, dim) => plainSemiHard(plainPairwiseSq(e, b, dim), l, b),
  },
}

async function tfjsTool(semiMax: number, max: number): Promise<Tool> {
  let tf: typeof import('@tensorflow/tfjs')
  try {
    tf = await import('@tensorflow/tfjs')
    await tf.setBackend('cpu')
    await tf.ready()
  } catch (err) {
    return {
      name: 'tfjs (cpu)',
      unavailable: `@tensorflow/tfjs not available (${(err as Error).message.split('\n')[0]})`,
    }
  }
  type T2 = import('@tensorflow/tfjs').Tensor2D
  const dist = (e: Float32Array, b: number, dim: number): T2 => {
    const x = tf.tensor2d(e, [b, dim])
    const sq = x.square().sum(1)
    const g = tf.matMul(x, x, false, true)
    return tf.relu(sq.expandDims(1).add(sq.expandDims(0)).sub(g.mul(2))) as T2
  }
  const masks = (l: Int32Array, b: number) => {
    const lt = tf.tensor1d(l, 'int32')
    const same = tf.equal(lt.expandDims(1), lt.expandDims(0))
    const pos = tf.logicalAnd(same, tf.logicalNot(tf.eye(b).cast('bool')))
    return { same, pos }
  }
  const impl: Impl = {
    pairwise: (e, _l, b, dim) => tf.tidy(() => dist(e, b, dim)).dataSync() as Float32Array,
    batchHard: (e, l, b, dim) => {
      const [pi, ni, hasPos] = tf.tidy(() => {
        const d = dist(e, b, dim)
        const { same, pos } = masks(l, b)
        const inf = tf.fill([b, b], Infinity)
        const p = tf.where(pos, d, tf.neg(inf)).argMax(1)
        const n = tf.where(same, inf, d).argMin(1)
        return [p, n, pos.any(1)]
      })
      const pa = pi.dataSync(),
        na = ni.dataSync(),
        hp = hasPos.dataSync()
      tf.dispose([pi, ni, hasPos])
      const out: number[] = []
      for (let a = 0; a < b; a++) if (hp[a]) out.push(a, pa[a], na[a])
      return Int32Array.from(out)
    },
    semiHard: (e, l, b, dim) => {
      const [idx, val, posm] = tf.tidy(() => {
        const d = dist(e, b, dim)
        const { same, pos } = masks(l, b)
        const dp = d.expandDims(2) // [a, p, 1]
        const dn = d.expandDims(1) // [a, 1, n]
        const ok = tf.logicalAnd(tf.logicalNot(same).expandDims(1), tf.greater(dn, dp)) // [a, p, n]
        const cand = tf.where(ok, tf.broadcastTo(dn, [b, b, b]), tf.fill([b, b, b], Infinity))
        return [cand.argMin(2), cand.min(2), pos]
      })
      const ia = idx.dataSync(),
        va = val.dataSync(),
        pm = posm.dataSync()
      tf.dispose([idx, val, posm])
      const out: number[] = []
      for (let a = 0; a < b; a++)
        for (let p = 0; p < b; p++) if (pm[a * b + p] && Number.isFinite(va[a * b + p])) out.push(a, p, ia[a * b + p])
      return Int32Array.from(out)
    },
  }
  return { name: 'tfjs (cpu)', impl, opLimit: { pairwise: max, batchHard: max, semiHard: Math.min(semiMax, max) } }
}

/** Labels of a PK batch: rows i*perClass .. (i+1)*perClass-1 share class i, shuffled by seed. */
function pkLabels(b: number, perClass: number, seed: number): Int32Array {
  const l = new Int32Array(b)
  for (let i = 0; i < b; i++) l[i] = Math.floor(i / perClass)
  let s = seed >>> 0
  for (let i = b - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    const j = s % (i + 1)
    const t = l[i]
    l[i] = l[j]
    l[j] = t
  }
  return l
}

function time(
  fn: () => unknown,
  budget: number,
  maxReps: number,
): { best: number; median: number; reps: number; out: unknown; faultsPerCall: number } {
  const once = () => {
    const t0 = process.hrtime.bigint()
    const out = fn()
    return { s: Number(process.hrtime.bigint() - t0) / 1e9, out }
  }
  const first = once() // warm-up; also the only run when it alone exceeds the budget
  const times: number[] = []
  let out = first.out
  if (first.s >= budget) times.push(first.s)
  let spent = 0
  const faults0 = process.resourceUsage().minorPageFault
  let timed = 0
  while (times.length < maxReps && (times.length === 0 || spent < budget)) {
    const r = once()
    times.push(r.s)
    out = r.out
    spent += r.s
    timed++
  }
  const faults = process.resourceUsage().minorPageFault - faults0
  const sorted = [...times].sort((a, b) => a - b)
  return {
    best: sorted[0],
    median: sorted[Math.floor(sorted.length / 2)],
    reps: times.length,
    out,
    // The warm-up call is outside the count: what a loop that calls again and again pays per call.
    faultsPerCall: timed > 0 ? faults / timed : 0,
  }
}

function agreement(got: Int32Array, want: Int32Array): number {
  const key = (t: Int32Array, i: number) => `${t[i]},${t[i + 1]},${t[i + 2]}`
  const set = new Set<string>()
  for (let i = 0; i < want.length; i += 3) set.add(key(want, i))
  let same = 0
  for (let i = 0; i < got.length; i += 3) if (set.has(key(got, i))) same++
  return Math.max(got.length, want.length) === 0 ? 1 : same / (Math.max(got.length, want.length) / 3)
}

/** Runs the benchmark; `options` fields override the defaults (B 256/1024/4096, D 128). */
export async function runMiningBench(options: Partial<MiningBenchOptions> = {}): Promise<MiningReport> {
  const threads = options.threads ?? Math.max(1, os.availableParallelism?.() ?? os.cpus().length)
  const o: MiningBenchOptions = { ...DEFAULTS, threads, log: (l) => process.stderr.write(`${l}\n`), ...options }
  for (const v of [...o.sizes, o.dim, o.perClass]) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`sizes, dim and perClass must be positive integers, got ${v}`)
  }
  if (!(o.budgetSeconds > 0)) throw new Error(`budget must be a positive number of seconds, got ${o.budgetSeconds}`)
  const notes: string[] = []
  const wanted = (name: string) =>
    o.tools.length === 0 || o.tools.some((t) => name.toLowerCase().includes(t.toLowerCase()))
  const tools = [...(await simsageTools(o.threads)), plainTool, await tfjsTool(o.tfjsSemiHardMax, o.tfjsMax)].filter(
    (t) => wanted(t.name),
  )
  for (const t of tools) if (t.unavailable) notes.push(`${t.name}: skipped, ${t.unavailable}`)
  let simsageInfo: unknown
  const api = await loadSimsage()
  if (typeof api !== 'string') simsageInfo = api.info() // a load failure is reported through the tool's note
  const cells: MiningCell[] = []
  const ops: MiningOp[] = ['pairwise', 'batchHard', 'semiHard']
  for (const b of o.sizes) {
    const e = randomNormal(b * o.dim, o.seed + b)
    const labels = pkLabels(b, o.perClass, o.seed)
    const plainOut: Partial<Record<MiningOp, Int32Array>> = {}
    for (const op of ops) {
      for (const t of tools) {
        if (!t.impl) continue
        const limit = t.opLimit?.[op]
        if (limit !== undefined && b > limit) {
          const why = op === 'semiHard' && limit === o.tfjsSemiHardMax ? 'needs a B³ tensor' : 'over a minute per call'
          cells.push({ tool: t.name, b, op, status: 'n/a', note: `B > ${limit}: ${why}` })
          continue
        }
        o.log(`mining: ${t.name} ${op} B=${b}`)
        try {
          const impl = t.impl
          const r = time(() => impl[op](e, labels, b, o.dim), o.budgetSeconds, o.maxReps)
          let triplets: number | undefined
          let agree: number | undefined
          if (op !== 'pairwise') {
            const out = r.out as Int32Array
            triplets = out.length / 3
            if (t === plainTool) plainOut[op] = out
            else if (plainOut[op]) agree = agreement(out, plainOut[op] as Int32Array)
          }
          cells.push({
            tool: t.name,
            b,
            op,
            status: 'ok',
            bestSeconds: r.best,
            medianSeconds: r.median,
            reps: r.reps,
            nsPerElement: (r.best / (b * b)) * 1e9,
            pageFaultsPerCall: r.faultsPerCall,
            triplets,
            agreement: agree,
          })
        } catch (err) {
          cells.push({ tool: t.name, b, op, status: 'error', note: (err as Error).message.split('\n')[0] })
        }
      }
    }
  }
  const sec = (tool: string, b: number, op: MiningOp) =>
    cells.find((c) => c.tool === tool && c.b === b && c.op === op && c.status === 'ok')?.bestSeconds
  const main = `simsage (${o.threads}t)`
  const ratios = o.sizes.flatMap((b) =>
    ops.map((op) => {
      const s = sec(main, b, op),
        s1 = sec('simsage-1t', b, op),
        p = sec('plain TS', b, op),
        f = sec('tfjs (cpu)', b, op)
      return {
        b,
        op,
        simsageVsPlain: s && p ? p / s : undefined,
        simsage1tVsPlain: s1 && p ? p / s1 : undefined,
        simsageVsTfjs: s && f ? f / s : undefined,
      }
    }),
  )
  const { log: _log, ...opts } = o
  return {
    bench: 'mining',
    date: new Date().toISOString(),
    machine: { ...hostFacts(), simsage: simsageInfo },
    options: opts,
    notes,
    cells,
    ratios,
  }
}

const fmtS = (s?: number) =>
  s === undefined
    ? '-'
    : s < 1e-3
      ? `${(s * 1e6).toFixed(0)} µs`
      : s < 1
        ? `${(s * 1e3).toFixed(2)} ms`
        : `${s.toFixed(2)} s`
const fmtX = (x?: number) => (x === undefined ? '-' : `${x >= 100 ? x.toFixed(0) : x.toFixed(1)}×`)

/** Text tables: best time per (tool, B, op), then ratios. */
export function formatMiningReport(r: MiningReport): string {
  const lines: string[] = []
  const o = r.options
  lines.push(
    `triplet mining: D = ${o.dim}, ${o.perClass} rows per class, squared Euclidean; ${r.machine.cpuModel}, ${r.machine.logicalCpus} logical CPUs`,
  )
  const ops: MiningOp[] = ['pairwise', 'batchHard', 'semiHard']
  const tools = [...new Set(r.cells.map((c) => c.tool))]
  const pad = (s: string, n: number) => s.padEnd(n)
  lines.push('')
  lines.push(pad('tool', 16) + pad('B', 7) + ops.map((op) => pad(op, 22)).join(''))
  for (const b of o.sizes) {
    for (const t of tools) {
      const row = ops.map((op) => {
        const c = r.cells.find((x) => x.tool === t && x.b === b && x.op === op)
        if (!c) return pad('-', 22)
        if (c.status !== 'ok') return pad(c.status, 22)
        const extra = c.agreement !== undefined && c.agreement < 1 ? ` (${(c.agreement * 100).toFixed(1)}% =)` : ''
        return pad(fmtS(c.bestSeconds) + extra, 22)
      })
      lines.push(pad(t, 16) + pad(String(b), 7) + row.join(''))
    }
  }
  lines.push('')
  lines.push(pad('speed-up', 16) + pad('B', 7) + ops.map((op) => pad(op, 22)).join(''))
  const ratioRow = (label: string, key: 'simsageVsPlain' | 'simsage1tVsPlain' | 'simsageVsTfjs') => {
    for (const b of o.sizes) {
      const row = ops.map((op) => pad(fmtX(r.ratios.find((x) => x.b === b && x.op === op)?.[key]), 22))
      lines.push(pad(label, 16) + pad(String(b), 7) + row.join(''))
    }
  }
  ratioRow('vs plain TS', 'simsageVsPlain')
  ratioRow('1t vs plain TS', 'simsage1tVsPlain')
  ratioRow('vs tfjs (cpu)', 'simsageVsTfjs')
  lines.push('')
  lines.push('page faults per call, ns per B² element:')
  lines.push(pad('tool', 16) + pad('B', 7) + ops.map((op) => pad(op, 22)).join(''))
  for (const b of o.sizes) {
    for (const t of tools) {
      const row = ops.map((op) => {
        const c = r.cells.find((x) => x.tool === t && x.b === b && x.op === op)
        if (c?.status !== 'ok') return pad('-', 22)
        return pad(`${(c.pageFaultsPerCall ?? 0).toFixed(0)}, ${(c.nsPerElement ?? 0).toFixed(2)} ns`, 22)
      })
      lines.push(pad(t, 16) + pad(String(b), 7) + row.join(''))
    }
  }
  for (const n of r.notes) lines.push(`note: ${n}`)
  const na = new Set(
    r.cells.filter((c) => c.tool === 'tfjs (cpu)' && c.status === 'n/a').map((c) => `tfjs ${c.op} ${c.note}`),
  )
  for (const n of na) lines.push(`note: ${n}`)
  return lines.join('\n')
}
