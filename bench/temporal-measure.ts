/**
 * Timing and comparison helpers of `simsage bench temporal`: best-of-repetitions within a budget,
 * max abs difference, layout transposes.
 */
import { cpuSnapshot, otherCpuShare } from './machine.js'

/** Best/median seconds per call over repetitions within a budget (after one warm-up call). */
export interface Timing {
  readonly bestSeconds: number
  readonly medianSeconds: number
  readonly reps: number
  readonly otherCpu?: number
}

/**
 * Times `fn`: one warm-up call (skipped with `warmup: false`), then repetitions until `budget`
 * seconds are spent or `maxReps` ran (at least one). Each repetition makes `inner` calls; times are
 * per call.
 */
export async function measure(
  fn: () => unknown,
  o: { budgetSeconds: number; maxReps: number; inner?: number; warmup?: boolean },
): Promise<Timing> {
  const inner = o.inner ?? 1
  if (o.warmup !== false) await fn()
  const times: number[] = []
  let spent = 0
  const before = cpuSnapshot()
  while (times.length < o.maxReps && (times.length === 0 || spent < o.budgetSeconds)) {
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < inner; i++) await fn()
    const s = Number(process.hrtime.bigint() - t0) / 1e9
    times.push(s / inner)
    spent += s
  }
  const otherCpu = otherCpuShare(before, cpuSnapshot())
  const sorted = [...times].sort((a, b) => a - b)
  return {
    bestSeconds: sorted[0],
    medianSeconds: sorted[Math.floor(sorted.length / 2)],
    reps: times.length,
    ...(otherCpu !== undefined ? { otherCpu } : {}),
  }
}

/** [B, T, C] → [B, C, T] (or back with the last two sizes swapped). */
export function transposeLast2(x: Float32Array, b: number, rows: number, cols: number): Float32Array {
  const out = new Float32Array(x.length)
  for (let i = 0; i < b; i++) {
    const o = i * rows * cols
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[o + c * rows + r] = x[o + r * cols + c]
  }
  return out
}

/** Max |a − b| over the first `n` values and max |b| (b the reference). */
export function diff(a: Float32Array, b: Float32Array, n = Math.min(a.length, b.length)) {
  let maxAbsDiff = 0
  let maxAbs = 0
  for (let i = 0; i < n; i++) {
    maxAbsDiff = Math.max(maxAbsDiff, Math.abs(a[i] - b[i]))
    maxAbs = Math.max(maxAbs, Math.abs(b[i]))
  }
  return { maxAbsDiff, maxAbs }
}
