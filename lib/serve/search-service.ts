/**
 * Vector search through the micro-batcher: requests without allow/deny lists share batches (their
 * queries concatenated, k = the batch's largest, each request's rows trimmed to its own k;
 * per-query `exclude` lists travel with their rows); a request with allow or deny runs alone.
 */
import { ErrorCodes, SimsageError } from '../errors.js'
import type { IndexSearchOptions } from '../similarity/options.js'
import { MicroBatcher } from './batcher.js'
import type { IndexHolder } from './index-holder.js'

/** One search request. */
export interface SearchRequest {
  /** nq x dim row-major. */
  queries: Float32Array
  nq: number
  dim: number
  k: number
  /** Per query, ids never returned for it (length nq) */
  exclude?: (number[] | null | undefined)[]
  allow?: number[]
  deny?: number[]
}

/** One request's answer. */
export interface SearchAnswer {
  /** Version of the index that answered. */
  version: number
  /** Its metric (the order of the scores). */
  metric: string
  results: { ids: number[]; scores: number[] }[]
}

let solo = 0

/** Options of {@link SearchService}. */
export interface SearchServiceOptions {
  /** Merge concurrent requests (default true). */
  batching?: boolean
  /** Most query rows in one native search (default 256). */
  maxBatch?: number
  windowMs?: number
  onBatch?: (rows: number) => void
}

/** Searches the held index, micro-batched. */
export class SearchService {
  readonly #holder: IndexHolder
  readonly #batcher: MicroBatcher<SearchRequest, SearchAnswer>

  constructor(holder: IndexHolder, options: SearchServiceOptions = {}) {
    this.#holder = holder
    this.#batcher = new MicroBatcher<SearchRequest, SearchAnswer>({
      run: (items) => this.#run(items),
      enabled: options.batching ?? true,
      maxBatch: options.maxBatch ?? 256,
      windowMs: options.windowMs ?? 1,
      rows: (r) => r.nq,
      key: (r) => (r.allow || r.deny ? `solo:${solo++}` : ''),
      onBatch: options.onBatch,
    })
  }

  /** Searches; resolves with the request's rows. */
  search(req: SearchRequest): Promise<SearchAnswer> {
    return this.#batcher.add(req)
  }

  /** Resolves once no search waits or runs. */
  drain(): Promise<void> {
    return this.#batcher.drain()
  }

  #run(items: SearchRequest[]): Promise<(SearchAnswer | Error)[]> {
    return this.#holder.use(async (served) => {
      const index = served.index
      const out: (SearchAnswer | Error)[] = new Array(items.length)
      const ok: SearchRequest[] = []
      const at: number[] = []
      items.forEach((r, i) => {
        if (r.dim !== index.dim) {
          out[i] = new SimsageError(
            ErrorCodes.DIM_MISMATCH,
            `queries have dimension ${r.dim}, the index (version ${served.version}) ${index.dim}`,
          )
        } else {
          ok.push(r)
          at.push(i)
        }
      })
      if (ok.length === 0) return out
      let rows = 0
      let k = 1
      for (const r of ok) {
        rows += r.nq
        k = Math.max(k, r.k)
      }
      const q = ok.length === 1 ? ok[0].queries : new Float32Array(rows * index.dim)
      const options: IndexSearchOptions = {}
      const anyExclude = ok.some((r) => r.exclude)
      const exclude: (number[] | null | undefined)[] = []
      let row = 0
      for (const r of ok) {
        if (ok.length > 1) q.set(r.queries, row * index.dim)
        if (anyExclude) for (let i = 0; i < r.nq; i++) exclude.push(r.exclude?.[i])
        row += r.nq
      }
      if (anyExclude) options.exclude = exclude
      // allow/deny requests run alone (their own batch key).
      if (ok[0].allow) options.allow = ok[0].allow
      if (ok[0].deny) options.deny = ok[0].deny
      const res = await index.search(q, k, options)
      row = 0
      ok.forEach((r, j) => {
        const results: { ids: number[]; scores: number[] }[] = []
        for (let i = 0; i < r.nq; i++, row++) {
          const m = res.get(row)
          const n = Math.min(r.k, m.ids.length)
          results.push({ ids: Array.from(m.ids.subarray(0, n)), scores: Array.from(m.scores.subarray(0, n)) })
        }
        out[at[j]] = { version: served.version, metric: index.metric, results }
      })
      return out
    })
  }
}
