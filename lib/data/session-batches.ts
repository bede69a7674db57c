/**
 * The queue-based mini-batch generator of HierTCN (You et al., WWW 2019, "Efficient training"): B
 * queues (batch slots); users, in a seeded shuffled order, are appended whole to the shortest queue
 * (counted in session pieces) whenever a queue holds fewer than S pieces; each batch takes S session
 * steps, one session piece per queue per step, padded to L actions. The recurrent user state lives
 * in the model, one per slot, carried from batch to batch; `carry` says when a new user starts in a
 * slot (reset). Users are taken lazily, partition by partition (`user-order.ts`): from an in-memory
 * `InteractionLog`, or from a `PartitionedLog` that holds one partition of users in memory at a
 * time, so only that partition, the queued users' actions and the batch arrays are live.
 *
 * Pieces: a session longer than L actions is cut into consecutive pieces of at most L actions; each
 * piece is its own session step. The first piece of a session starts with the START token; a later
 * piece starts with the item just before it (the last item of the previous piece), so no
 * transition is lost. `piece` and `sessionEnd` tell a model which step starts or ends a session
 * (HierTCN updates its user-level GRU once per session: after the step with `sessionEnd` 1).
 *
 * Users with fewer than `minActions` actions (default 2: nothing to predict) are skipped. With
 * `maxUserSessions`, a heavy user is queued as several segments, each starting with `carry` 0.
 */
import { ErrorCodes, SimsageError } from '../errors.js'
import { describe } from '../validate.js'
import { InteractionLog } from './sessions.js'
import { epochUsers, logReader, type QueuedUser, type UserReader } from './user-order.js'

/** `input` value at position 0 of a session's first piece. */
export const SESSION_START = -2
/** Padding (and "no target") value of the item arrays. */
export const PAD = -1

/** Options of {@link SessionBatches}. */
export interface SessionBatchesOptions {
  /** B: batch slots (queues). */
  queues: number
  /** S: session steps per batch. */
  sessionSteps: number
  /** L: actions per session step (longer sessions are cut into pieces). */
  maxLength: number
  /** Seed of the user shuffle (default 0); epoch e shuffles with (seed, e). */
  seed?: number
  /** Shuffle the users each epoch (default true); false keeps the given order (evaluation). */
  shuffle?: boolean
  /** Batch objects rotated between yields (default 1), so one can be read while the next is filled. */
  buffers?: number
  /** Users with fewer actions are skipped (default 2). */
  minActions?: number
  /**
   * Cut a user's history into segments of at most this many sessions, each queued on its own with
   * its state reset (`carry` 0) at its start (default: no cut, whole users as in the paper). An
   * epoch lasts at least as many steps as the longest queued unit has pieces, so one very heavy
   * user otherwise leaves every other slot padding for most of the epoch; a cut trades that
   * user's long-range state for throughput.
   */
  maxUserSessions?: number
  /**
   * Users per partition when reading an `InteractionLog` (default: one partition): the epoch order
   * is then the one a `PartitionedLog` with this partition size gives (see `user-order.ts`). A
   * `UserReader` brings its own partition size (a different value here is INVALID_ARGUMENT).
   */
  partitionUsers?: number
}

/**
 * One batch; the arrays are reused: a batch is valid until `buffers` more batches have been drawn.
 * Index [b, s, p] is `(b * steps + s) * maxLength + p`; index [b, s] is `b * steps + s`.
 */
