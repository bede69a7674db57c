/**
 * Temporal kernel benchmark (`simsage bench temporal`): the causal dilated conv1d (forward and
 * forward+backward), a 4-block residual TCN (forward) and a one-layer GRU (forward and
 * forward+backward), simsage against onnxruntime-node running the same Conv / TCN / GRU graphs with
 * the same weights (bench/peers/onnxTemporal.ts) and a plain TypeScript loop (bench/temporal-plain.ts),
 * in one process, on the same seeded data; then streaming: one event through a TCN against
 * recomputing its receptive-field window, and many streams stepped in one call.
 *
 * Per cell: best time, GFLOP/s (conv 2·B·C_out·C_in·K·T per forward, TCN the sum of its convs, GRU
 * 2·B·T·(3H·D + 3H·H); forward+backward counted as 3× the forward), the fraction of the FMA peak
 * measured in this run (per thread × threads), simsage / onnxruntime and simsage / plain ratios of
 * GFLOP/s, and the max abs difference of simsage's output from onnxruntime's (and the plain loop's).
 * simsage's threads come from `setThreads`, onnxruntime's from `intraOpNumThreads`: equal per row.
 * Layout transposes (simsage is channels-last [B, T, C], ONNX Conv [B, C, T], ONNX GRU [T, B, D])
 * happen outside the timed region. The plain loop is slow: it runs on a prefix of the batch
 * (sequences are independent), once, on the small shapes only.
 */
import type * as Ort from 'onnxruntime-node'
import { randomNormal } from './data.js'
import { cpuSnapshot, otherCpuShare, probeMachine } from './machine.js'
import { diff, measure, transposeLast2, type Timing } from './temporal-measure.js'
import {
  buildConvModel,
  buildGruModel,
  buildTcnModel,
  loadOrt,
  ortRunner,
  type OrtRunner,
} from './peers/onnxTemporal.js'
import { plainCausalConv, plainGru } from './temporal-plain.js'
import { loadTemporal, type SeqModel, type TemporalApi } from './temporal-simsage.js'
import { streamSection, type StreamResult } from './temporal-stream.js'
import { evaluateTargets } from './temporal-format.js'

import type { Op, TemporalCell, TemporalOptions, TemporalReport, Tool } from './temporal-options.js'

export * from './temporal-options.js'

/** One shape of one section: how every tool runs it. */
interface Case {
  readonly section: 'conv' | 'tcn' | 'gru'
  readonly shape: string
  readonly c?: number
  readonly t: number
  readonly d?: number
  readonly batch: number
  readonly forwardFlops: number
  readonly x: Float32Array
  /** simsage's model on this shape (built once, run at every thread count). */
  readonly model?: SeqModel
  /** Whether simsage runs forward+backward here. */
  readonly backward: boolean
  /** ONNX model bytes, input in ONNX layout, and its dims / output dims. */
  readonly onnx?: {
    bytes: Uint8Array
    x: Float32Array
    dims: number[]
    outDims: number[]
    toSimsage: (y: Float32Array) => Float32Array
  }
  /** The plain loop on the first `n` sequences, or undefined off the small shapes. */
  readonly plain?: (n: number) => Float32Array
}

interface Ctx {
  readonly o: TemporalOptions
  readonly t: TemporalApi | undefined
  readonly ort: typeof Ort | undefined
  readonly peak: number | undefined
  readonly cells: TemporalCell[]
  readonly want: (tool: Tool) => boolean
}

