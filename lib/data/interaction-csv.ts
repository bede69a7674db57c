/**
 * Interaction-log CSV rows (internal): the header, the per-row checks and the session keys shared
 * by the in-memory loader (`sessions.ts`) and the partitioned spill (`partitioned-log.ts`).
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
import { describe } from '../validate.js'
import { csvRecords, malformed } from './csv.js'
import { Grow } from './session-group.js'

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

/** Checks loader options; returns the session gap and the row limit. */
export function checkLoadOptions(opts: LoadInteractionsOptions): { gap: number; maxRows: number } {
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

/** One checked data row: user and item indices (first appearance), seconds, session id or ''. */
export type RowSink = (user: number, item: number, time: number, session: string, line: number, userId: string) => void

/** What {@link readInteractionRows} saw besides the rows. */
export interface RowsRead {
  users: string[]
  items: string[]
  rows: number
  skipped: number
  sessionColumn: boolean
}

/**
 * Streams the checked data rows of `path` (plain or gzip) into `sink`, assigning user and item
 * indices in order of first appearance. Memory: the id strings and one CSV chunk.
 */
export async function readInteractionRows(
  path: string,
  maxRows: number,
  onSkip: LoadInteractionsOptions['onSkip'],
  sink: RowSink,
): Promise<RowsRead> {
  const userIds = new Map<string, number>()
  const users: string[] = []
  const itemIds = new Map<string, number>()
  const items: string[] = []
  let header: ReturnType<typeof readHeader> | undefined
  let skipped = 0
  let rows = 0
  reading: for await (const records of csvRecords(path, 'load interactions from')) {
    for (const { line, fields } of records) {
      if (fields === null) {
        skipped++
        onSkip?.(line, 'blank line')
        continue
      }
      if (header === undefined) {
        header = readHeader(fields, path, line)
        continue
      }
      if (fields.length !== header.width) {
        throw malformed(path, line, `${fields.length} fields, the header has ${header.width}`)
      }
      const uid = fields[header.user]
      if (uid.length === 0) throw malformed(path, line, 'empty user_id')
      const iid = fields[header.item]
      if (iid.length === 0) throw malformed(path, line, 'empty item')
      const ts = parseTimestamp(fields[header.time])
      if (Number.isNaN(ts)) {
        throw malformed(
          path,
          line,
          `timestamp ${describe(fields[header.time])} is not a number of seconds or an ISO-8601 date`,
        )
      }
      let sid = ''
      if (header.session >= 0) {
        sid = fields[header.session]
        if (sid.length === 0) throw malformed(path, line, 'empty session_id')
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
      sink(u, it, ts, sid, line, uid)
      if (++rows >= maxRows) break reading
    }
  }
  if (header === undefined) throw malformed(path, 1, 'the file is empty (no header, no rows)')
  if (rows === 0) throw malformed(path, 1, 'the file has a header but no interaction rows')
  return { users, items, rows, skipped, sessionColumn: header.session >= 0 }
}

/**
 * Sessions of a `session_id` log: one per (user, session_id) pair, numbered in order of first
 * appearance; a row older than its session's previous row is MALFORMED_INPUT.
 */
export class SessionKeys {
  readonly #keys = new Map<string, number>()
  /** User of each session. */
  readonly sessionUser = new Grow((n) => new Int32Array(n))
  readonly #last = new Grow((n) => new Float64Array(n))
  #lastUser = -1
  #lastSid = ''
  #lastSession = -1

  constructor(private readonly path: string) {}

  /** The session of a row of user `u` (id `userId`) at `line` of the file. */
  session(u: number, sid: string, ts: number, line: number, userId: string): number {
    let s = this.#lastSession
    if (u !== this.#lastUser || sid !== this.#lastSid) {
      const key = `${u}\u0000${sid}`
      const found = this.#keys.get(key)
      if (found === undefined) {
        s = this.sessionUser.length
        this.#keys.set(key, s)
        this.sessionUser.push(u)
        this.#last.push(ts)
      } else {
        s = found
      }
      this.#lastUser = u
      this.#lastSid = sid
      this.#lastSession = s
    }
    const prev = this.#last.data[s]
    if (ts < prev) {
      throw malformed(
        this.path,
        line,
        `timestamp ${ts} goes back in time within session ${describe(sid)} of user ${describe(userId)} (previous ${prev})`,
      )
    }
    this.#last.data[s] = ts
    return s
  }
}
