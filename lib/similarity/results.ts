/**
 * Search results: flat row-major arrays inside (Q x k), a row accessor outside.
 */
import { ErrorCodes, SimsageError } from '../errors.js'
import type { Metric } from './types.js'

/** One query's matches, best first, trimmed to the number of candidates found. */
export interface Matches {
  /** Ids, best first. */
  ids: Float64Array
  /** Scores aligned with ids: ip = dot product, cosine = cosine similarity (both descending),
   * l2 = squared Euclidean distance (ascending). */
  scores: Float32Array
}

/**
 * The results of searching Q queries for their k best matches. `k` here is min(requested k, vectors
 * searched): a k above the corpus or index size costs no memory, and rows are Q x that k.
 */
export class SearchResults implements Iterable<Matches> {
  /** Q x k ids, row-major; a row with fewer than k candidates is padded with -1. */
  readonly ids: Float64Array
  /** Q x k scores, row-major; padding slots are NaN. */
  readonly scores: Float32Array
  /** Per query, how many of its k slots hold a real candidate. */
  readonly counts: Int32Array
  /** Slots per query: min(requested k, number of vectors searched); 0 for an empty index. */
  readonly k: number
  /** Number of queries. */
  readonly length: number
  /** The metric the scores are in. */
  readonly metric: Metric
  /** Which SIMD level, backend and thread count ran the search; for an index also the scan kernel
   * ('f32'; '<storage>-widen': stored values widened to f32; 'bf16-dpbf16' / 'i8-vnni': AVX-512
   * BF16 / VNNI dot products with the query rounded to bf16 / quantised to 8 bits, at the 'avx512'
   * level on CPUs that have them; with backend 'cuda', when a CUDA device is the active backend:
   * 'cuda-f32', 'cuda-bf16' / 'cuda-f16' (stored values widened to f32), 'cuda-bf16-mma' /
   * 'cuda-f16-mma' (tensor cores, query rounded to the storage type, batches of 16+ queries)) and
   * whether exact f32 re-ranking produced the final order. */
  readonly ran: { simd: string; backend: string; threads: number; kernel?: string; reranked?: boolean }

  /** @internal */
  constructor(
    raw: {
      ids: Float64Array
      scores: Float32Array
      counts: Int32Array
      k: number
      simd: string
      backend: string
      threads: number
      kernel?: string
      reranked?: boolean
    },
    metric: Metric,
  ) {
    this.ids = raw.ids
    this.scores = raw.scores
    this.counts = raw.counts
    this.k = raw.k
    this.length = raw.counts.length
    this.metric = metric
    this.ran = { simd: raw.simd, backend: raw.backend, threads: raw.threads }
    if (raw.kernel !== undefined) this.ran.kernel = raw.kernel
    if (raw.reranked !== undefined) this.ran.reranked = raw.reranked
  }

  /** Matches of query i (views into the flat arrays, trimmed to counts[i]). */
  get(i: number): Matches {
    if (!Number.isInteger(i) || i < 0 || i >= this.length) {
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `query index ${i} is out of range [0, ${this.length})`)
    }
    const start = i * this.k
    const end = start + this.counts[i]
    return { ids: this.ids.subarray(start, end), scores: this.scores.subarray(start, end) }
  }

  *[Symbol.iterator](): Iterator<Matches> {
    for (let i = 0; i < this.length; i++) yield this.get(i)
  }
}
