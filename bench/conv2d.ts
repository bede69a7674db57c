/**
 * 2-D convolution benchmark (`simsage bench conv2d`): simsage's Conv2d forward and forward+backward
 * against onnxruntime-node running the same Conv (same weights, same NCHW input; the peer is
 * bench/peers/onnxConv2d.ts) in one process, on the ConvNet tower's layer shapes (batch 128, 3x3
 * kernels, Fashion-MNIST's 28x28 and its 14x14 / 7x7 down-samplings).
 *
 * Per cell: best time, GFLOP/s (forward 2·B·C_out·OH·OW·C_in·KH·KW; forward+backward adds dW, the
 * same count, and dX, the same again, unless the layer skips it), the fraction of the FMA peak
 * measured in this run (per thread × threads), and simsage / onnxruntime (GFLOP/s over ORT's
 * forward at the same shape and threads). onnxruntime-node has no backward, so forward+backward
 * has no peer: its ratio is against ORT's forward rate, which says how much of a training step's
 * conv work simsage does in the time ORT needs for inference only. A first layer (C_in = 1) skips
 * dX, as a tower fed with images does. simsage's threads come from `setThreads`, onnxruntime's from
 * `intraOpNumThreads`: equal per row.
 */
import type * as Ort from 'onnxruntime-node'
import { randomNormal } from './data.js'
import { cpuSnapshot, otherCpuShare, probeMachine, type MachineProbe } from './machine.js'
import { buildConv2dModel, type Conv2dWeights } from './peers/onnxConv2d.js'
import { loadOrt, ortRunner, type OrtRunner } from './peers/onnxTemporal.js'
import { loadSimsage, type SimsageApi } from './simsageApi.js'
import { diff, measure, type Timing } from './temporal-measure.js'
import { seededRng } from './temporal-simsage.js'

/** One layer shape of the benchmark. */
export interface Conv2dShapeSpec {
  readonly name: string
  readonly inChannels: number
  readonly outChannels: number
  readonly size: number
  readonly kernel: number
  readonly stride: number
  readonly padding: number
}

/** The tower's layers (issue 13): batch 128, k3. */
export const CONV2D_SHAPES: readonly Conv2dShapeSpec[] = [
  { name: '1->32 28x28', inChannels: 1, outChannels: 32, size: 28, kernel: 3, stride: 1, padding: 1 },
  { name: '32->32 28x28', inChannels: 32, outChannels: 32, size: 28, kernel: 3, stride: 1, padding: 1 },
  { name: '32->64 14x14', inChannels: 32, outChannels: 64, size: 14, kernel: 3, stride: 1, padding: 1 },
  { name: '64->64 14x14', inChannels: 64, outChannels: 64, size: 14, kernel: 3, stride: 1, padding: 1 },
  { name: '64->128 7x7', inChannels: 64, outChannels: 128, size: 7, kernel: 3, stride: 1, padding: 1 },
  { name: '32->64 28x28 s2', inChannels: 32, outChannels: 64, size: 28, kernel: 3, stride: 2, padding: 1 },
]

export type Conv2dTool = 'simsage' | 'onnxruntime'
export type Conv2dOp = 'forward' | 'forward+backward'

/** Benchmark settings, already validated. */
export interface Conv2dBenchOptions {
  readonly quick: boolean
  readonly batch: number
  readonly threads: readonly number[]
  readonly budgetSeconds: number
  readonly maxReps: number
  readonly seed: number
  /** Case-insensitive substrings of tool names to run; empty runs all. */
  readonly tools: readonly string[]
  readonly log: (line: string) => void
}

/** One (shape, op, tool, threads) measurement. */
export interface Conv2dCell {
  readonly shape: string
  readonly op: Conv2dOp
  readonly tool: Conv2dTool
  readonly threads: number
  readonly status: 'ok' | 'error'
  readonly error?: string
  readonly flops?: number
  readonly bestSeconds?: number
  readonly medianSeconds?: number
  readonly reps?: number
  readonly otherCpu?: number
  readonly gflops?: number
  /** gflops / (threads × the single-thread FMA peak measured in this run). */
  readonly fractionOfPeak?: number
  /** simsage rows: gflops over onnxruntime's forward at the same shape and threads. */
  readonly vsOnnxruntime?: number
  /** simsage forward rows: max |simsage − onnxruntime| and max |onnxruntime| for scale. */
  readonly check?: { readonly maxAbsDiff: number; readonly maxAbs: number }
}