/** Runs every tool on `cs` at every thread count; pushes cells. */
async function runCase(ctx: Ctx, cs: Case): Promise<void> {
  const { o, cells, peak } = ctx
  const base = { section: cs.section, shape: cs.shape, c: cs.c, t: cs.t, d: cs.d }
  const push = (cell: TemporalCell) => {
    cells.push(cell)
    const r = cell.status === 'ok' ? `${cell.gflops?.toFixed(1)} GFLOP/s (${fmtS(cell.bestSeconds)})` : cell.error
    o.log(`  ${cs.section} ${cs.shape} ${cell.tool} ${cell.op} ${cell.threads}t: ${r}`)
  }
  const ok = (tool: Tool, op: Op, threads: number, n: number, tm: Timing): TemporalCell => {
    const flops = ((cs.forwardFlops * n) / cs.batch) * (op === 'forward' ? 1 : 3)
    const gflops = flops / tm.bestSeconds / 1e9
    return {
      ...base,
      tool,
      op,
      threads,
      status: 'ok',
      batchTimed: n,
      ...tm,
      gflops,
      ...(peak ? { fractionOfPeak: gflops / (threads * peak) } : {}),
    }
  }
  const fail = (tool: Tool, op: Op, threads: number, err: unknown): TemporalCell => ({
    ...base,
    tool,
    op,
    threads,
    status: 'error',
    error: (err as Error).message.split('\n')[0],
  })
  const policy = { budgetSeconds: o.budgetSeconds, maxReps: o.maxReps }
  let simsageOut: Float32Array | undefined
  for (const threads of o.threads) {
    let fwd: TemporalCell | undefined
    if (cs.model && ctx.t && ctx.want('simsage')) {
      const m = cs.model
      ctx.t.setThreads(threads)
      try {
        const tm = await measure(() => m.forward(cs.x, cs.batch, cs.t), policy)
        simsageOut ??= Float32Array.from(m.forward(cs.x, cs.batch, cs.t))
        fwd = ok('simsage', 'forward', threads, cs.batch, tm)
      } catch (err) {
        fwd = fail('simsage', 'forward', threads, err)
      }
      if (cs.backward) {
        try {
          const dy = randomNormal(m.forward(cs.x, cs.batch, cs.t).length, o.seed + 7)
          const tm = await measure(() => {
            m.forward(cs.x, cs.batch, cs.t)
            m.backward(dy)
          }, policy)
          push(ok('simsage', 'forward+backward', threads, cs.batch, tm))
        } catch (err) {
          push(fail('simsage', 'forward+backward', threads, err))
        }
      }
    }
    let ortCell: TemporalCell | undefined
    if (cs.onnx && ctx.ort && ctx.want('onnxruntime')) {
      const ox = cs.onnx
      let runner: OrtRunner | undefined
      try {
        runner = await ortRunner(ctx.ort, ox.bytes, threads)
        const r = runner
        const tm = await measure(() => r.run(ox.x, ox.dims, ox.outDims), policy)
        ortCell = ok('onnxruntime', 'forward', threads, cs.batch, tm)
        if (simsageOut && fwd?.status === 'ok' && threads === o.threads[0]) {
          const y = ox.toSimsage(await r.run(ox.x, ox.dims, ox.outDims))
          fwd = { ...fwd, check: [{ vs: 'onnxruntime', ...diff(simsageOut, y) }] }
        }
      } catch (err) {
        ortCell = fail('onnxruntime', 'forward', threads, err)
      } finally {
        await runner?.release()
      }
    }
    let plainCell: TemporalCell | undefined
    if (cs.plain && threads === o.threads[0] && ctx.want('plain TS')) {
      const plain = cs.plain
      const n = Math.min(o.plainBatch, cs.batch)
      try {
        let y: Float32Array | undefined
        const tm = await measure(
          () => {
            y = plain(n)
          },
          { budgetSeconds: 0, maxReps: 1, warmup: false },
        )
        plainCell = { ...ok('plain TS', 'forward', 1, n, tm), threads }
        if (simsageOut && y && fwd?.status === 'ok') {
          fwd = { ...fwd, check: [...(fwd.check ?? []), { vs: 'plain TS', ...diff(simsageOut, y, y.length) }] }
        }
      } catch (err) {
        plainCell = fail('plain TS', 'forward', threads, err)
      }
    }
    if (fwd) {
      const g = fwd.gflops
      if (g && ortCell?.gflops) fwd = { ...fwd, vsOnnxruntime: g / ortCell.gflops }
      if (g && plainCell?.gflops) fwd = { ...fwd, vsPlain: g / plainCell.gflops }
      push(fwd)
    }
    if (ortCell) push(ortCell)
    if (plainCell) push(plainCell)
  }
}

