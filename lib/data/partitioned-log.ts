/**
 * An interaction log read a partition of users at a time, so the queue generator's memory is
 * bounded by the partition size, not by the file (HierTCN's "user data read in partitions").
 *
 * A CSV(.gz) has no random access and is not sorted by user, so the file is streamed once
 * (`spillInteractions`): user and item ids get their indices (in order of first appearance, as
 * `loadInteractions` assigns them) and every row is appended to the spill file of its user's
 * partition, partition p holding users [p·partitionUsers, (p+1)·partitionUsers). A spill record is
 * `[u32 user − p·partitionUsers][u32 item][f64 seconds][u32 line][u32 session id bytes][session id
 * UTF-8]`, little-endian, in file order. Reading partition p reads its file and groups it with the
 * loader's own code (`session-group.ts`), so its users' sessions and actions are exactly those of
 * the whole log. Each partition is read once at open to check what needs a partition's rows
 * (timestamps going back within a session: MALFORMED_INPUT with the line), after the row checks.
 *
 * Memory: the user and item id strings (O(users + items)), at most 16 MiB of write buffers while
 * spilling (appended to the partition files when full; one file open at a time), and one
 * partition's rows and CSR arrays while it is read. A partition holds `partitionUsers` users,
 * whatever their action counts: a few very heavy users make a big one.
 */
import { appendFileSync, closeSync, fstatSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { ErrorCodes, SimsageError } from '../errors.js'
import { checkPath } from '../io/fs.js'
import { describe } from '../validate.js'
import { checkLoadOptions, type LoadInteractionsOptions, readInteractionRows, SessionKeys } from './interaction-csv.js'
import { groupByGap, groupBySessionColumn, type SessionArrays } from './session-group.js'
import type { QueuedUser, UserReader } from './user-order.js'

/** Options of {@link spillInteractions}. */
export interface SpillOptions extends LoadInteractionsOptions {
  /** Users per partition (consecutive user indices); bounds the memory of a partition read. */
  partitionUsers: number
  /** Parent directory of the spill (default the OS temp directory); `close()` removes the spill. */
  dir?: string
}

/** What a worker needs to read an existing spill ({@link PartitionedLog.spill}). */
export interface SpillDescription {
  source: string
  dir: string
  partitionUsers: number
  numUsers: number
  numItems: number
  sessionColumn: boolean
  sessionGap: number
  /** Rows (actions) of each partition. */
  rows: number[]
}

const FIXED = 24
/** Bytes buffered over all partitions before every buffer is appended to its file. */
const SPILL_BUFFER = 16 << 20

/** A partition's append buffer; files are opened only to append a flush (one descriptor at a time). */
class SpillWriter {
  buf = Buffer.allocUnsafe(4096)
  len = 0
  constructor(readonly path: string) {
    writeFileSync(path, '')
  }
  /** Appends one record; returns the bytes added to the buffer. */
  add(user: number, item: number, time: number, line: number, sid: string): number {
    const need = FIXED + Buffer.byteLength(sid)
    if (this.len + need > this.buf.length) {
      const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + need))
      this.buf.copy(next, 0, 0, this.len)
      this.buf = next
    }
    const b = this.buf
    const o = this.len
    b.writeUInt32LE(user, o)
    b.writeUInt32LE(item, o + 4)
    b.writeDoubleLE(time, o + 8)
    b.writeUInt32LE(line, o + 16)
    b.writeUInt32LE(need - FIXED, o + 20)
    if (need > FIXED) b.write(sid, o + FIXED, 'utf8')
    this.len += need
    return need
  }
  flush(): void {
    if (this.len > 0) appendFileSync(this.path, this.buf.subarray(0, this.len))
    this.len = 0
    this.buf = Buffer.allocUnsafe(4096)
  }
}

