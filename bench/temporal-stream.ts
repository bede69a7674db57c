/**
 * The streaming part of `simsage bench temporal`: serving one event at a time.
 *
 * - TCN, one stream: the time of `step` for one event, against recomputing the output the simple
 *   way, a forward over the last receptive-field steps (the window a server would keep), and their
 *   ratio (the issue's target: ≥ 100×).
 * - TCN, many streams stepped in one call: events/s (target: ≥ 200,000/s for 1,000 streams on 2
 *   threads).
 * - The GRU, one stream and many streams: events/s (no window to compare: its state is the whole
 *   history).
 *
 * Before timing, a stream stepped through a sequence is checked against the full forward over the
 * same sequence (max abs difference over every position, including the steps before the receptive
 * field fills).
 */
import { randomNormal } from './data.js'
import type { TemporalOptions } from './temporal.js'
import { diff, measure, type Timing } from './temporal-measure.js'
import type { GruModel, SeqModel, StreamSet, TemporalApi } from './temporal-simsage.js'

/** One streaming measurement. */
export interface StreamResult {
  readonly model: 'tcn' | 'gru'
  readonly threads: number
  /** Streams stepped per call. */
  readonly streams: number
  /** TCN: its receptive field (the window recomputed). */
  readonly receptiveField?: number
  /** Best seconds per step call (all `streams` events). */
  readonly stepSeconds: number
  readonly medianSeconds: number
  readonly eventsPerSec: number
  readonly otherCpu?: number
  /** One-stream TCN rows: best seconds of a forward over the receptive-field window. */
  readonly windowSeconds?: number
  /** windowSeconds / stepSeconds. */
  readonly speedupVsWindow?: number
  /** Max |stream output − full forward| over a checked sequence, and max |forward| for scale. */
  readonly check?: { readonly maxAbsDiff: number; readonly maxAbs: number; readonly steps: number }
}

/** Steps a fresh one-stream set through `steps` events of x [steps, C]; outputs [steps, C_out]. */
function streamThrough(make: () => StreamSet, x: Float32Array, steps: number, cin: number): Float32Array {
  const s = make()
  try {
    const parts: Float32Array[] = []
    for (let i = 0; i < steps; i++) parts.push(Float32Array.from(s.step(x.subarray(i * cin, (i + 1) * cin))))
    const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0))
    let off = 0
    for (const p of parts) {
      out.set(p, off)
      off += p.length
    }
    return out
  } finally {
    s.dispose()
  }
}

/** Stream ≡ forward over `steps` events. */
function checkStream(model: SeqModel, make: () => StreamSet, cin: number, steps: number, seed: number) {
  const x = randomNormal(steps * cin, seed)
  const want = Float32Array.from(model.forward(x, 1, steps))
  const got = streamThrough(make, x, steps, cin)
  return { ...diff(got, want), steps }
}

/** Times `streams` streams stepped together (after `fill` warm-up steps). */
async function timeSteps(
  make: (n: number) => StreamSet,
  streams: number,
  cin: number,
  o: TemporalOptions,
  fill: number,
): Promise<Timing> {
  const s = make(streams)
  try {
    // A small pool of distinct inputs, cycled: the data changes from step to step without
    // generating it in the timed loop.
    const pool = Array.from({ length: 8 }, (_, i) => randomNormal(streams * cin, o.seed + 100 + i))
    let k = 0
    for (let i = 0; i < fill; i++) s.step(pool[i % pool.length])
    // About 2 ms of work per repetition for one stream; one call for many.
    const inner = streams === 1 ? 64 : 1
    return await measure(() => s.step(pool[k++ % pool.length]), {
      budgetSeconds: o.budgetSeconds,
      maxReps: Math.max(o.maxReps, 3),
      inner,
    })
  } finally {
    s.dispose()
  }
}

const row = (
  model: 'tcn' | 'gru',
  threads: number,
  streams: number,
  tm: Timing,
  extra: Partial<StreamResult> = {},
): StreamResult => ({
  model,
  threads,
  streams,
  stepSeconds: tm.bestSeconds,
  medianSeconds: tm.medianSeconds,
  eventsPerSec: streams / tm.bestSeconds,
  ...(tm.otherCpu !== undefined ? { otherCpu: tm.otherCpu } : {}),
  ...extra,
})

/** Runs the streaming measurements at every thread count. */
export async function streamSection(t: TemporalApi, o: TemporalOptions): Promise<StreamResult[]> {
  const out: StreamResult[] = []
  const C = o.streamChannels
  const tcn = t.tcn({
    channels: C,
    blocks: o.streamDilations.length,
    kernelSize: o.kernelSize,
    dilations: o.streamDilations,
    seed: o.seed + 11,
  })
  const rf = tcn.receptiveField
  const { hidden: H, input: D } = o.gru
  let gru: GruModel | undefined
  try {
    gru = t.gru({ inputSize: D, hiddenSize: H, seed: o.seed + 13 })
  } catch (err) {
    o.log(`  stream: GRU skipped, ${(err as Error).message}`)
  }
  t.setThreads(o.threads[0])
  const tcnCheck = checkStream(tcn, () => tcn.stream(1), C, Math.min(rf + 17, 2 * rf), o.seed + 21)
  const gruCheck = gru && checkStream(gru, () => (gru as GruModel).stream(1), D, 60, o.seed + 22)
  o.log(
    `  stream check: TCN (receptive field ${rf}) max abs diff ${tcnCheck.maxAbsDiff.toExponential(2)} over ` +
      `${tcnCheck.steps} steps${gruCheck ? `; GRU ${gruCheck.maxAbsDiff.toExponential(2)} over ${gruCheck.steps} steps` : ''}`,
  )
  const window = randomNormal(rf * C, o.seed + 23)
  for (const threads of o.threads) {
    t.setThreads(threads)
    const one = await timeSteps((n) => tcn.stream(n), 1, C, o, rf)
    const win = await measure(() => tcn.forward(window, 1, rf), {
      budgetSeconds: o.budgetSeconds,
      maxReps: Math.max(o.maxReps, 3),
    })
    out.push(
      row('tcn', threads, 1, one, {
        receptiveField: rf,
        windowSeconds: win.bestSeconds,
        speedupVsWindow: win.bestSeconds / one.bestSeconds,
        ...(threads === o.threads[0] ? { check: tcnCheck } : {}),
      }),
    )
    out.push(
      row('tcn', threads, o.streams, await timeSteps((n) => tcn.stream(n), o.streams, C, o, 4), { receptiveField: rf }),
    )
    if (gru) {
      const g = gru
      out.push(
        row('gru', threads, 1, await timeSteps((n) => g.stream(n), 1, D, o, 4), {
          ...(threads === o.threads[0] && gruCheck ? { check: gruCheck } : {}),
        }),
      )
      out.push(row('gru', threads, o.streams, await timeSteps((n) => g.stream(n), o.streams, D, o, 4)))
    }
    for (const r of out.filter((x) => x.threads === threads)) {
      const extra = r.speedupVsWindow
        ? `, window ${((r.windowSeconds ?? 0) * 1e6).toFixed(1)} µs, ${r.speedupVsWindow.toFixed(0)}×`
        : ''
      o.log(`  stream ${r.model} ${r.streams} streams ${threads}t: ${Math.round(r.eventsPerSec)} events/s${extra}`)
    }
  }
  return out
}
