/**
 * Session-parallel mini-batches for action-level recurrent models (GRU4Rec, Hidasi et al. 2016):
 * `lanes` parallel lanes, each a concatenation of whole users' action sequences; a batch takes the
 * next `steps` positions of every lane. A user's positions are: the start token (−2) predicting
 * nothing (a user's first action has no history), then each action predicting the next one.
 * `carry` is 0 where a new user begins in a lane (the model resets its state), 1 elsewhere;
 * positions past the last user of a lane are padding (mask 0).
 *
 * Users are taken lazily in a seeded order and appended to the lane with the fewest queued
 * positions, so memory is bounded by lanes × (steps + one user), not by the whole log.
 */
import { ErrorCodes, SimsageError } from '../errors.js'
import { Random } from '../random.js'

/** What the lanes need of an interaction log: each user's actions as item indices, in time order. */
export interface UserItems {
  user(user: number): { item: Int32Array }
}

/** One batch [lanes, steps], row-major. Arrays are reused between batches. */
export interface LaneBatch {
  lanes: number
  steps: number
  /** Input token: item index, −2 = a user's start token, −1 = padding. */
  input: Int32Array
  /** Item to predict at this position, or −1 (none: a user's first position, padding). */
  target: Int32Array
  /** State multiplier before this position: 0 where a user starts, else 1. */
  carry: Float32Array
  /** 1 where the position holds a token, 0 for padding. */
  mask: Uint8Array
  /** User index per position, −1 for padding. */
  user: Int32Array
  /** Positions with a target ≥ 0. */
  actions: number
}

export interface ActionLanesOptions {
  lanes: number
  steps: number
  seed?: number
  /** Shuffle the users (default true). */
  shuffle?: boolean
  /**
   * Queue a user as segments of at most this many positions (default: whole users). A segment
   * after the first continues the user's sequence (its first input is the previous action) but
   * starts with carry 0: the state resets. This keeps one very heavy user from making every other
   * lane idle for most of an epoch (truncated back-propagation; use it for training only).
   */
  maxUserActions?: number
}

export class ActionLanes implements Iterable<LaneBatch> {
  readonly #log: UserItems
  readonly #users: Int32Array
  readonly lanes: number
  readonly steps: number
  readonly #seed: number
  readonly #shuffle: boolean
  readonly #segment: number

  constructor(log: UserItems, users: Int32Array, options: ActionLanesOptions) {
    const { lanes, steps } = options
    if (!Number.isInteger(lanes) || lanes < 1 || !Number.isInteger(steps) || steps < 1) {
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `lanes and steps must be positive integers`)
    }
    this.#log = log
    this.#users = users
    this.lanes = lanes
    this.steps = steps
    this.#seed = options.seed ?? 0
    this.#shuffle = options.shuffle ?? true
    this.#segment = options.maxUserActions ?? Number.POSITIVE_INFINITY
    if (!(this.#segment >= 2)) {
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `maxUserActions must be >= 2, got ${options.maxUserActions}`)
    }
  }

  *[Symbol.iterator](): Iterator<LaneBatch> {
    const { lanes, steps } = this
    const order = Int32Array.from(this.#users)
    if (this.#shuffle) {
      const rng = new Random(this.#seed)
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(rng.next() * (i + 1))
        const t = order[i]
        order[i] = order[j]
        order[j] = t
      }
    }
    let next = 0
    // Per lane: a queue of user segments [from, to) of positions, and the read position.
    const queues: { user: number; items: Int32Array; from: number; to: number }[][] = Array.from(
      { length: lanes },
      () => [],
    )
    const queued = new Float64Array(lanes)
    const pos = new Int32Array(lanes)
    const n = lanes * steps
    const batch: LaneBatch = {
      lanes,
      steps,
      input: new Int32Array(n),
      target: new Int32Array(n),
      carry: new Float32Array(n),
      mask: new Uint8Array(n),
      user: new Int32Array(n),
      actions: 0,
    }
    const refill = () => {
      // Keep every lane holding at least `steps` positions while users remain.
      for (;;) {
        let lo = 0
        for (let l = 1; l < lanes; l++) if (queued[l] < queued[lo]) lo = l
        if (queued[lo] >= steps || next >= order.length) return
        const user = order[next++]
        const items = this.#log.user(user).item
        if (items.length < 2) continue // nothing to predict
        for (let from = 0; from < items.length; from += this.#segment) {
          const to = Math.min(items.length, from + this.#segment)
          queues[lo].push({ user, items, from, to })
        }
        queued[lo] += items.length
      }
    }
    for (;;) {
      refill()
      let any = false
      for (let l = 0; l < lanes; l++) if (queues[l].length > 0) any = true
      if (!any) return
      batch.actions = 0
      for (let l = 0; l < lanes; l++) {
        const q = queues[l]
        for (let t = 0; t < steps; t++) {
          const at = l * steps + t
          const head = q[0]
          if (!head) {
            batch.input[at] = -1
            batch.target[at] = -1
            batch.carry[at] = 1
            batch.mask[at] = 0
            batch.user[at] = -1
            continue
          }
          const p = head.from + pos[l]
          batch.input[at] = p === 0 ? -2 : head.items[p - 1]
          batch.target[at] = p === 0 ? -1 : head.items[p]
          batch.carry[at] = p === head.from ? 0 : 1
          batch.mask[at] = 1
          batch.user[at] = head.user
          if (p > 0) batch.actions++
          queued[l]--
          if (p + 1 >= head.to) {
            q.shift()
            pos[l] = 0
          } else {
            pos[l]++
          }
        }
      }
      yield batch
    }
  }
}