/** A spill file read forward in chunks of up to 64 KiB (a record longer than a chunk grows it). */
class SpillChunks {
  buf = Buffer.allocUnsafe(0)
  /** Read position in `buf`, and the end of the bytes read into it. */
  at = 0
  end = 0
  readonly #fd: number | undefined
  constructor(path: string | undefined) {
    this.#fd = path === undefined ? undefined : openSync(path, 'r')
    if (this.#fd !== undefined) this.buf = Buffer.allocUnsafe(Math.max(64, Math.min(1 << 16, fstatSync(this.#fd).size)))
  }
  /** Bytes of the chunk buffer. */
  get size(): number {
    return this.buf.byteLength
  }
  /** The buffer with at least `k` bytes from `at` (a truncated spill is ERR_SIMSAGE_CORRUPT_FILE). */
  need(k: number): Buffer {
    if (this.end - this.at >= k) return this.buf
    if (k > this.buf.length) {
      const next = Buffer.allocUnsafe(k)
      this.buf.copy(next, 0, this.at, this.end)
      this.buf = next
    } else this.buf.copy(this.buf, 0, this.at, this.end)
    this.end -= this.at
    this.at = 0
    while (this.end < k) {
      const got = this.#fd === undefined ? 0 : readSync(this.#fd, this.buf, this.end, this.buf.length - this.end, null)
      if (got === 0) throw new SimsageError(ErrorCodes.CORRUPT_FILE, 'a spill file ends inside a record')
      this.end += got
    }
    return this.buf
  }
  close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd)
  }
}

function checkPartitionUsers(v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 2 ** 31 - 1) {
    throw new SimsageError(
      ErrorCodes.INVALID_ARGUMENT,
      `partitionUsers must be an integer in [1, 2^31), got ${describe(v)}`,
    )
  }
  return v
}

/**
 * Streams `path` once into a partitioned spill (see the module comment) and checks every partition;
 * the same format and errors as `loadInteractions`. Call `close()` when done (removes the spill).
 */
export async function spillInteractions(path: string, opts: SpillOptions): Promise<PartitionedLog> {
  const p = checkPath(path)
  if (opts === null || typeof opts !== 'object') {
    throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `options must be an object, got ${describe(opts)}`)
  }
  const { gap, maxRows } = checkLoadOptions(opts)
  const N = checkPartitionUsers(opts.partitionUsers)
  const dir = mkdtempSync(join(opts.dir ?? tmpdir(), 'simsage-spill-'))
  const writers: SpillWriter[] = []
  const rows: number[] = []
  let buffered = 0
  try {
    const read = await readInteractionRows(p, maxRows, opts.onSkip, (u, it, ts, sid, line) => {
      const part = Math.floor(u / N)
      while (writers.length <= part) {
        writers.push(new SpillWriter(join(dir, `part-${writers.length}.bin`)))
        rows.push(0)
      }
      buffered += writers[part].add(u - part * N, it, ts, line, sid)
      rows[part]++
      if (buffered > SPILL_BUFFER) {
        for (const w of writers) w.flush()
        buffered = 0
      }
    })
    for (const w of writers) w.flush()
    const log = new PartitionedLog(
      {
        source: p,
        dir,
        partitionUsers: N,
        numUsers: read.users.length,
        numItems: read.items.length,
        sessionColumn: read.sessionColumn,
        sessionGap: gap,
        rows,
      },
      read.users,
      read.items,
      true,
    )
    for (let k = 0; k < rows.length; k++) log.read(k)
    log.resetPeak()
    return log
  } catch (e) {
    rmSync(dir, { recursive: true, force: true })
    throw e
  }
}

/** One partition read back: its users' CSR arrays (local user indices) and their place in the log. */
export interface LogPartition extends SessionArrays {
  /** Global index of the partition's first user. */
  firstUser: number
  /** Global action index of the partition's first action. */
  firstAction: number
  /** Bytes of the CSR arrays. */
  bytes: number
}

/** An interaction log spilled by user partition; a {@link UserReader} for `SessionBatches`. */
export class PartitionedLog implements UserReader {
  /** User id strings, by user index (empty when attached from a description). */
  readonly users: readonly string[]
  /** Item id strings, by item index (empty when attached from a description). */
  readonly items: readonly string[]
  readonly #d: SpillDescription
  readonly #firstAction: number[]
  readonly #owner: boolean
  #peak = 0
  #closed = false

  constructor(d: SpillDescription, users: readonly string[], items: readonly string[], owner: boolean) {
    this.#d = { ...d, rows: [...d.rows] }
    this.users = users
    this.items = items
    this.#owner = owner
    this.#firstAction = [0]
    for (const r of d.rows) this.#firstAction.push(this.#firstAction[this.#firstAction.length - 1] + r)
  }

  /** Reads an existing spill (e.g. in a worker); `close()` leaves the files to their owner. */
  static attach(d: SpillDescription): PartitionedLog {
    return new PartitionedLog(d, [], [], false)
  }