export interface SessionBatch {
  /** B. */
  readonly queues: number
  /** S. */
  readonly steps: number
  /** L. */
  readonly maxLength: number
  /** [B, S, L] model input at p: p = 0 START (or the item before a continued piece), p ≥ 1 the piece's item p − 1; PAD after the piece. */
  readonly input: Int32Array
  /** [B, S, L] item to predict at p (the piece's item p); PAD past the piece and at a user's very first action. */
  readonly target: Int32Array
  /** [B, S, L] the piece's items (including a user's first action), PAD after: for the session-level input. */
  readonly items: Int32Array
  /** [B, S] actions in the piece; 0 = padding step (a model must leave the slot's state unchanged). */
  readonly length: Int32Array
  /** [B, S] multiplier of the slot's recurrent user state before this step: 0 where a new user (or user segment) starts, else 1. */
  readonly carry: Float32Array
  /** [B, S] seconds from the user's previous action (the end of its previous piece) to this piece's first; 0 for a user's first piece (float32). */
  readonly gap: Float32Array
  /** [B, S] user index, or -1 on a padding step. */
  readonly user: Int32Array
  /** [B, S] action index (in the whole log's user-major order) of the piece's first action, or -1 on padding. */
  readonly offset: Int32Array
  /** [B, S] piece number within its session (0 = the session's start), -1 on padding. */
  readonly piece: Int32Array
  /** [B, S] 1 when this piece ends its session, else 0. */
  readonly sessionEnd: Uint8Array
  /** Valid targets in the batch. */
  actions: number
  /** Batch number within the epoch, from 0. */
  index: number
}

/** Bytes per [b, s, p] position (input, target, items: Int32) — also what padded batching holds per position. */
const POSITION_BYTES = 12
/** Bytes per [b, s] step (length, carry, gap, user, piece, offset, sessionEnd). */
const STEP_BYTES = 25

function positiveInt(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 1 << 24) {
    throw new SimsageError(
      ErrorCodes.INVALID_ARGUMENT,
      `${name} must be an integer in [1, 16777216], got ${describe(v)}`,
    )
  }
  return v
}

function makeBatch(B: number, S: number, L: number): SessionBatch {
  return {
    queues: B,
    steps: S,
    maxLength: L,
    input: new Int32Array(B * S * L),
    target: new Int32Array(B * S * L),
    items: new Int32Array(B * S * L),
    length: new Int32Array(B * S),
    carry: new Float32Array(B * S),
    gap: new Float32Array(B * S),
    user: new Int32Array(B * S),
    piece: new Int32Array(B * S),
    offset: new Int32Array(B * S),
    sessionEnd: new Uint8Array(B * S),
    actions: 0,
    index: 0,
  }
}

/** Pieces of at most L actions in sessions [s0, s1) of a user. */
function piecesOf(start: Int32Array, s0: number, s1: number, L: number): number {
  let n = 0
  for (let s = s0; s < s1; s++) n += Math.ceil((start[s + 1] - start[s]) / L)
  return n
}

/** Bytes a queued segment holds: Int32 item + Float64 time per action, Int32 offset per session. */
const segmentBytes = (start: Int32Array, s0: number, s1: number) => (start[s1] - start[s0]) * 12 + (s1 - s0 + 1) * 4

/** The queue generator; iterate it once per epoch (see the module comment). */
export class SessionBatches implements Iterable<SessionBatch> {
  readonly #reader: UserReader
  readonly #users: Int32Array
  readonly #B: number
  readonly #S: number
  readonly #L: number
  readonly #seed: number
  readonly #shuffle: boolean
  readonly #buffers: number
  readonly #minActions: number
  readonly #maxUserSessions: number
  #epoch = 0
  #peakQueued = 0