/** Everything one run measured; written as JSON. */
export interface Conv2dReport {
  readonly bench: 'conv2d'
  readonly date: string
  readonly options: Omit<Conv2dBenchOptions, 'log'>
  readonly machine: MachineProbe
  readonly notes: string[]
  readonly cells: Conv2dCell[]
  readonly loadAvgAtStart: number
  readonly otherCpuDuringRun: number
  readonly totalSeconds: number
}

/** Raw option values as the command line gives them. */
export interface RawConv2dBenchOptions {
  quick?: boolean
  batch?: string
  threads?: string
  budget?: string
  maxReps?: string
  seed?: string
  tools?: string
  log?: (line: string) => void
}

function positiveInt(v: string, what: string): number {
  const n = Number(v)
  if (!Number.isInteger(n) || n <= 0) throw new RangeError(`${what}: expected a positive integer, got "${v}"`)
  return n
}

/** Defaults: batch 128, threads 1,2, 0.3 s per cell; `quick`: batch 4, threads 1, tiny budgets. */
export function parseConv2dBenchOptions(raw: RawConv2dBenchOptions = {}): Conv2dBenchOptions {
  const q = raw.quick === true
  const budget = raw.budget === undefined ? (q ? 0.02 : 0.3) : Number(raw.budget)
  if (!Number.isFinite(budget) || budget <= 0) throw new RangeError(`--budget: expected a positive number`)
  const threads = (raw.threads ?? (q ? '1' : '1,2')).split(',').map((s) => positiveInt(s.trim(), '--threads'))
  return {
    quick: q,
    batch: raw.batch !== undefined ? positiveInt(raw.batch, '--batch') : q ? 4 : 128,
    threads: [...new Set(threads)].sort((a, b) => a - b),
    budgetSeconds: budget,
    maxReps: raw.maxReps !== undefined ? positiveInt(raw.maxReps, '--max-reps') : q ? 2 : 5,
    seed: raw.seed !== undefined ? Math.trunc(Number(raw.seed)) : 42,
    tools: (raw.tools ?? '')
      .split(',')
      .map((t) => t.trim().toLowerCase())
      .filter(Boolean),
    log: raw.log ?? ((line) => process.stderr.write(`${line}\n`)),
  }
}

type Conv2dModule = InstanceType<SimsageApi['Conv2d']>

