/**
 * The next-item scorer interface shared by the non-neural baselines, and the evaluation loop that
 * applies the HierTCN protocol to any of them: every action after a user's first is predicted from
 * that user's earlier actions only, ranked among all items, averaged per user then over users.
 */
import type { InteractionLog } from '../data/sessions.js'
import { ErrorCodes, SimsageError } from '../errors.js'
import { RankingMetrics, type RankingResult } from '../eval/ranking.js'
import { describe } from '../validate.js'

/** A model that scores every item as the next action of a user, given the user's earlier actions. */
export interface NextItemScorer {
  /** A short name for tables. */
  readonly name: string
  /**
   * Fills `out` (numItems entries) with the scores for action `pos` (a global action index of the
   * log) of user `user`; only actions `[log.userOffsets[user], pos)` may be looked at.
   */
  scores(user: number, pos: number, out: Float32Array): void
  /**
   * The exact rank of `trueItem` for action `pos` (items scored strictly higher), computed in double
   * precision and without a dense pass where the model allows it; equal to `rankOf(scores(...))`
   * whenever float32 holds the scores exactly.
   */
  rank(user: number, pos: number, trueItem: number): number
}

/** Checks a user-index list against the log. */
export function checkUsers(log: InteractionLog, users: unknown, name = 'users'): Int32Array {
  if (!(users instanceof Int32Array)) {
    throw new SimsageError(
      ErrorCodes.INVALID_TYPE,
      `${name} must be an Int32Array of user indices, got ${describe(users)}`,
    )
  }
  for (let k = 0; k < users.length; k++) {
    const u = users[k]
    if (u < 0 || u >= log.numUsers) {
      throw new SimsageError(
        ErrorCodes.INVALID_ARGUMENT,
        `${name}[${k}] = ${u} is not a user index in [0, ${log.numUsers})`,
      )
    }
  }
  return users
}

/**
 * Evaluates `scorer` on `users` with the HierTCN protocol (see the module comment). Users with a
 * single action have nothing to evaluate and are not counted.
 */
export function evaluateBaseline(log: InteractionLog, users: Int32Array, scorer: NextItemScorer): RankingResult {
  checkUsers(log, users)
  const m = new RankingMetrics()
  for (let k = 0; k < users.length; k++) {
    const u = users[k]
    for (let pos = log.userOffsets[u] + 1; pos < log.userOffsets[u + 1]; pos++) {
      m.add(u, scorer.rank(u, pos, log.item[pos]))
    }
  }
  return m.result()
}