  /** The spill's description, to attach to it elsewhere. */
  get spill(): SpillDescription {
    return { ...this.#d, rows: [...this.#d.rows] }
  }
  get source(): string {
    return this.#d.source
  }
  get numUsers(): number {
    return this.#d.numUsers
  }
  get numItems(): number {
    return this.#d.numItems
  }
  get numActions(): number {
    return this.#firstAction[this.#firstAction.length - 1]
  }
  get partitionUsers(): number {
    return this.#d.partitionUsers
  }
  /** Number of partitions. */
  get partitions(): number {
    return this.#d.rows.length
  }
  /** Peak bytes held by one partition read (read chunk + rows + CSR arrays), since open. */
  get peakBytes(): number {
    return this.#peak
  }
  /** Forgets the peak (open reads every partition once to check it). */
  resetPeak(): void {
    this.#peak = 0
  }

  /**
   * Partition `p` read from its spill file (64 KiB at a time) and grouped as the whole log groups
   * it. Held at the peak: the chunk, the rows (20 bytes each) and the CSR arrays.
   */
  read(p: number): LogPartition {
    if (this.#closed) throw new SimsageError(ErrorCodes.DISPOSED, 'the partitioned log is closed')
    const d = this.#d
    const N = d.partitionUsers
    const firstUser = p * N
    const numUsers = Math.max(0, Math.min(N, d.numUsers - firstUser))
    const n = d.rows[p] ?? 0
    const rowUser = new Int32Array(n)
    const rowItem = new Int32Array(n)
    const rowTime = new Float64Array(n)
    const rowSession = new Int32Array(d.sessionColumn ? n : 0)
    const keys = new SessionKeys(d.source)
    const chunk = new SpillChunks(n > 0 ? join(d.dir, `part-${p}.bin`) : undefined)
    try {
      for (let r = 0; r < n; r++) {
        const buf = chunk.need(FIXED)
        let o = chunk.at
        const u = buf.readUInt32LE(o)
        rowUser[r] = u
        rowItem[r] = buf.readUInt32LE(o + 4)
        rowTime[r] = buf.readDoubleLE(o + 8)
        const line = buf.readUInt32LE(o + 16)
        const len = buf.readUInt32LE(o + 20)
        chunk.at += FIXED
        if (len > 0) {
          const b = chunk.need(len)
          o = chunk.at
          const sid = b.toString('utf8', o, o + len)
          rowSession[r] = keys.session(u, sid, rowTime[r], line, this.users[firstUser + u] ?? `#${firstUser + u}`)
          chunk.at += len
        }
      }
    } finally {
      chunk.close()
    }
    const grouped = { numUsers, rowUser, rowItem, rowTime }
    const csr = d.sessionColumn
      ? groupBySessionColumn(grouped, rowSession, keys.sessionUser.done())
      : groupByGap(grouped, d.sessionGap)
    const bytes =
      csr.userOffsets.byteLength +
      csr.userSessions.byteLength +
      csr.sessionOffsets.byteLength +
      csr.item.byteLength +
      csr.time.byteLength
    this.#peak = Math.max(this.#peak, chunk.size + n * 20 + bytes)
    return { ...csr, firstUser, firstAction: this.#firstAction[p], bytes }
  }

  /** Partition p's users `users`, in order; each user's arrays are copies (the partition can go). */
  *partition(p: number, users: Int32Array): Iterable<QueuedUser> {
    if (users.length === 0) return
    const part = this.read(p)
    for (const u of users) {
      const l = u - part.firstUser
      if (l < 0 || l >= part.userOffsets.length - 1) {
        throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `user ${u} is not in partition ${p}`)
      }
      const a = part.userOffsets[l]
      const b = part.userOffsets[l + 1]
      const s0 = part.userSessions[l]
      const s1 = part.userSessions[l + 1]
      const sessionStart = new Int32Array(s1 - s0 + 1)
      for (let s = s0; s <= s1; s++) sessionStart[s - s0] = part.sessionOffsets[s] - a
      yield {
        item: part.item.slice(a, b),
        time: part.time.slice(a, b),
        sessionStart,
        user: u,
        offset: part.firstAction + a,
      }
    }
  }

  /** Removes the spill files (when this object made them); reads after it are ERR_SIMSAGE_DISPOSED. */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    if (this.#owner) rmSync(this.#d.dir, { recursive: true, force: true })
  }
}
