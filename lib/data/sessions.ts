/**
 * Interaction logs for next-item recommendation (HierTCN): a CSV of `user_id,session_id,timestamp,item`
 * rows (plain or gzip, any column order, extra columns ignored, `session_id` optional) loaded into a
 * compact columnar form: every action's item and time in two typed arrays, grouped by user and by
 * session (CSR offsets), with the user and item id strings kept once each.
 *
 * Parsing rules (each failure is ERR_SIMSAGE_MALFORMED_INPUT with `path:line` in the message):
 * - The first non-blank row is the header. Column names are matched trimmed and case-insensitively;
 *   `user_id`, `timestamp` and `item` are required, `session_id` is optional, others are ignored; a
 *   required or session column named twice is an error.
 * - Every row must have as many fields as the header. `user_id` and `item` must be non-empty
 *   (compared as exact strings: no trimming); `session_id`, when the column exists, must be non-empty.
 * - `timestamp` is seconds: a decimal number (integer or float, optional exponent), or an ISO-8601
 *   date/date-time (`2024-01-31`, `2024-01-31T12:00:00.5Z`, `2024-01-31 12:00:00+02:00`; without a
 *   zone it is UTC, never the machine's local time). Anything else (empty, `NaN`, `1e999`) is an error.
 * - Blank lines are skipped and counted (`skipped`, `onSkip`); they are the only skip.
 * - With `session_id`: a session is one (user, session_id) pair; its rows must not go back in time
 *   (a row older than the previous row of the same session is an error). A user's sessions are
 *   ordered by their first timestamp, ties by file order; rows inside a session keep file order.
 * - Without `session_id`: a user's rows are sorted by time (stable, so rows with equal timestamps keep
 *   file order) and a new session starts where the gap to the previous action exceeds `sessionGap`.
 * - An empty file, or one with a header and no rows, is an error.
 */
import { ErrorCodes, SimsageError } from '../errors.js'
import { checkPath } from '../io/fs.js'
import { describe } from '../validate.js'
import { csvRecords, malformed } from './csv.js'

/** Default `sessionGap`: 30 minutes, the session cut of GRU4Rec and most session-based work. */
export const DEFAULT_SESSION_GAP = 1800

/** Options of {@link loadInteractions}. */
export interface LoadInteractionsOptions {
  /**
   * Seconds: without a `session_id` column, a user's next action starts a new session when it comes
   * more than this after the previous one (default {@link DEFAULT_SESSION_GAP}). Ignored otherwise.
   */
  sessionGap?: number
  /** Stop after this many data rows (blank lines not counted). Default: all. */
  maxRows?: number
  /** Called for every skipped line (1-based line number, reason). */
  onSkip?: (line: number, reason: string) => void
}

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

/** An append-only typed array that doubles as it grows. */
class Grow<T extends Int32Array | Float64Array> {
  data: T
  length = 0
  constructor(private readonly make: (n: number) => T) {
    this.data = make(1024)
  }
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = this.make(this.data.length * 2)
      next.set(this.data)
      this.data = next
    }
    this.data[this.length++] = v
  }
  done(): T {
    return this.data.subarray(0, this.length) as T
  }
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/
const ISO = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(Z|[+-]\d{2}:?\d{2})?)?$/

/** Seconds from a timestamp field, or NaN when it is neither a decimal number nor an ISO-8601 date. */
export function parseTimestamp(field: string): number {
  const s = field.trim()
  if (NUMBER.test(s)) {
    const v = Number(s)
    return Number.isFinite(v) ? v : Number.NaN
  }
  const m = ISO.exec(s)
  if (!m) return Number.NaN
  let zone = m[3] ?? 'Z'
  if (zone !== 'Z' && zone.length === 5) zone = `${zone.slice(0, 3)}:${zone.slice(3)}`
  const ms = Date.parse(`${m[1]}T${m[2] ?? '00:00:00'}${zone}`)
  return Number.isFinite(ms) ? ms / 1000 : Number.NaN
}

function checkOptions(opts: LoadInteractionsOptions): { gap: number; maxRows: number } {
  if (opts === null || typeof opts !== 'object') {
    throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `options must be an object, got ${describe(opts)}`)
  }
  const gap = opts.sessionGap ?? DEFAULT_SESSION_GAP
  if (typeof gap !== 'number' || !Number.isFinite(gap) || gap < 0) {
    throw new SimsageError(
      ErrorCodes.INVALID_ARGUMENT,
      `sessionGap must be a finite number of seconds >= 0, got ${describe(gap)}`,
    )
  }
  const maxRows = opts.maxRows ?? Number.POSITIVE_INFINITY
  if (maxRows !== Number.POSITIVE_INFINITY && (!Number.isSafeInteger(maxRows) || maxRows < 1)) {
    throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `maxRows must be a positive integer, got ${describe(maxRows)}`)
  }
  if (opts.onSkip !== undefined && typeof opts.onSkip !== 'function') {
    throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `onSkip must be a function, got ${describe(opts.onSkip)}`)
  }
  return { gap, maxRows }
}

