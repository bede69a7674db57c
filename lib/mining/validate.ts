/**
 * Argument checks of the mining API only (internal); the generic ones are in lib/validate.ts. Each
 * fails before any native work with a SimsageError naming the argument; the native side checks sizes
 * again and scans for NaN / ±Infinity (ERR_SIMSAGE_NON_FINITE) before computing anything.
 */
import { ErrorCodes, SimsageError } from '../errors.js'
import { checkDim, checkMatrix, describe } from '../validate.js'
import type { DistanceMetric } from './types.js'

export const DISTANCE_METRICS: readonly DistanceMetric[] = ['sqeuclidean', 'euclidean', 'cosine', 'dot']

export function checkDistanceMetric(metric: unknown): DistanceMetric {
  if (metric === undefined) return 'sqeuclidean'
  if (typeof metric !== 'string' || !DISTANCE_METRICS.includes(metric as DistanceMetric)) {
    throw new SimsageError(
      ErrorCodes.UNKNOWN_METRIC,
      `metric must be 'sqeuclidean', 'euclidean', 'cosine' or 'dot', got ${describe(metric)}`,
    )
  }
  return metric as DistanceMetric
}

/** A margin: a finite number >= 0 (default `fallback`). */
export function checkMargin(margin: unknown, fallback: number, name = 'margin'): number {
  if (margin === undefined) return fallback
  if (typeof margin !== 'number' || !Number.isFinite(margin) || margin < 0) {
    throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `${name} must be a finite number >= 0, got ${describe(margin)}`)
  }
  return margin
}

/** Checks a non-empty B x dim batch; returns { dim, rows }. */
export function checkEmbeddingBatch(embeddings: unknown, dim: unknown): { dim: number; rows: number } {
  const d = checkDim(dim)
  const rows = checkMatrix(embeddings, d, 'embeddings', false)
  if (rows === 0) throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, 'embeddings must not be empty (empty batch)')
  return { dim: d, rows }
}

/** Converts labels to an Int32Array of `rows` int32 class ids holding at least two classes. */
export function toLabels(labels: unknown, rows: number): Int32Array {
  if (labels === null || typeof labels !== 'object' || typeof (labels as ArrayLike<number>).length !== 'number') {
    throw new SimsageError(
      ErrorCodes.INVALID_TYPE,
      `labels must be an Int32Array or an array of integers, got ${describe(labels)}`,
    )
  }
  const src = labels as ArrayLike<unknown>
  if (src.length !== rows) {
    throw new SimsageError(ErrorCodes.DIM_MISMATCH, `labels has ${src.length} entries but the batch has ${rows} rows`)
  }
  let out: Int32Array
  if (labels instanceof Int32Array) {
    out = labels
  } else {
    out = new Int32Array(rows)
    for (let i = 0; i < rows; i++) {
      const v = src[i]
      if (typeof v !== 'number' || !Number.isInteger(v) || v < -2147483648 || v > 2147483647) {
        throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `labels[${i}] = ${describe(v)} is not an int32 class id`)
      }
      out[i] = v
    }
  }
  let two = false
  for (let i = 1; i < rows && !two; i++) two = out[i] !== out[0]
  if (!two) throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, 'labels must hold at least two distinct classes')
  return out
}