/** Runs every tool on one shape at every thread count; pushes cells. */
async function runShape(
  o: Conv2dBenchOptions,
  api: SimsageApi | undefined,
  ort: typeof Ort | undefined,
  peak: number | undefined,
  spec: Conv2dShapeSpec,
  cells: Conv2dCell[],
): Promise<void> {
  const want = (tool: Conv2dTool) => o.tools.length === 0 || o.tools.some((s) => tool.includes(s))
  const B = o.batch
  const out = Math.floor((spec.size + 2 * spec.padding - spec.kernel) / spec.stride) + 1
  const fwdFlops = 2 * B * spec.outChannels * out * out * spec.inChannels * spec.kernel * spec.kernel
  const inputGrad = spec.inChannels > 1
  const x = randomNormal(B * spec.inChannels * spec.size * spec.size, o.seed)
  const policy = { budgetSeconds: o.budgetSeconds, maxReps: o.maxReps }
  let conv: Conv2dModule | undefined
  if (api && want('simsage')) {
    conv = new api.Conv2d({
      inChannels: spec.inChannels,
      outChannels: spec.outChannels,
      inputHeight: spec.size,
      inputWidth: spec.size,
      kernelSize: spec.kernel,
      stride: spec.stride,
      padding: spec.padding,
      inputGrad,
      rng: seededRng(o.seed + 1),
    })
  }
  const cell = (tool: Conv2dTool, op: Conv2dOp, threads: number, flops: number, tm: Timing): Conv2dCell => {
    const gflops = flops / tm.bestSeconds / 1e9
    return {
      shape: spec.name,
      op,
      tool,
      threads,
      status: 'ok',
      flops,
      ...tm,
      gflops,
      ...(peak ? { fractionOfPeak: gflops / (threads * peak) } : {}),
    }
  }
  const fail = (tool: Conv2dTool, op: Conv2dOp, threads: number, err: unknown): Conv2dCell => ({
    shape: spec.name,
    op,
    tool,
    threads,
    status: 'error',
    error: (err as Error).message.split('\n')[0],
  })
  const push = (c: Conv2dCell) => {
    cells.push(c)
    const r = c.status === 'ok' ? `${c.gflops?.toFixed(1)} GFLOP/s` : c.error
    o.log(`  ${c.shape} ${c.tool} ${c.op} ${c.threads}t: ${r}`)
  }
  for (const threads of o.threads) {
    let ortFwd: Conv2dCell | undefined
    let ortOut: Float32Array | undefined
    if (ort && want('onnxruntime')) {
      let runner: OrtRunner | undefined
      try {
        const weights: Conv2dWeights = {
          inChannels: spec.inChannels,
          outChannels: spec.outChannels,
          height: spec.size,
          width: spec.size,
          kernel: [spec.kernel, spec.kernel],
          stride: [spec.stride, spec.stride],
          padding: [spec.padding, spec.padding],
          dilation: [1, 1],
          weight: conv?.weight.data ?? randomNormal(spec.outChannels * spec.inChannels * spec.kernel ** 2, o.seed),
          bias: conv?.bias?.data,
          outHeight: out,
          outWidth: out,
        }
        runner = await ortRunner(ort, buildConv2dModel(weights), threads)
        const r = runner
        const dims = [B, spec.inChannels, spec.size, spec.size]
        const outDims = [B, spec.outChannels, out, out]
        const tm = await measure(() => r.run(x, dims, outDims), policy)
        ortOut = Float32Array.from(await r.run(x, dims, outDims))
        ortFwd = cell('onnxruntime', 'forward', threads, fwdFlops, tm)
      } catch (err) {
        ortFwd = fail('onnxruntime', 'forward', threads, err)
      } finally {
        await runner?.release()
      }
      push(ortFwd)
    }
    if (!conv || !api) continue
    const m = conv
    api.setThreads(threads)
    const vs = (c: Conv2dCell): Conv2dCell =>
      c.gflops && ortFwd?.gflops ? { ...c, vsOnnxruntime: c.gflops / ortFwd.gflops } : c
    try {
      const tm = await measure(() => m.forward(x, B), policy)
      const y = m.forward(x, B)
      push({ ...vs(cell('simsage', 'forward', threads, fwdFlops, tm)), ...(ortOut ? { check: diff(y, ortOut) } : {}) })
    } catch (err) {
      push(fail('simsage', 'forward', threads, err))
    }
    try {
      const dy = randomNormal(B * m.outFeatures, o.seed + 7)
      const tm = await measure(() => {
        m.forward(x, B)
        m.backward(dy)
      }, policy)
      push(vs(cell('simsage', 'forward+backward', threads, fwdFlops * (inputGrad ? 3 : 2), tm)))
    } catch (err) {
      push(fail('simsage', 'forward+backward', threads, err))
    }
  }
}