/** Column positions from the header row. */
function readHeader(fields: string[], path: string, line: number) {
  const names = fields.map((f) => f.trim().toLowerCase())
  const find = (name: string, required: boolean): number => {
    const i = names.indexOf(name)
    if (i < 0 && required) {
      throw malformed(path, line, `the header has no "${name}" column (columns: ${names.join(', ')})`)
    }
    if (i >= 0 && names.indexOf(name, i + 1) >= 0) throw malformed(path, line, `the header names "${name}" twice`)
    return i
  }
  return {
    user: find('user_id', true),
    session: find('session_id', false),
    time: find('timestamp', true),
    item: find('item', true),
    width: fields.length,
  }
}

/**
 * Loads an interaction log from a CSV file (plain, or gzip by its magic bytes). See the module
 * comment for the format and every error; a missing file is ERR_SIMSAGE_NOT_FOUND, a directory or
 * device ERR_SIMSAGE_IO, corrupt gzip ERR_SIMSAGE_CORRUPT_FILE.
 */
export async function loadInteractions(path: string, opts: LoadInteractionsOptions = {}): Promise<InteractionLog> {
  const p = checkPath(path)
  const { gap, maxRows } = checkOptions(opts)
  const onSkip = opts.onSkip

  const userIds = new Map<string, number>()
  const users: string[] = []
  const itemIds = new Map<string, number>()
  const items: string[] = []
  const rowUser = new Grow((n) => new Int32Array(n))
  const rowItem = new Grow((n) => new Int32Array(n))
  const rowTime = new Grow((n) => new Float64Array(n))
  // With a session column: each row's session, and per session its user and last time.
  const rowSession = new Grow((n) => new Int32Array(n))
  const sessionKeys = new Map<string, number>()
  const sessionUser = new Grow((n) => new Int32Array(n))
  const sessionLast = new Grow((n) => new Float64Array(n))
  let lastUser = -1
  let lastSid = ''
  let lastSession = -1

  let header: ReturnType<typeof readHeader> | undefined
  let skipped = 0
  let rows = 0
  reading: for await (const records of csvRecords(p, 'load interactions from')) {
    for (const { line, fields } of records) {
      if (fields === null) {
        skipped++
        onSkip?.(line, 'blank line')
        continue
      }
      if (header === undefined) {
        header = readHeader(fields, p, line)
        continue
      }
      if (fields.length !== header.width) {
        throw malformed(p, line, `${fields.length} fields, the header has ${header.width}`)
      }
      const uid = fields[header.user]
      if (uid.length === 0) throw malformed(p, line, 'empty user_id')
      const iid = fields[header.item]
      if (iid.length === 0) throw malformed(p, line, 'empty item')
      const ts = parseTimestamp(fields[header.time])
      if (Number.isNaN(ts)) {
        throw malformed(
          p,
          line,
          `timestamp ${describe(fields[header.time])} is not a number of seconds or an ISO-8601 date`,
        )
      }
      let u = userIds.get(uid)
      if (u === undefined) {
        u = users.length
        userIds.set(uid, u)
        users.push(uid)
      }
      let it = itemIds.get(iid)
      if (it === undefined) {
        it = items.length
        itemIds.set(iid, it)
        items.push(iid)
      }
      if (header.session >= 0) {
        const sid = fields[header.session]
        if (sid.length === 0) throw malformed(p, line, 'empty session_id')
        let s = lastSession
        if (u !== lastUser || sid !== lastSid) {
          const key = `${u}\u0000${sid}`
          const found = sessionKeys.get(key)
          if (found === undefined) {
            s = sessionUser.length
            sessionKeys.set(key, s)
            sessionUser.push(u)
            sessionLast.push(ts)
          } else {
            s = found
          }
          lastUser = u
          lastSid = sid
          lastSession = s
        }
        const prev = sessionLast.data[s]
        if (ts < prev) {
          throw malformed(
            p,
            line,
            `timestamp ${ts} goes back in time within session ${describe(sid)} of user ${describe(uid)} (previous ${prev})`,
          )
        }
        sessionLast.data[s] = ts
        rowSession.push(s)
      }
      rowUser.push(u)
      rowItem.push(it)
      rowTime.push(ts)
      if (++rows >= maxRows) break reading
    }
  }
  if (header === undefined) throw malformed(p, 1, 'the file is empty (no header, no rows)')
  if (rows === 0) throw malformed(p, 1, 'the file has a header but no interaction rows')

  const parts = {
    source: p,
    users,
    items,
    skipped,
    rowUser: rowUser.done(),
    rowItem: rowItem.done(),
    rowTime: rowTime.done(),
  }
  return header.session >= 0
    ? groupBySessionColumn(parts, rowSession.done(), sessionUser.done())
    : groupByGap(parts, gap)
}

