/**
 * Retrieval metrics over labelled embeddings. Queries are searched against a gallery with the exact
 * top-k kernel (the same one EmbeddingIndex uses), so evaluation never materialises a Q x N matrix.
 *
 * Definitions (labels stand in for relevance):
 * - Recall@K: share of queries whose K nearest gallery items include one of the query's label.
 * - kNN accuracy: share of queries whose label wins a majority vote among the K nearest
 *   (ties go to the label of the nearer item).
 * - Similarity precision (Deep Ranking): share of (anchor, positive, negative) triplets the metric
 *   orders right, i.e. anchor closer to positive than to negative.
 * - Score-at-top-K (Deep Ranking, adapted to labels): per query, +1 for each of the K nearest
 *   items with the query's label and -1 for each without, averaged over queries. The paper scores
 *   human relevance ratings; with class labels only, same-class is relevant and other-class is not.
 */
import { ErrorCodes, SimsageError } from '../errors.js'
import { Random } from '../random.js'
import { topk } from '../similarity/topk.js'
import type { Metric } from '../similarity/types.js'

/** Embeddings with labels. */
export interface LabeledEmbeddings {
  /** n x dim row-major. */
  vectors: Float32Array
  labels: ArrayLike<number>
  dim: number
}

/** Options of {@link retrievalMetrics}. */
export interface RetrievalOptions {
  metric?: Metric
  /** Ks for Recall@K (default [1, 10]). */
  recallAt?: number[]
  /** K of the kNN vote (default 10). */
  knnK?: number
  /** K of score-at-top-K (default 30, as in Deep Ranking). */
  scoreAt?: number
  /** Treat the query set as the gallery and skip each query's own row (leave-one-out). */
  excludeSelf?: boolean
  threads?: number
  /** Queries per search call (bounds memory for large query sets). */
  batch?: number
}

/** Results of {@link retrievalMetrics}; recall is keyed by K. */
export interface RetrievalMetrics {
  recall: Record<number, number>
  knnAccuracy: number
  scoreAtTopK: number
  queries: number
}

function check(e: LabeledEmbeddings, name: string): number {
  if (!(e.vectors instanceof Float32Array))
    throw new SimsageError(ErrorCodes.INVALID_TYPE, `${name}.vectors must be a Float32Array`)
  const n = e.vectors.length / e.dim
  if (!Number.isInteger(n))
    throw new SimsageError(ErrorCodes.DIM_MISMATCH, `${name}.vectors length is not a multiple of dim`)
  if (e.labels.length !== n)
    throw new SimsageError(ErrorCodes.DIM_MISMATCH, `${name} has ${n} vectors but ${e.labels.length} labels`)
  return n
}

