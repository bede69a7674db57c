/**
 * Next-item ranking metrics as in HierTCN (You et al., WWW 2019): for every evaluated action, the rank
 * of the true item among all items (rank = how many items score STRICTLY higher, 0-based, so a tie
 * with the true item does not push it down); Recall@K = share of actions with rank < K, MRR = mean of
 * 1 / (rank + 1). Both are averaged over each user's evaluated actions first, then over users, so a
 * heavy user counts as much as a light one.
 */
import { ErrorCodes, SimsageError } from '../errors.js'
import { describe } from '../validate.js'

/** Metrics of a {@link RankingMetrics}. */
export interface RankingResult {
  recall1: number
  recall5: number
  recall10: number
  recall20: number
  mrr: number
  /** Users with at least one evaluated action. */
  users: number
  /** Evaluated actions. */
  actions: number
}

/**
 * The rank of `trueItem`: the number of items whose score is strictly higher. A NaN score elsewhere
 * counts as higher (a broken model must not look good); a NaN score of the true item is
 * ERR_SIMSAGE_NON_FINITE.
 */
export function rankOf(scores: Float32Array | Float64Array, trueItem: number): number {
  if (!Number.isInteger(trueItem) || trueItem < 0 || trueItem >= scores.length) {
    throw new SimsageError(
      ErrorCodes.INVALID_ARGUMENT,
      `trueItem must be an index in [0, ${scores.length}), got ${describe(trueItem)}`,
    )
  }
  const t = scores[trueItem]
  if (Number.isNaN(t)) throw new SimsageError(ErrorCodes.NON_FINITE, `the true item ${trueItem} scores NaN`)
  let rank = 0
  for (let i = 0; i < scores.length; i++) if (!(scores[i] <= t)) rank++
  return rank
}

const N = 0,
  H1 = 1,
  H5 = 2,
  H10 = 3,
  H20 = 4,
  RR = 5

/** Accumulates ranks per user; {@link RankingMetrics.result} averages per user, then over users. */
export class RankingMetrics {
  #users = new Map<number, Float64Array>()
  #actions = 0

  /** Records one evaluated action of `user` whose true item had rank `rank` (an integer >= 0). */
  add(user: number, rank: number): void {
    if (!Number.isInteger(user) || user < 0) {
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `user must be an integer >= 0, got ${describe(user)}`)
    }
    if (!Number.isInteger(rank) || rank < 0) {
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `rank must be an integer >= 0, got ${describe(rank)}`)
    }
    let a = this.#users.get(user)
    if (a === undefined) {
      a = new Float64Array(6)
      this.#users.set(user, a)
    }
    a[N]++
    if (rank < 1) a[H1]++
    if (rank < 5) a[H5]++
    if (rank < 10) a[H10]++
    if (rank < 20) a[H20]++
    a[RR] += 1 / (rank + 1)
    this.#actions++
  }

  /** Records one action from a full score vector (numItems scores); returns the rank. */
  addScores(user: number, scores: Float32Array, trueItem: number): number {
    if (!(scores instanceof Float32Array)) {
      throw new SimsageError(ErrorCodes.INVALID_TYPE, `scores must be a Float32Array, got ${describe(scores)}`)
    }
    const rank = rankOf(scores, trueItem)
    this.add(user, rank)
    return rank
  }

  /** Adds another accumulator's actions (e.g. from another worker); a user in both gets both sets of actions. */
  merge(other: RankingMetrics): void {
    for (const [u, b] of other.#users) {
      const a = this.#users.get(u)
      if (a === undefined) this.#users.set(u, b.slice())
      else for (let i = 0; i < 6; i++) a[i] += b[i]
    }
    this.#actions += other.#actions
  }

  /** The metrics so far (all zero when nothing was added). */
  result(): RankingResult {
    const sum = new Float64Array(6)
    for (const a of this.#users.values()) for (let i = 1; i < 6; i++) sum[i] += a[i] / a[N]
    const n = this.#users.size || 1
    return {
      recall1: sum[H1] / n,
      recall5: sum[H5] / n,
      recall10: sum[H10] / n,
      recall20: sum[H20] / n,
      mrr: sum[RR] / n,
      users: this.#users.size,
      actions: this.#actions,
    }
  }
}
