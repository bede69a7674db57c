/**
 * Interaction logs for next-item recommendation (HierTCN): a CSV of `user_id,session_id,timestamp,item`
 * rows (plain or gzip, any column order, extra columns ignored, `session_id` optional) loaded into a
 * compact columnar form: every action's item and time in two typed arrays, grouped by user and by
 * session (CSR offsets), with the user and item id strings kept once each. The parsing rules and
 * every error are in `interaction-csv.ts`; `partitioned-log.ts` reads the same files a partition of
 * users at a time.
 */
import { ErrorCodes, SimsageError } from '../errors.js'
import { checkPath } from '../io/fs.js'
import { describe } from '../validate.js'
import { checkLoadOptions, type LoadInteractionsOptions, readInteractionRows, SessionKeys } from './interaction-csv.js'
import { Grow, groupByGap, groupBySessionColumn } from './session-group.js'

export { DEFAULT_SESSION_GAP, type LoadInteractionsOptions, parseTimestamp } from './interaction-csv.js'

/** One user's actions (views into the log's arrays, except `sessionStart`). */
export interface UserHistory {
  /** Item index of each action, in order. */
  item: Int32Array
  /** Seconds of each action. */
  time: Float64Array
  /** Offsets of the sessions within `item`/`time`, plus the end: sessions + 1 entries, first 0. */
  sessionStart: Int32Array
}

/** The parts an {@link InteractionLog} is made of. */
interface LogParts {
  source: string
  users: string[]
  items: string[]
  userOffsets: Int32Array
  userSessions: Int32Array
  sessionOffsets: Int32Array
  item: Int32Array
  time: Float64Array
  skipped: number
  sessionColumn: boolean
}

/**
 * A loaded interaction log, columnar. Users and items are dense indices in order of first
 * appearance in the file; actions are grouped by user, then by session, in time order:
 * user `u`'s actions are `[userOffsets[u], userOffsets[u+1])`, its sessions are
 * `[userSessions[u], userSessions[u+1])`, and session `s`'s actions are
 * `[sessionOffsets[s], sessionOffsets[s+1])`.
 */
export class InteractionLog {
  /** The path it was loaded from. */
  readonly source: string
  /** User id strings, by user index. */
  readonly users: string[]
  /** Item id strings, by item index. */
  readonly items: string[]
  /** Item id → item index. */
  readonly itemIndex: Map<string, number>
  /** numUsers + 1 offsets into the action arrays. */
  readonly userOffsets: Int32Array
  /** numUsers + 1 offsets into the sessions. */
  readonly userSessions: Int32Array
  /** numSessions + 1 offsets into the action arrays. */
  readonly sessionOffsets: Int32Array
  /** Item index of every action. */
  readonly item: Int32Array
  /** Seconds of every action. */
  readonly time: Float64Array
  /** Lines skipped while loading (blank lines). */
  readonly skipped: number
  /** Whether sessions came from a `session_id` column (false: cut by the time gap). */
  readonly sessionColumn: boolean

  constructor(p: LogParts) {
    this.source = p.source
    this.users = p.users
    this.items = p.items
    this.itemIndex = new Map(p.items.map((id, i) => [id, i]))
    this.userOffsets = p.userOffsets
    this.userSessions = p.userSessions
    this.sessionOffsets = p.sessionOffsets
    this.item = p.item
    this.time = p.time
    this.skipped = p.skipped
    this.sessionColumn = p.sessionColumn
  }

  get numUsers(): number {
    return this.users.length
  }
  get numItems(): number {
    return this.items.length
  }
  get numActions(): number {
    return this.item.length
  }
  get numSessions(): number {
    return this.sessionOffsets.length - 1
  }
  /** Bytes of the typed arrays (the id strings and maps not counted). */
  get bytes(): number {
    return (
      this.userOffsets.byteLength +
      this.userSessions.byteLength +
      this.sessionOffsets.byteLength +
      this.item.byteLength +
      this.time.byteLength
    )
  }