const fmtS = (s?: number) =>
  s === undefined
    ? '-'
    : s < 1e-3
      ? `${(s * 1e6).toFixed(1)} µs`
      : s < 1
        ? `${(s * 1e3).toFixed(2)} ms`
        : `${s.toFixed(2)} s`

/** The conv cases: every (C, T, d). */
function* convCases(ctx: Ctx): Generator<Case> {
  const { o, t } = ctx
  const K = o.kernelSize
  const B = o.batch
  for (const C of o.channels) {
    for (const T of o.steps) {
      const x = randomNormal(B * T * C, o.seed + C + T)
      const xo = transposeLast2(x, B, T, C)
      for (const d of o.dilations) {
        const model = t?.conv({ channels: C, kernelSize: K, dilation: d, seed: o.seed + d })
        const small = C <= o.plainMaxChannels && T <= o.plainMaxSteps
        yield {
          section: 'conv',
          shape: `C=${C} T=${T} d=${d}`,
          c: C,
          t: T,
          d,
          batch: B,
          forwardFlops: 2 * B * C * C * K * T,
          x,
          model,
          backward: true,
          onnx: model && {
            bytes: buildConvModel(model.weights),
            x: xo,
            dims: [B, C, T],
            outDims: [B, C, T],
            toSimsage: (y) => transposeLast2(y, B, C, T),
          },
          plain: model && small ? (n) => plainCausalConv(x, n, T, model.weights) : undefined,
        }
      }
    }
  }
}

/** The TCN cases: every (C, T), 4 blocks with `tcnDilations`. */
function* tcnCases(ctx: Ctx): Generator<Case> {
  const { o, t } = ctx
  const K = o.kernelSize
  const B = o.batch
  const blocks = o.tcnDilations.length
  for (const C of o.channels) {
    for (const T of o.steps) {
      const x = randomNormal(B * T * C, o.seed + 2 * C + T)
      const model = t?.tcn({ channels: C, blocks, kernelSize: K, dilations: o.tcnDilations, seed: o.seed + C })
      yield {
        section: 'tcn',
        shape: `C=${C} T=${T} d=${o.tcnDilations.join('/')}`,
        c: C,
        t: T,
        batch: B,
        forwardFlops: blocks * 2 * (2 * B * C * C * K * T),
        x,
        model,
        backward: false,
        onnx: model && {
          bytes: buildTcnModel(model.blocks),
          x: transposeLast2(x, B, T, C),
          dims: [B, C, T],
          outDims: [B, C, T],
          toSimsage: (y) => transposeLast2(y, B, C, T),
        },
      }
    }
  }
}

/** The GRU case. */
function gruCase(ctx: Ctx): Case {
  const { o, t } = ctx
  const { batch: B, steps: T, hidden: H, input: D } = o.gru
  const x = randomNormal(B * T * D, o.seed + 3)
  const model = t?.gru({ inputSize: D, hiddenSize: H, seed: o.seed + 5 })
  return {
    section: 'gru',
    shape: `B=${B} T=${T} H=${H} D=${D}`,
    t: T,
    batch: B,
    forwardFlops: 2 * B * T * (3 * H * D + 3 * H * H),
    x,
    model,
    backward: true,
    onnx: model && {
      bytes: buildGruModel(model.weights),
      x: timeMajor(x, B, T, D),
      dims: [T, B, D],
      outDims: [T, 1, B, H],
      toSimsage: (y) => batchMajor(y, B, T, H),
    },
    plain: model && ((n) => plainGru(x, n, T, model.weights)),
  }
}

/** [B, T, D] → [T, B, D]. */
function timeMajor(x: Float32Array, B: number, T: number, D: number): Float32Array {
  const out = new Float32Array(x.length)
  for (let b = 0; b < B; b++)
    for (let t = 0; t < T; t++) out.set(x.subarray((b * T + t) * D, (b * T + t + 1) * D), (t * B + b) * D)
  return out
}

