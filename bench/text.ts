/**
 * `simsage bench text`: featurise + embed short queries (commit subjects from a commits JSONL,
 * gzip or plain) on one thread, queries/s, for simsage (normalise in JS, native featuriser and hash
 * embedding bag), a plain-TypeScript implementation of the same featurise + embed (bench/text-plain.ts)
 * and onnxruntime-node running the bag (Gather + Mul + ScatterND-add + LayerNormalization,
 * bench/peers/onnxText.ts) on simsage's token ids, in the same run, with ratios. The embed-only rows
 * time the bag on precomputed features / ids. All tools share one set of weights, and their outputs
 * are compared on the first batch. Target (issue 10): simsage ≥ 100,000 queries/s on one thread.
 */
import { readFileSync } from 'node:fs'
import { gunzipSync } from 'node:zlib'

import { hostFacts } from './machine.js'
import { hashBagRunner, buildHashBagModel, type BagIds } from './peers/onnxText.js'
import { loadOrt } from './peers/onnxTemporal.js'
import { loadSimsage } from './simsageApi.js'
import { diff, measure } from './temporal-measure.js'
import { PlainTextBag } from './text-plain.js'

/** Options of the run. */
export interface TextBenchOptions {
  readonly commits: string
  readonly queries: number
  readonly batch: number
  readonly dim: number
  readonly rows: number
  readonly budgetSeconds: number
  readonly maxReps: number
  readonly tools: readonly string[]
}

/** One timed row. */
export interface TextBenchRow {
  readonly tool: string
  /** 'featurize+embed' or 'embed' (on precomputed features / ids). */
  readonly what: string
  readonly queriesPerSecond: number
  /**
   * Queries per second of this process's CPU time (user + system, all passes with the warm-up):
   * steadier than wall time on a shared machine, where other processes take the core.
   */
  readonly queriesPerCpuSecond: number
  readonly bestSeconds: number
  readonly reps: number
  readonly otherCpu?: number
  /** simsage's queries/s over this row's (same `what`); 1 on simsage's rows. */
  readonly simsageRatio?: number
}

/** The report (written as JSON). */
export interface TextBenchReport {
  readonly bench: 'text'
  readonly date: string
  readonly host: ReturnType<typeof hostFacts>
  readonly options: TextBenchOptions
  readonly tokensPerQuery: number
  readonly rows: TextBenchRow[]
  /** Max |y − simsage y| on the first batch, per peer. */
  readonly agreement: Record<string, number>
  readonly skipped: Record<string, string>
  readonly target: { readonly queriesPerSecond: number; readonly measured?: number; readonly pass?: boolean }
}