/** Runs the benchmark; see the file comment. */
export async function runConv2dBench(o: Conv2dBenchOptions): Promise<Conv2dReport> {
  const started = performance.now()
  const runSnapshot = cpuSnapshot()
  const loadAvgAtStart = (await import('node:os')).loadavg()[0]
  const notes: string[] = [
    'onnxruntime-node has no backward: forward+backward rows are compared with onnxruntime forward',
    'a first layer (C_in = 1) skips dX in forward+backward, as a tower fed with images does',
  ]
  if (loadAvgAtStart > 0.5) o.log(`warning: 1-minute load average is ${loadAvgAtStart.toFixed(2)}; timings are noisy`)
  const loaded = await loadSimsage()
  const api = typeof loaded === 'string' ? undefined : loaded
  if (typeof loaded === 'string') notes.push(`simsage: skipped, ${loaded}`)
  const ortLoaded = await loadOrt()
  const ort = typeof ortLoaded === 'string' ? undefined : ortLoaded
  if (typeof ortLoaded === 'string') notes.push(`onnxruntime: skipped, ${ortLoaded}`)
  const threadsBefore = api?.info().threads
  const machine = probeMachine(api, new Float32Array(0), [], o.quick ? 0.2 : 0.5)
  if (machine.fmaPeakGflops) o.log(`probe: FMA peak ${machine.fmaPeakGflops.toFixed(1)} GFLOP/s/thread`)
  const cells: Conv2dCell[] = []
  try {
    o.log(`conv2d: B=${o.batch}, threads ${o.threads.join(',')}`)
    for (const spec of CONV2D_SHAPES) await runShape(o, api, ort, machine.fmaPeakGflops, spec, cells)
  } finally {
    if (api && threadsBefore) api.setThreads(threadsBefore)
  }
  const { log: _log, ...options } = o
  return {
    bench: 'conv2d',
    date: new Date().toISOString(),
    options,
    machine,
    notes,
    cells,
    loadAvgAtStart,
    otherCpuDuringRun: otherCpuShare(runSnapshot, cpuSnapshot()) ?? 0,
    totalSeconds: (performance.now() - started) / 1000,
  }
}

const f1 = (v: number | undefined) => (v === undefined ? '-' : v.toFixed(1))
const f2 = (v: number | undefined) => (v === undefined ? '-' : `${v.toFixed(2)}x`)
const pct = (v: number | undefined) => (v === undefined ? '-' : `${(100 * v).toFixed(0)}%`)

/** The report as text: one table per thread count, then the notes. */
export function formatConv2dReport(r: Conv2dReport): string {
  const lines: string[] = [
    `conv2d (NCHW, batch ${r.options.batch}): GFLOP/s, best of up to ${r.options.maxReps} runs; ` +
      `FMA peak ${f1(r.machine.fmaPeakGflops)} GFLOP/s/thread; load average ${r.loadAvgAtStart.toFixed(2)} at start`,
  ]
  const find = (shape: string, tool: Conv2dTool, op: Conv2dOp, threads: number) =>
    r.cells.find((c) => c.shape === shape && c.tool === tool && c.op === op && c.threads === threads)
  const head = ['shape', 'simsage fwd', 'ORT fwd', 'ratio', 'peak', 'simsage fwd+bwd', 'vs ORT fwd', 'peak', 'max |Δ|']
  for (const threads of r.options.threads) {
    const rows: string[][] = [head]
    for (const spec of CONV2D_SHAPES) {
      const sf = find(spec.name, 'simsage', 'forward', threads)
      const of = find(spec.name, 'onnxruntime', 'forward', threads)
      const sb = find(spec.name, 'simsage', 'forward+backward', threads)
      const err = (c: Conv2dCell | undefined) => (c?.status === 'error' ? 'error' : f1(c?.gflops))
      rows.push([
        spec.name,
        err(sf),
        err(of),
        f2(sf?.vsOnnxruntime),
        pct(sf?.fractionOfPeak),
        err(sb),
        f2(sb?.vsOnnxruntime),
        pct(sb?.fractionOfPeak),
        sf?.check ? sf.check.maxAbsDiff.toExponential(1) : '-',
      ])
    }
    const widths = head.map((_, i) => Math.max(...rows.map((row) => row[i].length)))
    lines.push('', `threads ${threads}`)
    for (const row of rows) lines.push(row.map((v, i) => (i === 0 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  '))
  }
  const errors = r.cells.filter((c) => c.status === 'error')
  for (const c of errors) lines.push(`error: ${c.shape} ${c.tool} ${c.op} ${c.threads}t: ${c.error}`)
  lines.push('', ...r.notes.map((n) => `note: ${n}`))
  return lines.join('\n')
}
