/**
 * Recall@K of (query, entity) pairs, OmniSearchSage's offline protocol: for each held-out pair, the
 * positive entity's score is ranked against (a) every entity of the catalog and (b) the positive
 * plus `sample` entities drawn uniformly at random without replacement from the rest of the
 * catalog (seeded, the same draw for every model scored with the same seed). A pair is a hit when
 * fewer than K entities score strictly higher (ties go to the positive, as lib/eval/ranking.ts).
 * Other positives of the same query count as competitors, as they are in the paper's index.
 *
 * Also: how much of the top K (against the whole catalog) the `popular` most popular entities
 * fill, averaged over pairs — a model that learned popularity rather than text fills it.
 */
import { ErrorCodes, SimsageError } from '../errors.js'
import { Random } from '../random.js'

/** What {@link pairRecall} scores. */
export interface PairRecallInput {
  /** Catalog size N. */
  entities: number
  /** Positive entity per pair. */
  positive: Int32Array
  /** Writes pair i's scores against all N entities into `out` (length N). */
  score: (pair: number, out: Float32Array) => void
}

/** Options of {@link pairRecall}. */
export interface PairRecallOptions {
  /** K (default 10). */
  k?: number
  /** Random entities beside the positive in the sampled cut (default 1,000; 0 skips it). */
  sample?: number
  /** Seed of the sampled cut (default 1). */
  seed?: number
  /** Entity ids from most to least popular: the first `popularTop` count as "popular" (default 10). */
  popularity?: ArrayLike<number>
  popularTop?: number
}

/** Results of {@link pairRecall}. */
export interface PairRecall {
  /** Recall@K against the whole catalog. */
  recallAll: number
  /** Recall@K against the positive + `sample` random entities (NaN when sample is 0). */
  recallSampled: number
  /** Mean share of the top K (whole catalog) taken by the most popular entities (NaN without popularity). */
  popularShare: number
  pairs: number
}

/** Entities ordered by descending count (ties by id). */
export function byPopularity(counts: ArrayLike<number>): Int32Array {
  const order = Int32Array.from({ length: counts.length }, (_, i) => i)
  return order.sort((a, b) => counts[b] - counts[a] || a - b)
}

/** Computes the recalls (see the file comment). */
export function pairRecall(input: PairRecallInput, options: PairRecallOptions = {}): PairRecall {
  const { entities: n, positive } = input
  const k = options.k ?? 10
  const sample = Math.min(options.sample ?? 1000, Math.max(0, n - 1))
  if (!Number.isInteger(k) || k < 1)
    throw new SimsageError(ErrorCodes.INVALID_K, `k must be a positive integer, got ${k}`)
  if (!Number.isInteger(n) || n < 1) {
    throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `entities must be a positive integer, got ${n}`)
  }
  const rng = new Random(options.seed ?? 1)
  const popular = new Uint8Array(n)
  const top = options.popularity ? Math.min(options.popularTop ?? 10, n) : 0
  for (let i = 0; i < top; i++) popular[(options.popularity as ArrayLike<number>)[i]] = 1
  const scores = new Float32Array(n)
  // Partial Fisher-Yates over a reusable permutation of the non-positive entities.
  const perm = Int32Array.from({ length: n }, (_, i) => i)
  const topIds = new Int32Array(k)
  const topScores = new Float32Array(k)
  let hitsAll = 0
  let hitsSampled = 0
  let popularSum = 0
  for (let p = 0; p < positive.length; p++) {
    const pos = positive[p]
    if (!(pos >= 0 && pos < n)) {
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `pair ${p}: positive ${pos} is outside [0, ${n})`)
    }
    input.score(p, scores)
    const s = scores[pos]
    let higher = 0
    for (let e = 0; e < n; e++) if (scores[e] > s) higher++
    if (higher < k) hitsAll++
    if (sample > 0) {
      // Draw `sample` of the n - 1 others: swap the positive to the end, shuffle the prefix.
      const at = perm.indexOf(pos)
      perm[at] = perm[n - 1]
      perm[n - 1] = pos
      let above = 0
      for (let i = 0; i < sample; i++) {
        const j = i + Math.floor(rng.next() * (n - 1 - i))
        const t = perm[i]
        perm[i] = perm[j]
        perm[j] = t
        if (scores[perm[i]] > s) above++
      }
      if (above < k) hitsSampled++
    }
    if (top > 0) {
      // The top K by score (ties by id), then how many are popular.
      let filled = 0
      for (let e = 0; e < n; e++) {
        const v = scores[e]
        if (filled === k && v <= topScores[k - 1]) continue
        let i = filled < k ? filled++ : k - 1
        while (i > 0 && topScores[i - 1] < v) {
          topScores[i] = topScores[i - 1]
          topIds[i] = topIds[i - 1]
          i--
        }
        topScores[i] = v
        topIds[i] = e
      }
      let c = 0
      for (let i = 0; i < filled; i++) c += popular[topIds[i]]
      popularSum += c / k
    }
  }
  const m = positive.length
  return {
    recallAll: m ? hitsAll / m : Number.NaN,
    recallSampled: sample > 0 && m ? hitsSampled / m : Number.NaN,
    popularShare: top > 0 && m ? popularSum / m : Number.NaN,
    pairs: m,
  }
}
