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
 * `intraOpNumThreads`: equal per row. The tools' repetitions alternate round by round; each cell also
 * gets a rate per second of process CPU time, whose ratio (one thread) other load disturbs less.
 */
import type * as Ort from 'onnxruntime-node'
import { randomNormal } from './data.js'
import { cpuSnapshot, otherCpuShare, probeMachine, type MachineProbe } from './machine.js'
import { buildConv2dModel, type Conv2dWeights } from './peers/onnxConv2d.js'
import { loadOrt, ortRunner, type OrtRunner } from './peers/onnxTemporal.js'
import { loadSimsage, type SimsageApi } from './simsageApi.js'
import { diff, type Timing } from './temporal-measure.js'
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
  /**
   * GFLOP/s per second of process CPU time (best repetition): with one thread, a rate that other
   * processes' load on a shared machine does not lower as much as the wall-clock one.
   */
  readonly cpuGflops?: number
  /** simsage rows: cpuGflops over onnxruntime's forward cpuGflops (meaningful with one thread). */
  readonly vsOnnxruntimeCpu?: number
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
    // The contenders' repetitions alternate (one of each per round), so load that comes and goes
    // during the run reaches every tool alike; each timing is the best (and median) over rounds.
    const contenders: { tool: Conv2dTool; op: Conv2dOp; flops: number; fn: () => unknown }[] = []
    let runner: OrtRunner | undefined
    let ortOut: Float32Array | undefined
    const failed: Conv2dCell[] = []
    if (ort && want('onnxruntime')) {
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
        const r = await ortRunner(ort, buildConv2dModel(weights), threads)
        runner = r
        const dims = [B, spec.inChannels, spec.size, spec.size]
        const outDims = [B, spec.outChannels, out, out]
        ortOut = Float32Array.from(await r.run(x, dims, outDims))
        contenders.push({ tool: 'onnxruntime', op: 'forward', flops: fwdFlops, fn: () => r.run(x, dims, outDims) })
      } catch (err) {
        failed.push(fail('onnxruntime', 'forward', threads, err))
      }
    }
    let check: Conv2dCell['check']
    if (conv && api) {
      const m = conv
      api.setThreads(threads)
      try {
        const y = m.forward(x, B)
        if (ortOut) check = diff(y, ortOut)
        const dy = randomNormal(B * m.outFeatures, o.seed + 7)
        contenders.push({ tool: 'simsage', op: 'forward', flops: fwdFlops, fn: () => m.forward(x, B) })
        contenders.push({
          tool: 'simsage',
          op: 'forward+backward',
          flops: fwdFlops * (inputGrad ? 3 : 2),
          fn: () => {
            m.forward(x, B)
            m.backward(dy)
          },
        })
      } catch (err) {
        failed.push(fail('simsage', 'forward', threads, err))
      }
    }
    const times = contenders.map(() => [] as number[])
    const cpuTimes = contenders.map(() => [] as number[])
    const before = cpuSnapshot()
    try {
      for (const c of contenders) await c.fn() // warm-up
      let spent = 0
      for (let round = 0; round < o.maxReps && (round === 0 || spent < o.budgetSeconds * contenders.length); round++) {
        for (let i = 0; i < contenders.length; i++) {
          const c0 = process.cpuUsage()
          const t0 = process.hrtime.bigint()
          await contenders[i].fn()
          const sec = Number(process.hrtime.bigint() - t0) / 1e9
          const c1 = process.cpuUsage(c0)
          times[i].push(sec)
          cpuTimes[i].push((c1.user + c1.system) / 1e6)
          spent += sec
        }
      }
    } catch (err) {
      for (const c of contenders) failed.push(fail(c.tool, c.op, threads, err))
      contenders.length = 0
    } finally {
      await runner?.release()
    }
    const otherCpu = otherCpuShare(before, cpuSnapshot())
    const done = contenders.map((c, i) => {
      const sorted = [...times[i]].sort((a, b) => a - b)
      const tm: Timing = {
        bestSeconds: sorted[0],
        medianSeconds: sorted[Math.floor(sorted.length / 2)],
        reps: sorted.length,
        ...(otherCpu !== undefined ? { otherCpu } : {}),
      }
      const cpuBest = Math.min(...cpuTimes[i])
      return { ...cell(c.tool, c.op, threads, c.flops, tm), cpuGflops: c.flops / cpuBest / 1e9 }
    })
    const ortFwd = done.find((c) => c.tool === 'onnxruntime')
    for (const c of done) {
      if (c.tool !== 'simsage') push(c)
      else {
        const ratio = c.gflops && ortFwd?.gflops ? { vsOnnxruntime: c.gflops / ortFwd.gflops } : {}
        const cpuRatio = c.cpuGflops && ortFwd?.cpuGflops ? { vsOnnxruntimeCpu: c.cpuGflops / ortFwd.cpuGflops } : {}
        push({ ...c, ...ratio, ...cpuRatio, ...(c.op === 'forward' && check ? { check } : {}) })
      }
    }
    for (const c of failed) push(c)
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
    '"ratio cpu" (1 thread): the same ratio from process CPU time per call, less sensitive to other load',
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
