/**
 * Sharding past one machine: a large index split by id over several servers, and a router that
 * sends each search to every shard and merges their top-k exactly. A shard's top-k holds every
 * candidate of the global top-k that it stores, so the merge of the shards' lists, in the native
 * order (better score first; equal scores: smaller id first), equals one index's answer, ties included.
 */
import { type ErrorCode, ErrorCodes, SimsageError } from '../errors.js'
import type { Metric } from '../similarity/types.js'

/** One query's matches, best first. */
export interface ShardMatches {
  ids: number[]
  scores: number[]
}

/** The shard (0..shards-1) that stores `id`: id mod shards. */
export function shardOf(id: number, shards: number): number {
  return id % shards
}

/**
 * Merges per-shard lists (each best first, in the native order) into the best k: for 'ip' and
 * 'cosine' higher scores first, for 'l2' lower; equal scores → the smaller id first.
 */
export function mergeTopK(parts: readonly ShardMatches[], k: number, metric: Metric): ShardMatches {
  const sign = metric === 'l2' ? 1 : -1
  const at = parts.map(() => 0)
  const out: ShardMatches = { ids: [], scores: [] }
  while (out.ids.length < k) {
    let best = -1
    for (let p = 0; p < parts.length; p++) {
      const i = at[p]
      if (i >= parts[p].ids.length) continue
      if (best < 0) {
        best = p
        continue
      }
      const a = sign * parts[p].scores[i]
      const b = sign * parts[best].scores[at[best]]
      if (a < b || (a === b && parts[p].ids[i] < parts[best].ids[at[best]])) best = p
    }
    if (best < 0) break
    out.ids.push(parts[best].ids[at[best]])
    out.scores.push(parts[best].scores[at[best]])
    at[best]++
  }
  return out
}

/** One shard's answer. */
interface ShardAnswer {
  version: number
  metric: Metric
  results: ShardMatches[]
}

/** A search as POST /v1/search takes it. */
export interface ShardSearch {
  vectors: number[][]
  k: number
  allow?: number[]
  deny?: number[]
  exclude?: (number[] | null)[]
}

/** Options of {@link ShardRouter}. */
export interface ShardRouterOptions {
  /** Bearer token of the shard servers. */
  token?: string
  /** Milliseconds a shard may take (default 10,000). */
  timeoutMs?: number
}

/**
 * Sends each search to every shard server (`simsage serve` over one shard's index each) and merges
 * the answers with {@link mergeTopK}. Stateless: any number of routers may front the same shards.
 * A shard that fails or answers an error fails the search with that shard's code (or
 * ERR_SIMSAGE_UNAVAILABLE when it cannot be reached).
 */
export class ShardRouter {
  readonly urls: readonly string[]
  readonly #o: ShardRouterOptions

  constructor(urls: readonly string[], options: ShardRouterOptions = {}) {
    if (!Array.isArray(urls) || urls.length === 0) {
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, 'a shard router needs at least one shard URL')
    }
    this.urls = [...urls]
    this.#o = options
  }

  /** The merged top-k of each query, with the shard answers' index versions. */
  async search(req: ShardSearch): Promise<{ results: ShardMatches[]; versions: number[] }> {
    // Every shard's answer is awaited (and its body read) before a failure is reported, so no
    // connection is left holding an unread response.
    const settled = await Promise.allSettled(this.urls.map((u) => this.#ask(u, req)))
    const failed = settled.find((r) => r.status === 'rejected')
    if (failed) throw failed.reason
    const answers = settled.map((r) => (r as PromiseFulfilledResult<ShardAnswer>).value)
    const metric = answers[0].metric
    const results = req.vectors.map((_, q) =>
      mergeTopK(
        answers.map((a) => a.results[q]),
        req.k,
        metric,
      ),
    )
    return { results, versions: answers.map((a) => a.version) }
  }

  async #ask(url: string, req: ShardSearch): Promise<ShardAnswer> {
    const headers: Record<string, string> = { 'content-type': 'application/json' }
    if (this.#o.token) headers.authorization = `Bearer ${this.#o.token}`
    let res: Response
    try {
      res = await fetch(`${url}/v1/search`, {
        method: 'POST',
        headers,
        body: JSON.stringify(req),
        signal: AbortSignal.timeout(this.#o.timeoutMs ?? 10_000),
      })
    } catch (e) {
      throw new SimsageError(ErrorCodes.UNAVAILABLE, `shard ${url} is unreachable: ${(e as Error).message}`, {
        cause: e,
      })
    }
    const body = (await res.json().catch(() => ({}))) as {
      version: number
      metric: Metric
      results: ShardMatches[]
      error?: { code: string; message: string }
    }
    if (!res.ok) {
      const code = body.error?.code?.startsWith('ERR_SIMSAGE_') ? body.error.code : ErrorCodes.UNAVAILABLE
      throw new SimsageError(code as ErrorCode, `shard ${url}: ${body.error?.message ?? res.status}`)
    }
    return body
  }
}
