/**
 * Search options and their conversion to the native arguments.
 */
import { ErrorCodes, SimsageError } from '../errors.js'
import type { RawSearchArgs } from '../native/similarity-types.js'
import { checkThreads, describe } from '../validate.js'
import { toIdSet } from './validate.js'

/** A set of ids: an array, typed array, Set or any iterable of non-negative safe integers. */
export type IdSet = ArrayLike<number> | Iterable<number> | BigInt64Array

/** Options of a search. Filters are applied natively (bitsets over rows), never per item in JS. */
export interface SearchOptions {
  /** Only these ids may be returned. An empty set admits nothing. Unknown ids are ignored. */
  allow?: IdSet
  /** These ids are never returned. */
  deny?: IdSet
  /** Per query (same order as the queries), ids never returned for that query, e.g. items a user
   * already saw. Length must equal the number of queries; an entry may be undefined. */
  exclude?: ReadonlyArray<IdSet | undefined | null>
  /** Threads for this call (default: the global setting, see {@link setThreads}). */
  threads?: number
}

/** Options of {@link EmbeddingIndex.search}: the common ones, plus exact re-ranking. */
export interface IndexSearchOptions extends SearchOptions {
  /**
   * Reduced-precision indexes created with `keepF32: true`: scan for the best max(rerank, k)
   * candidates per query in the stored precision, then re-score those from the f32 vectors exactly
   * and return the best k. The result equals the exact f32 top-k whenever that lies within the
   * quantised top-`rerank` (e.g. `rerank: 4 * k`). 0 or absent: no re-ranking. Ignored by an 'f32'
   * index (already exact); ERR_SIMSAGE_INVALID_ARGUMENT on an index without f32 copies.
   */
  rerank?: number
}

const KNOWN = new Set(['allow', 'deny', 'exclude', 'threads'])
/** Option names an index search accepts. */
export const INDEX_KNOWN: ReadonlySet<string> = new Set([...KNOWN, 'rerank'])

/** Builds the native argument object for Q queries. */
export function toRawArgs(
  queries: Float32Array,
  nq: number,
  dim: number,
  k: number,
  options: IndexSearchOptions | undefined,
  known: ReadonlySet<string> = KNOWN,
): RawSearchArgs {
  const args: RawSearchArgs = { queries, dim, k }
  if (options === undefined) return args
  if (options === null || typeof options !== 'object') {
    throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `options must be an object, got ${describe(options)}`)
  }
  for (const key of Object.keys(options)) {
    if (!known.has(key)) throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `unknown search option '${key}'`)
  }
  args.threads = checkThreads(options.threads)
  if (options.rerank !== undefined) {
    const r = options.rerank
    if (typeof r !== 'number' || !Number.isInteger(r) || r < 0 || r > 1 << 24) {
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `rerank must be an integer in [0, 2^24], got ${describe(r)}`)
    }
    args.rerank = r
  }
  if (options.allow !== undefined) args.allow = toIdSet(options.allow, 'allow')
  if (options.deny !== undefined) args.deny = toIdSet(options.deny, 'deny')
  if (options.exclude !== undefined) {
    const ex = options.exclude
    if (!Array.isArray(ex)) {
      throw new SimsageError(
        ErrorCodes.INVALID_ARGUMENT,
        `exclude must be an array with one id set per query, got ${describe(ex)}`,
      )
    }
    if (ex.length !== nq) {
      throw new SimsageError(ErrorCodes.DIM_MISMATCH, `exclude has ${ex.length} entries but there are ${nq} queries`)
    }
    const offsets = new Float64Array(nq + 1)
    const parts: Float64Array[] = []
    let total = 0
    for (let i = 0; i < nq; i++) {
      const e = ex[i]
      const ids = e === undefined || e === null ? new Float64Array(0) : toIdSet(e, `exclude[${i}]`)
      parts.push(ids)
      total += ids.length
      offsets[i + 1] = total
    }
    const all = new Float64Array(total)
    let at = 0
    for (const p of parts) {
      all.set(p, at)
      at += p.length
    }
    args.excludeOffsets = offsets
    args.excludeIds = all
  }
  return args
}