  /**
   * @param log the whole log in memory, or a {@link UserReader} (a `PartitionedLog`)
   * @param users user indices to queue (e.g. a split's training users)
   */
  constructor(log: InteractionLog | UserReader, users: Int32Array, opts: SessionBatchesOptions) {
    if (!(users instanceof Int32Array)) {
      throw new SimsageError(ErrorCodes.INVALID_TYPE, `users must be an Int32Array, got ${describe(users)}`)
    }
    for (let k = 0; k < users.length; k++) {
      if (users[k] < 0 || users[k] >= log.numUsers) {
        throw new SimsageError(
          ErrorCodes.INVALID_ARGUMENT,
          `users[${k}] = ${users[k]} is not a user index in [0, ${log.numUsers})`,
        )
      }
    }
    if (opts === null || typeof opts !== 'object') {
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `options must be an object, got ${describe(opts)}`)
    }
    const pu = opts.partitionUsers ?? Number.POSITIVE_INFINITY
    if (pu !== Number.POSITIVE_INFINITY) positiveInt(pu, 'partitionUsers')
    if (!(log instanceof InteractionLog) && opts.partitionUsers !== undefined && pu !== log.partitionUsers) {
      throw new SimsageError(
        ErrorCodes.INVALID_ARGUMENT,
        `partitionUsers ${pu} differs from the reader's partition size ${log.partitionUsers}`,
      )
    }
    this.#reader = log instanceof InteractionLog ? logReader(log, pu) : log
    this.#users = users
    this.#B = positiveInt(opts.queues, 'queues')
    this.#S = positiveInt(opts.sessionSteps, 'sessionSteps')
    this.#L = positiveInt(opts.maxLength, 'maxLength')
    if (this.#B * this.#S * this.#L > 2 ** 28) {
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, 'queues × sessionSteps × maxLength must be at most 2^28')
    }
    const seed = opts.seed ?? 0
    if (typeof seed !== 'number' || !Number.isInteger(seed)) {
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `seed must be an integer, got ${describe(seed)}`)
    }
    this.#seed = seed
    this.#shuffle = opts.shuffle ?? true
    this.#buffers = positiveInt(opts.buffers ?? 1, 'buffers')
    this.#minActions = positiveInt(opts.minActions ?? 2, 'minActions')
    const mus = opts.maxUserSessions ?? Number.POSITIVE_INFINITY
    this.#maxUserSessions = mus === Number.POSITIVE_INFINITY ? mus : positiveInt(mus, 'maxUserSessions')
  }

  /** Bytes of the batch arrays (all buffers). */
  get batchBytes(): number {
    const B = this.#B,
      S = this.#S
    return this.#buffers * (B * S * this.#L * POSITION_BYTES + B * S * STEP_BYTES)
  }

  /**
   * Peak bytes of data held: the batch arrays plus, at their peak so far, the queued users'
   * actions (what a reader taking users in partitions would hold). Read it after an epoch.
   */
  get dataBytes(): number {
    return this.batchBytes + this.#peakQueued
  }

  /** Peak bytes of the reader's loaded partitions (0 for a log in memory, which holds it all). */
  get partitionBytes(): number {
    return this.#reader.peakBytes ?? 0
  }

  /** The next epoch's batches (epoch numbers count up from 0 with each iteration). */
  [Symbol.iterator](): Iterator<SessionBatch> {
    return this.epoch(this.#epoch++)
  }

  /** The batches of epoch `e` (the user order depends on seed, e and the partition size only). */
  *epoch(e: number): Generator<SessionBatch> {
    const B = this.#B,
      S = this.#S,
      L = this.#L
    const source = epochUsers(this.#reader, this.#users, this.#seed, e, this.#shuffle)
    const batches = Array.from({ length: this.#buffers }, () => makeBatch(B, S, L))
    // Per slot: FIFO of queued segments (user, first session, end session), the current user,
    // session, segment end and action (relative to the user's first), pieces left.
    const queue: { rec: QueuedUser; s0: number; s1: number }[][] = Array.from({ length: B }, () => [])
    const head = new Int32Array(B)
    const cur: (QueuedUser | undefined)[] = new Array(B).fill(undefined)
    const sess = new Int32Array(B)
    const segStart = new Int32Array(B)
    const segEnd = new Int32Array(B)
    const M = this.#maxUserSessions
    // The user being queued and its next segment's first session, or -1.
    let nextSeg = -1
    let segUser: QueuedUser | undefined
    let more = true
    const at = new Int32Array(B)
    const rem = new Float64Array(B)
    let queued = 0
    for (let index = 0; ; index++) {
      // Refill: while a queue is short of S pieces, the next user (or user segment) goes whole to
      // the shortest one.
      for (;;) {
        let b0 = 0
        for (let b = 1; b < B; b++) if (rem[b] < rem[b0]) b0 = b
        if (rem[b0] >= S || (nextSeg < 0 && !more)) break
        if (nextSeg < 0) {
          const r = source.next()
          if (r.done) {
            more = false
            break
          }
          if (r.value.item.length < this.#minActions) continue
          segUser = r.value
          nextSeg = 0
        }
        const rec = segUser as QueuedUser
        const s0 = nextSeg
        const end = rec.sessionStart.length - 1
        const s1 = end - s0 > M ? s0 + M : end
        nextSeg = s1 === end ? -1 : s1
        queue[b0].push({ rec, s0, s1 })
        rem[b0] += piecesOf(rec.sessionStart, s0, s1, L)
        queued += segmentBytes(rec.sessionStart, s0, s1)
      }
      if (queued > this.#peakQueued) this.#peakQueued = queued
      const batch = batches[index % this.#buffers]
      batch.index = index
      let actions = 0
      let filled = false
      for (let b = 0; b < B; b++) {
        for (let s = 0; s < S; s++) {
          const j = b * S + s
          const base = j * L
          let newUser = false
          if (cur[b] === undefined && head[b] < queue[b].length) {
            const q = queue[b]
            const seg = q[head[b]++]
            cur[b] = seg.rec
            sess[b] = seg.s0
            segStart[b] = seg.s0
            segEnd[b] = seg.s1
            if (head[b] > 64 && head[b] * 2 > q.length) {
              q.splice(0, head[b])
              head[b] = 0
            }
            at[b] = seg.rec.sessionStart[seg.s0]
            newUser = true
          }
          const rec = cur[b]
          if (rec === undefined) {
            batch.length[j] = 0
            batch.carry[j] = 1
            batch.gap[j] = 0
            batch.user[j] = -1
            batch.piece[j] = -1
            batch.offset[j] = -1
            batch.sessionEnd[j] = 0
            batch.input.fill(PAD, base, base + L)
            batch.target.fill(PAD, base, base + L)
            batch.items.fill(PAD, base, base + L)
            continue
          }
          filled = true
          const item = rec.item
          const a = at[b]
          const sStart = rec.sessionStart[sess[b]]
          const sEnd = rec.sessionStart[sess[b] + 1]
          const len = Math.min(L, sEnd - a)
          for (let p = 0; p < len; p++) {
            const it = item[a + p]
            batch.items[base + p] = it
            batch.target[base + p] = a + p === 0 ? PAD : it
            batch.input[base + p] = p === 0 && a === sStart ? SESSION_START : item[a + p - 1]
          }
          actions += a === 0 ? len - 1 : len
          batch.input.fill(PAD, base + len, base + L)
          batch.target.fill(PAD, base + len, base + L)
          batch.items.fill(PAD, base + len, base + L)
          batch.length[j] = len
          batch.carry[j] = newUser ? 0 : 1
          batch.gap[j] = a === 0 ? 0 : rec.time[a] - rec.time[a - 1]
          batch.user[j] = rec.user
          batch.piece[j] = (a - sStart) / L
          batch.offset[j] = rec.offset + a
          batch.sessionEnd[j] = a + len === sEnd ? 1 : 0
          rem[b]--
          at[b] = a + len
          if (a + len === sEnd) {
            sess[b]++
            if (sess[b] === segEnd[b]) {
              cur[b] = undefined
              queued -= segmentBytes(rec.sessionStart, segStart[b], segEnd[b])
            } else {
              at[b] = rec.sessionStart[sess[b]]
            }
          }
        }
      }
      if (!filled) return
      batch.actions = actions
      yield batch
    }
  }
}

/**
 * Bytes a padded-whole-history batching would hold for its largest batch: users taken `batchSize`
 * at a time in the given order (those with fewer than `minActions` actions skipped, as the queue
 * generator does), each batch a [batchSize, T] array per input/target/items (Int32) with T the
 * longest history in it. Compare with {@link SessionBatches.dataBytes}.
 */
export function paddedHistoryBytes(log: InteractionLog, users: Int32Array, batchSize: number, minActions = 2): number {
  positiveInt(batchSize, 'batchSize')
  let peak = 0
  let inBatch = 0
  let longest = 0
  for (let k = 0; k < users.length; k++) {
    const n = log.actionsOf(users[k])
    if (n < minActions) continue
    longest = Math.max(longest, n)
    if (++inBatch === batchSize) {
      peak = Math.max(peak, batchSize * longest * POSITION_BYTES)
      inBatch = 0
      longest = 0
    }
  }
  if (inBatch > 0) peak = Math.max(peak, batchSize * longest * POSITION_BYTES)
  return peak
}
