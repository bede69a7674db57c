/**
 * Pairwise distance matrix of a batch of embeddings.
 */
import { callNative, ErrorCodes, SimsageError } from '../errors.js'
import { binding } from '../native/binding.js'
import { checkThreads } from '../validate.js'
import type { DistanceMetric } from './types.js'
import { checkDistanceMetric, checkEmbeddingBatch } from './validate.js'

/** Options of {@link pairwiseDistances}. */
export interface PairwiseOptions {
  /** Vector dimension D. */
  dim: number
  /** Distance (default 'sqeuclidean'). */
  metric?: DistanceMetric
  /** Worker threads (default: the process-wide setting). */
  threads?: number
  /** Reused output buffer of B * B floats (allocated when absent). */
  out?: Float32Array
}

/** A B x B distance matrix, row-major. */
export class DistanceMatrix {
  /** d(i, j) at data[i * size + j]. */
  readonly data: Float32Array
  /** Batch size B. */
  readonly size: number
  readonly metric: DistanceMetric

  constructor(data: Float32Array, size: number, metric: DistanceMetric) {
    this.data = data
    this.size = size
    this.metric = metric
  }

  /** d(i, j). */
  get(i: number, j: number): number {
    return this.data[i * this.size + j]
  }

  /** Row i (a view, B floats). */
  row(i: number): Float32Array {
    return this.data.subarray(i * this.size, (i + 1) * this.size)
  }
}

/**
 * All pairwise distances of a batch: one GEMM (E Eᵀ) plus per-row norms and transform, on the
 * calling thread plus the pool. Squared distances are computed as |x|² + |y|² − 2⟨x, y⟩ and clamped
 * at 0; the diagonal is exactly 0 for 'sqeuclidean' and 'euclidean'.
 *
 * @param embeddings B x D row-major Float32Array (B >= 1, finite values).
 * @returns the B x B matrix.
 */
export function pairwiseDistances(embeddings: Float32Array, options: PairwiseOptions): DistanceMatrix {
  if (options === null || typeof options !== 'object') {
    throw new SimsageError(
      ErrorCodes.INVALID_ARGUMENT,
      'pairwiseDistances(embeddings, { dim, metric }) requires an options object',
    )
  }
  const { dim, rows } = checkEmbeddingBatch(embeddings, options.dim)
  const metric = checkDistanceMetric(options.metric)
  const threads = checkThreads(options.threads)
  let out = options.out
  if (out === undefined) out = new Float32Array(rows * rows)
  else if (!(out instanceof Float32Array) || out.length !== rows * rows) {
    throw new SimsageError(ErrorCodes.DIM_MISMATCH, `out must be a Float32Array of B * B = ${rows * rows} floats`)
  }
  const target = out
  callNative(() => binding().miningPairwise({ embeddings, dim, metric, out: target, threads }))
  return new DistanceMatrix(target, rows, metric)
}
