/**
 * Timing policy for one benchmark cell: warm up, then best-of-repetitions within a time budget.
 * Batched tools always run the full batch; tools that process queries independently may be
 * timed on a prefix of the batch when the full batch would not fit the budget.
 */
import { cpuSnapshot, otherCpuShare } from './machine.js'
import type { SearchHits } from './peers/types.js'

/** How one cell was timed. */
export interface CellTiming {
  /** Best (minimum) seconds over the timed repetitions, for `queriesTimed` queries. */
  readonly bestSeconds: number
  /** Median seconds over the same repetitions. */
  readonly medianSeconds: number
  /** Timed repetitions (warm-up runs excluded). */
  readonly reps: number
  /** Queries in each timed call: the full batch, or a prefix for independent-query tools. */
  readonly queriesTimed: number
  /** Share of CPU capacity other processes used during the timed repetitions (0..1); undefined
   * when the repetitions were too short to tell. */
  readonly otherCpu: number | undefined
  /** Output of the last timed call (used for the correctness check). */
  readonly hits: SearchHits
}

/** Budget and repetition limits for one cell. */
export interface TimingPolicy {
  /** Seconds of timed repetitions to aim for (warm-up excluded); at least one repetition runs. */
  readonly budgetSeconds: number
  /** Upper bound on timed repetitions. */
  readonly maxReps: number
}

type Run = (nq: number) => Promise<SearchHits> | SearchHits

/** Seconds (monotonic, high resolution) taken by one call of `run(nq)`, and its output. */
async function timeOnce(run: Run, nq: number): Promise<{ seconds: number; hits: SearchHits }> {
  const t0 = process.hrtime.bigint()
  const hits = await run(nq)
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9
  return { seconds, hits }
}

/**
 * Times `run(nq)`. With `batched`, nq is always `queries`; otherwise nq starts from a 1-query
 * probe and grows to what fits about a third of the budget per call (at most `queries`).
 */
export async function timeCell(run: Run, queries: number, batched: boolean, policy: TimingPolicy): Promise<CellTiming> {
  let nq = queries
  if (!batched && queries > 1) {
    const perCall = policy.budgetSeconds / 3
    const probe = await timeOnce(run, 1)
    nq = Math.min(queries, Math.max(1, Math.floor(perCall / Math.max(probe.seconds, 1e-9))))
    if (nq < queries) {
      // Fixed per-call costs make the 1-query probe pessimistic; refine once from a larger call.
      const second = await timeOnce(run, nq)
      if (second.seconds < perCall / 2) {
        nq = Math.min(queries, Math.max(nq, Math.floor((perCall * nq) / Math.max(second.seconds, 1e-9))))
      }
    }
  }
  await timeOnce(run, nq) // warm-up at the timed size
  const times: number[] = []
  let hits: SearchHits | undefined
  let spent = 0
  const before = cpuSnapshot()
  while (times.length < policy.maxReps && (times.length === 0 || spent < policy.budgetSeconds)) {
    const r = await timeOnce(run, nq)
    times.push(r.seconds)
    hits = r.hits
    spent += r.seconds
  }
  const otherCpu = otherCpuShare(before, cpuSnapshot())
  const sorted = [...times].sort((a, b) => a - b)
  return {
    bestSeconds: sorted[0],
    medianSeconds: sorted[Math.floor(sorted.length / 2)],
    reps: times.length,
    queriesTimed: nq,
    otherCpu,
    hits: hits as SearchHits,
  }
}