/** [T, (1,) B, H] → [B, T, H]. */
function batchMajor(y: Float32Array, B: number, T: number, H: number): Float32Array {
  const out = new Float32Array(y.length)
  for (let t = 0; t < T; t++)
    for (let b = 0; b < B; b++) out.set(y.subarray((t * B + b) * H, (t * B + b + 1) * H), (b * T + t) * H)
  return out
}

/** Runs the benchmark; see the file comment. */
export async function runTemporalBench(o: TemporalOptions): Promise<TemporalReport> {
  const started = performance.now()
  const runSnapshot = cpuSnapshot()
  const loadAvgAtStart = (await import('node:os')).loadavg()[0]
  const notes: string[] = []
  const log = o.log
  if (loadAvgAtStart > 0.5) log(`warning: 1-minute load average is ${loadAvgAtStart.toFixed(2)}; timings will be noisy`)
  const t = await loadTemporal()
  if (typeof t === 'string') notes.push(`simsage: skipped, ${t}`)
  const ort = await loadOrt()
  if (typeof ort === 'string') notes.push(`onnxruntime: skipped, ${ort}`)
  const api = typeof t === 'string' ? undefined : t.api
  const threadsBefore = api?.info().threads
  const machine = probeMachine(api, new Float32Array(0), [], o.quick ? 0.2 : 0.5)
  if (machine.fmaPeakGflops) {
    log(
      `probe: FMA peak ${machine.fmaPeakGflops.toFixed(1)} GFLOP/s/thread (${machine.fmaSimd}; second probe ` +
        `${machine.fmaCheckGflops?.toFixed(1)}, ratio ${machine.fmaCheckRatio?.toFixed(3)})`,
    )
  } else notes.push('no FMA peak: simsage did not load, fractions of peak left out')
  const ctx: Ctx = {
    o,
    t: typeof t === 'string' ? undefined : t,
    ort: typeof ort === 'string' ? undefined : ort,
    peak: machine.fmaPeakGflops,
    cells: [],
    want: (tool) => o.tools.length === 0 || o.tools.some((s) => tool.toLowerCase().includes(s)),
  }
  const streaming: StreamResult[] = []
  try {
    if (o.sections.includes('conv')) {
      log(
        `conv: B=${o.batch} K=${o.kernelSize} C=${o.channels.join(',')} T=${o.steps.join(',')} d=${o.dilations.join(',')}`,
      )
      for (const cs of convCases(ctx)) await runCase(ctx, cs)
    }
    if (o.sections.includes('tcn')) {
      log(`tcn: ${o.tcnDilations.length} residual blocks, B=${o.batch} K=${o.kernelSize}`)
      for (const cs of tcnCases(ctx)) await runCase(ctx, cs)
    }
    if (o.sections.includes('gru')) {
      log('gru: 1 layer')
      let cs: Case | undefined
      try {
        cs = gruCase(ctx)
      } catch (err) {
        notes.push(`gru: skipped, ${(err as Error).message}`)
      }
      if (cs) await runCase(ctx, cs)
    }
    if (o.sections.includes('stream') && ctx.t && ctx.want('simsage')) {
      log(`stream: TCN C=${o.streamChannels} d=${o.streamDilations.join('/')}, ${o.streams} streams; GRU`)
      streaming.push(...(await streamSection(ctx.t, o)))
    }
  } finally {
    if (ctx.t && threadsBefore) ctx.t.setThreads(threadsBefore)
  }
  const { log: _log, ...options } = o
  return {
    bench: 'temporal',
    date: new Date().toISOString(),
    options,
    machine,
    notes,
    cells: ctx.cells,
    streaming,
    targets: evaluateTargets(ctx.cells, streaming, o),
    loadAvgAtStart,
    otherCpuDuringRun: otherCpuShare(runSnapshot, cpuSnapshot()) ?? 0,
    totalSeconds: (performance.now() - started) / 1000,
  }
}
