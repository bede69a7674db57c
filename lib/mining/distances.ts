/**
 * Pairwise distance matrix of a batch of embeddings.
 */
import { callNative, ErrorCodes, SimsageError } from '../errors.js'
import { binding } from '../native/binding.js'
import { checkThreads } from '../validate.js'
import type { MiningRan } from './triplets.js'
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
  /** Which backend computed it (set by {@link pairwiseDistances}; undefined for a matrix built by hand). */
  readonly ran: MiningRan | undefined

  /**
   * @param data B x B row-major distances (kept, not copied).
   * @param size Batch size B.
   * @param metric The metric the distances are in.
   * @param ran Which backend computed them, when known.
   */
  constructor(data: Float32Array, size: number, metric: DistanceMetric, ran?: MiningRan) {
    this.data = data
    this.size = size
    this.metric = metric
    this.ran = ran === undefined ? undefined : { backend: ran.backend }
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
  const r = callNative(() => binding().miningPairwise({ embeddings, dim, metric, out: target, threads }))
  return new DistanceMatrix(target, rows, metric, { backend: r.backend })
}
