/**
 * Stateless exact search over two row-major matrices held by the caller.
 */
import { awaitNative, callNative, ErrorCodes, SimsageError } from '../errors.js'
import { binding } from '../native/binding.js'
import { toRawArgs, type SearchOptions } from './options.js'
import { SearchResults } from './results.js'
import { checkDim, checkMatrix } from '../validate.js'
import type { Metric } from './types.js'
import { checkK, checkMetric } from './validate.js'

/** Options of {@link topk}. */
export interface TopkOptions extends SearchOptions {
  /** Vector dimension D. */
  dim: number
  /** Matches per query. Clamped to the corpus rows N: the results hold min(k, N) slots per query
   * (`results.k`). Ip/l2 vectors need |x| < 2^62, else ERR_SIMSAGE_NON_FINITE. */
  k: number
  /** 'ip' (default), 'cosine' or 'l2'. */
  metric?: Metric
}

function prepare(queries: Float32Array, corpus: Float32Array, options: TopkOptions) {
  if (options === null || typeof options !== 'object') {
    throw new SimsageError(
      ErrorCodes.INVALID_ARGUMENT,
      'topk(queries, corpus, { dim, k, metric }) requires an options object',
    )
  }
  const { dim: d, k: kk, metric: m, ...rest } = options
  const dim = checkDim(d)
  const k = checkK(kk)
  const metric = checkMetric(m ?? 'ip')
  const nq = checkMatrix(queries, dim, 'queries')
  checkMatrix(corpus, dim, 'corpus')
  const args = { ...toRawArgs(queries, nq, dim, k, rest), metric, corpus }
  return { args, metric }
}

/**
 * Exact top-k of each query against a corpus, on the calling thread (blocks the event loop for the
 * duration; use {@link topkAsync} for large inputs).
 *
 * @param queries Q x D row-major Float32Array.
 * @param corpus N x D row-major Float32Array; result ids are row indices in [0, N).
 * @returns Q x k results; ties break toward the smaller id.
 */
export function topk(queries: Float32Array, corpus: Float32Array, options: TopkOptions): SearchResults {
  const { args, metric } = prepare(queries, corpus, options)
  return new SearchResults(
    callNative(() => binding().topkSync(args)),
    metric,
  )
}

/**
 * Like {@link topk}, off the event loop. The corpus is not copied: do not modify it until the
 * promise settles.
 */
export async function topkAsync(
  queries: Float32Array,
  corpus: Float32Array,
  options: TopkOptions,
): Promise<SearchResults> {
  const { args, metric } = prepare(queries, corpus, options)
  const raw = await awaitNative(callNative(() => binding().topkAsync(args)))
  return new SearchResults(raw, metric)
}