/** Commit subjects of a commits JSONL (gzip when the name ends in .gz). */
export function readSubjects(path: string, limit: number): string[] {
  const raw = readFileSync(path)
  const text = (path.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8')
  const out: string[] = []
  for (const line of text.split('\n')) {
    if (out.length >= limit) break
    if (!line.trim()) continue
    const s = (JSON.parse(line) as { subject?: unknown }).subject
    if (typeof s === 'string' && s.trim()) out.push(s)
  }
  return out
}

const TARGET = 100_000

export async function runTextBench(o: TextBenchOptions): Promise<TextBenchReport> {
  const api = await loadSimsage()
  if (typeof api === 'string') throw new Error(api)
  const want = (tool: string) => o.tools.length === 0 || o.tools.some((t) => tool.includes(t))
  const subjects = readSubjects(o.commits, o.queries)
  const batches: string[][] = []
  for (let i = 0; i < subjects.length; i += o.batch) batches.push(subjects.slice(i, i + o.batch))
  const threadsBefore = api.info().threads
  api.setThreads(1)
  const bag = new api.HashEmbeddingBag({ rows: o.rows, dim: o.dim, threads: 1 })
  const t = bag.tensors()
  for (let i = 0; i < t.importance.length; i++) t.importance[i] = 1 + 0.3 * Math.sin(i) // learned-looking weights
  const weights = { rows: bag.rows, dim: bag.dim, importanceRows: bag.importanceRows, eps: bag.eps, seed: 0, ...t }
  const rows: TextBenchRow[] = []
  const agreement: Record<string, number> = {}
  const skipped: Record<string, string> = {}
  const N = subjects.length
  const timeIt = async (tool: string, what: string, pass: () => unknown) => {
    const cpu0 = process.cpuUsage()
    const m = await measure(pass, { budgetSeconds: o.budgetSeconds, maxReps: o.maxReps })
    const cpu = process.cpuUsage(cpu0)
    rows.push({
      tool,
      what,
      queriesPerSecond: N / m.bestSeconds,
      queriesPerCpuSecond: (N * (m.reps + 1)) / ((cpu.user + cpu.system) / 1e6),
      bestSeconds: m.bestSeconds,
      reps: m.reps,
      ...(m.otherCpu !== undefined ? { otherCpu: m.otherCpu } : {}),
    })
  }
  try {
    const first = Float32Array.from(bag.embed(batches[0]))
    const features = batches.map((b) => bag.featurize(b))
    const tokens = features.reduce((s, f) => s + f.hashes.length, 0)
    await timeIt('simsage', 'featurize+embed', () => {
      for (const b of batches) bag.embed(b)
    })
    await timeIt('simsage', 'embed', () => {
      for (const f of features) bag.forward(f)
    })
    if (want('plain')) {
      const plain = new PlainTextBag(weights)
      const outs = batches.map((b) => new Float32Array(b.length * o.dim))
      agreement.plain = diff(plain.embed(batches[0]), first).maxAbsDiff
      await timeIt('plain TS', 'featurize+embed', () => {
        for (let i = 0; i < batches.length; i++) plain.embed(batches[i], outs[i])
      })
    }
    if (want('onnx')) {
      const ort = await loadOrt()
      if (typeof ort === 'string') {
        skipped.onnxruntime = ort
      } else {
        const runner = await hashBagRunner(ort, buildHashBagModel(weights), o.dim)
        // simsage's token rows as ORT's int64 inputs, written as (low, high) int32 pairs: no BigInt per token.
        const toIds = (f: Parameters<typeof bag.tokenRows>[0]): BagIds => {
          const r = bag.tokenRows(f)
          const n = r.a.length
          const widen = (src: Int32Array) => {
            const out = new BigInt64Array(n)
            const w = new Int32Array(out.buffer)
            for (let k = 0; k < n; k++) w[2 * k] = src[k]
            return out
          }
          return { a: widen(r.a), b: widen(r.b), q: widen(r.importance), seg: widen(r.segment), batch: f.count }
        }
        const ids = features.map(toIds)
        agreement.onnxruntime = diff(await runner.run(ids[0]), first).maxAbsDiff
        await timeIt('onnxruntime', 'featurize+embed', async () => {
          for (const b of batches) await runner.run(toIds(bag.featurize(b)))
        })
        await timeIt('onnxruntime', 'embed', async () => {
          for (const x of ids) await runner.run(x)
        })
        await runner.release()
      }
    }
    const simsageQps = (what: string) => rows.find((r) => r.tool === 'simsage' && r.what === what)?.queriesPerSecond
    const withRatios = rows.map((r) => {
      const s = simsageQps(r.what)
      return s === undefined ? r : { ...r, simsageRatio: s / r.queriesPerSecond }
    })
    const measured = simsageQps('featurize+embed')
    return {
      bench: 'text',
      date: new Date().toISOString(),
      host: hostFacts(),
      options: o,
      tokensPerQuery: tokens / N,
      rows: withRatios,
      agreement,
      skipped,
      target: { queriesPerSecond: TARGET, ...(measured !== undefined ? { measured, pass: measured >= TARGET } : {}) },
    }
  } finally {
    api.setThreads(threadsBefore)
  }
}

/** The report as a text table. */
export function formatTextReport(r: TextBenchReport): string {
  const o = r.options
  const lines = [
    `text: featurise + embed ${o.queries} commit subjects (${r.tokensPerQuery.toFixed(1)} tokens each), batches of ${o.batch}, ` +
      `R = ${o.rows}, D = ${o.dim}, one thread`,
    '',
    `${'tool'.padEnd(14)}${'what'.padEnd(18)}${'queries/s'.padStart(12)}${'simsage ×'.padStart(11)}${'q/CPU-s'.padStart(12)}`,
  ]
  for (const row of r.rows) {
    const ratio = row.simsageRatio === undefined ? '' : row.simsageRatio.toFixed(2)
    const busy = row.otherCpu !== undefined && row.otherCpu > 0.05 ? '  (machine busy)' : ''
    lines.push(
      `${row.tool.padEnd(14)}${row.what.padEnd(18)}${Math.round(row.queriesPerSecond).toLocaleString('en-US').padStart(12)}${ratio.padStart(11)}${Math.round(row.queriesPerCpuSecond).toLocaleString('en-US').padStart(12)}${busy}`,
    )
  }
  lines.push('')
  for (const [k, v] of Object.entries(r.agreement))
    lines.push(`max |y - simsage y| on batch 0, ${k}: ${v.toExponential(2)}`)
  for (const [k, v] of Object.entries(r.skipped)) lines.push(`skipped ${k}: ${v}`)
  const tg = r.target
  lines.push(
    `target: simsage featurize+embed >= ${tg.queriesPerSecond.toLocaleString('en-US')} queries/s on one thread: ` +
      (tg.measured === undefined
        ? 'not measured'
        : `${Math.round(tg.measured).toLocaleString('en-US')} (${tg.pass ? 'pass' : 'FAIL'})`),
  )
  return lines.join('\n')
}