/** Recall@K, kNN accuracy and score-at-top-K of `queries` against `gallery`. */
export function retrievalMetrics(
  queries: LabeledEmbeddings,
  gallery: LabeledEmbeddings,
  options: RetrievalOptions = {},
): RetrievalMetrics {
  const nq = check(queries, 'queries')
  check(gallery, 'gallery')
  if (queries.dim !== gallery.dim) throw new SimsageError(ErrorCodes.DIM_MISMATCH, 'queries and gallery dims differ')
  const recallAt = options.recallAt ?? [1, 10]
  const knnK = options.knnK ?? 10
  const scoreAt = options.scoreAt ?? 30
  const k = Math.max(knnK, scoreAt, ...recallAt)
  const batch = options.batch ?? 2048
  const hits: Record<number, number> = Object.fromEntries(recallAt.map((r) => [r, 0]))
  let knnRight = 0
  let score = 0
  const dim = queries.dim
  for (let q0 = 0; q0 < nq; q0 += batch) {
    const q1 = Math.min(nq, q0 + batch)
    const exclude = options.excludeSelf ? Array.from({ length: q1 - q0 }, (_, i) => [q0 + i]) : undefined
    const res = topk(queries.vectors.subarray(q0 * dim, q1 * dim), gallery.vectors, {
      dim,
      k,
      metric: options.metric ?? 'cosine',
      threads: options.threads,
      exclude,
    })
    for (let i = 0; i < q1 - q0; i++) {
      const label = queries.labels[q0 + i]
      const { ids } = res.get(i)
      const labels = Array.from(ids, (id) => gallery.labels[id])
      for (const r of recallAt) if (labels.slice(0, r).includes(label)) hits[r]++
      // kNN vote; ties broken by the earliest (nearest) occurrence
      const votes = new Map<number, { n: number; first: number }>()
      labels.slice(0, knnK).forEach((l, j) => {
        const v = votes.get(l)
        if (v) v.n++
        else votes.set(l, { n: 1, first: j })
      })
      let best = -1
      let bestV = { n: -1, first: Infinity }
      for (const [l, v] of votes)
        if (v.n > bestV.n || (v.n === bestV.n && v.first < bestV.first)) [best, bestV] = [l, v]
      if (best === label) knnRight++
      for (const l of labels.slice(0, scoreAt)) score += l === label ? 1 : -1
    }
  }
  const recall: Record<number, number> = {}
  for (const r of recallAt) recall[r] = hits[r] / nq
  return { recall, knnAccuracy: knnRight / nq, scoreAtTopK: score / nq, queries: nq }
}

/**
 * Similarity precision: share of triplets (a, p, n) with d(a, p) < d(a, n) under `metric`
 * (for ip/cosine: s(a, p) > s(a, n)). Triplets is a flat array of row indices, 3 per triplet.
 */
export function similarityPrecision(
  vectors: Float32Array,
  dim: number,
  triplets: ArrayLike<number>,
  metric: Metric = 'cosine',
): number {
  if (triplets.length % 3 !== 0)
    throw new SimsageError(ErrorCodes.DIM_MISMATCH, 'triplets length must be a multiple of 3')
  const n = vectors.length / dim
  const t = triplets.length / 3
  if (t === 0) throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, 'no triplets')
  let right = 0
  const score = (a: number, b: number): number => {
    let dot = 0,
      na = 0,
      nb = 0,
      l2 = 0
    for (let d = 0; d < dim; d++) {
      const x = vectors[a * dim + d],
        y = vectors[b * dim + d]
      dot += x * y
      na += x * x
      nb += y * y
      l2 += (x - y) * (x - y)
    }
    if (metric === 'l2') return -l2
    if (metric === 'ip') return dot
    return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0
  }
  for (let i = 0; i < t; i++) {
    const a = triplets[3 * i],
      p = triplets[3 * i + 1],
      ng = triplets[3 * i + 2]
    if (![a, p, ng].every((r) => Number.isInteger(r) && r >= 0 && r < n)) {
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `triplet ${i} has a row outside [0, ${n})`)
    }
    if (score(a, p) > score(a, ng)) right++
  }
  return right / t
}

/** Draws `count` label-based evaluation triplets (anchor, same-class positive, other-class negative), seeded. */
export function labelTriplets(labels: ArrayLike<number>, count: number, seed = 1): Int32Array {
  const byClass = new Map<number, number[]>()
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i]
    if (!byClass.has(l)) byClass.set(l, [])
    byClass.get(l)!.push(i)
  }
  if (byClass.size < 2) throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, 'labelTriplets needs at least two classes')
  const rng = new Random(seed)
  const rand = () => rng.next()
  const out = new Int32Array(count * 3)
  for (let i = 0; i < count; i++) {
    let a: number, same: number[]
    do {
      a = Math.floor(rand() * labels.length)
      same = byClass.get(labels[a])!
    } while (same.length < 2)
    let p: number
    do p = same[Math.floor(rand() * same.length)]
    while (p === a)
    let ng: number
    do ng = Math.floor(rand() * labels.length)
    while (labels[ng] === labels[a])
    out.set([a, p, ng], 3 * i)
  }
  return out
}