interface Rows {
  source: string
  users: string[]
  items: string[]
  skipped: number
  rowUser: Int32Array
  rowItem: Int32Array
  rowTime: Float64Array
}

/** Stable counting sort of 0..n-1 by `key` (values in [0, k)); returns the order and the k+1 offsets. */
function countingSort(key: Int32Array, k: number): { order: Int32Array; offsets: Int32Array } {
  const offsets = new Int32Array(k + 1)
  for (let i = 0; i < key.length; i++) offsets[key[i] + 1]++
  for (let i = 0; i < k; i++) offsets[i + 1] += offsets[i]
  const fill = offsets.slice(0, k)
  const order = new Int32Array(key.length)
  for (let i = 0; i < key.length; i++) order[fill[key[i]]++] = i
  return { order, offsets }
}

function groupBySessionColumn(r: Rows, rowSession: Int32Array, sessionUser: Int32Array): InteractionLog {
  const n = r.rowItem.length
  const numSessions = sessionUser.length
  const numUsers = r.users.length
  const bySession = countingSort(rowSession, numSessions)
  // Sessions of each user (in order of first appearance), then ordered by first time, ties by that order.
  const byUser = countingSort(sessionUser, numUsers)
  const start = (s: number) => r.rowTime[bySession.order[bySession.offsets[s]]]
  for (let u = 0; u < numUsers; u++) {
    const a = byUser.offsets[u]
    const b = byUser.offsets[u + 1]
    let sorted = true
    for (let i = a + 1; i < b && sorted; i++) sorted = start(byUser.order[i - 1]) <= start(byUser.order[i])
    if (!sorted) {
      const seg = Array.from(byUser.order.subarray(a, b)).sort((x, y) => start(x) - start(y) || x - y)
      byUser.order.set(seg, a)
    }
  }
  const item = new Int32Array(n)
  const time = new Float64Array(n)
  const sessionOffsets = new Int32Array(numSessions + 1)
  const userOffsets = new Int32Array(numUsers + 1)
  let at = 0
  for (let u = 0; u < numUsers; u++) {
    for (let i = byUser.offsets[u]; i < byUser.offsets[u + 1]; i++) {
      const s = byUser.order[i]
      for (let j = bySession.offsets[s]; j < bySession.offsets[s + 1]; j++) {
        const row = bySession.order[j]
        item[at] = r.rowItem[row]
        time[at] = r.rowTime[row]
        at++
      }
      sessionOffsets[i + 1] = at
    }
    userOffsets[u + 1] = at
  }
  return new InteractionLog({
    source: r.source,
    users: r.users,
    items: r.items,
    userOffsets,
    userSessions: byUser.offsets,
    sessionOffsets,
    item,
    time,
    skipped: r.skipped,
    sessionColumn: true,
  })
}

function groupByGap(r: Rows, gap: number): InteractionLog {
  const n = r.rowItem.length
  const numUsers = r.users.length
  const { order, offsets: userOffsets } = countingSort(r.rowUser, numUsers)
  for (let u = 0; u < numUsers; u++) {
    const a = userOffsets[u]
    const b = userOffsets[u + 1]
    let sorted = true
    for (let i = a + 1; i < b && sorted; i++) sorted = r.rowTime[order[i - 1]] <= r.rowTime[order[i]]
    if (!sorted) {
      const seg = Array.from(order.subarray(a, b)).sort((x, y) => r.rowTime[x] - r.rowTime[y] || x - y)
      order.set(seg, a)
    }
  }
  const item = new Int32Array(n)
  const time = new Float64Array(n)
  const sessionOffsets = new Grow((k) => new Int32Array(k))
  const userSessions = new Int32Array(numUsers + 1)
  sessionOffsets.push(0)
  for (let u = 0; u < numUsers; u++) {
    for (let i = userOffsets[u]; i < userOffsets[u + 1]; i++) {
      item[i] = r.rowItem[order[i]]
      time[i] = r.rowTime[order[i]]
      if (i > userOffsets[u] && time[i] - time[i - 1] > gap) sessionOffsets.push(i)
    }
    sessionOffsets.push(userOffsets[u + 1])
    userSessions[u + 1] = sessionOffsets.length - 1
  }
  return new InteractionLog({
    source: r.source,
    users: r.users,
    items: r.items,
    userOffsets,
    userSessions,
    sessionOffsets: sessionOffsets.done().slice(),
    item,
    time,
    skipped: r.skipped,
    sessionColumn: false,
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