  /**
   * The same log over another item vocabulary (e.g. a trained model's): item indices are those of
   * `vocabulary`; actions on items it lacks are dropped (a documented, counted skip: `dropped`),
   * and sessions left empty disappear. Users keep their indices.
   */
  withVocabulary(vocabulary: readonly string[]): { log: InteractionLog; dropped: number } {
    const known = new Map(vocabulary.map((id, i) => [id, i]))
    const map = Int32Array.from(this.items, (id) => known.get(id) ?? -1)
    const item: number[] = []
    const time: number[] = []
    const sessionOffsets: number[] = [0]
    const userSessions = new Int32Array(this.numUsers + 1)
    const userOffsets = new Int32Array(this.numUsers + 1)
    for (let u = 0; u < this.numUsers; u++) {
      for (let s = this.userSessions[u]; s < this.userSessions[u + 1]; s++) {
        const before = item.length
        for (let a = this.sessionOffsets[s]; a < this.sessionOffsets[s + 1]; a++) {
          const m = map[this.item[a]]
          if (m < 0) continue
          item.push(m)
          time.push(this.time[a])
        }
        if (item.length > before) sessionOffsets.push(item.length)
      }
      userSessions[u + 1] = sessionOffsets.length - 1
      userOffsets[u + 1] = item.length
    }
    const log = new InteractionLog({
      source: this.source,
      users: this.users,
      items: [...vocabulary],
      userOffsets,
      userSessions,
      sessionOffsets: Int32Array.from(sessionOffsets),
      item: Int32Array.from(item),
      time: Float64Array.from(time),
      skipped: this.skipped,
      sessionColumn: this.sessionColumn,
    })
    return { log, dropped: this.numActions - item.length }
  }

  /** Number of actions of user `u`. */
  actionsOf(u: number): number {
    return this.userOffsets[u + 1] - this.userOffsets[u]
  }

  /** User `u`'s actions and session offsets (relative to the user's first action). */
  user(u: number): UserHistory {
    if (!Number.isInteger(u) || u < 0 || u >= this.numUsers) {
      throw new SimsageError(
        ErrorCodes.INVALID_ARGUMENT,
        `user must be an index in [0, ${this.numUsers}), got ${describe(u)}`,
      )
    }
    const a = this.userOffsets[u]
    const b = this.userOffsets[u + 1]
    const s0 = this.userSessions[u]
    const s1 = this.userSessions[u + 1]
    const sessionStart = new Int32Array(s1 - s0 + 1)
    for (let s = s0; s <= s1; s++) sessionStart[s - s0] = this.sessionOffsets[s] - a
    return { item: this.item.subarray(a, b), time: this.time.subarray(a, b), sessionStart }
  }
}

/**
 * Loads an interaction log from a CSV file (plain, or gzip by its magic bytes). See the module
 * comment for the format and every error; a missing file is ERR_SIMSAGE_NOT_FOUND, a directory or
 * device ERR_SIMSAGE_IO, corrupt gzip ERR_SIMSAGE_CORRUPT_FILE.
 */
export async function loadInteractions(path: string, opts: LoadInteractionsOptions = {}): Promise<InteractionLog> {
  const p = checkPath(path)
  const { gap, maxRows } = checkLoadOptions(opts)
  const rowUser = new Grow((n) => new Int32Array(n))
  const rowItem = new Grow((n) => new Int32Array(n))
  const rowTime = new Grow((n) => new Float64Array(n))
  // With a session column: each row's session.
  const rowSession = new Grow((n) => new Int32Array(n))
  const keys = new SessionKeys(p)
  const read = await readInteractionRows(p, maxRows, opts.onSkip, (u, it, ts, sid, line, uid) => {
    if (sid.length > 0) rowSession.push(keys.session(u, sid, ts, line, uid))
    rowUser.push(u)
    rowItem.push(it)
    rowTime.push(ts)
  })
  const users = read.users
  const rows = { numUsers: users.length, rowUser: rowUser.done(), rowItem: rowItem.done(), rowTime: rowTime.done() }
  const csr = read.sessionColumn
    ? groupBySessionColumn(rows, rowSession.done(), keys.sessionUser.done())
    : groupByGap(rows, gap)
  return new InteractionLog({
    source: p,
    users,
    items: read.items,
    ...csr,
    skipped: read.skipped,
    sessionColumn: read.sessionColumn,
  })
}

/** Action counts per item (numItems entries) over the given users' actions. */
export function itemCounts(log: InteractionLog, users: ArrayLike<number>): Int32Array {
  const counts = new Int32Array(log.numItems)
  for (let k = 0; k < users.length; k++) {
    const u = users[k]
    for (let i = log.userOffsets[u]; i < log.userOffsets[u + 1]; i++) counts[log.item[i]]++
  }
  return counts
}
