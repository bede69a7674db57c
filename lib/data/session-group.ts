/**
 * Grouping parsed interaction rows into the log's CSR layout (internal): actions by user, then by
 * session, in time order. Shared by the in-memory loader and the partition reader, so a partition's
 * users come out exactly as they do in the whole log.
 */

/** An append-only typed array that doubles as it grows. */
export class Grow<T extends Int32Array | Float64Array> {
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

/** Rows in file order: user (dense, [0, numUsers)), item and seconds per row. */
export interface Rows {
  numUsers: number
  rowUser: Int32Array
  rowItem: Int32Array
  rowTime: Float64Array
}

/**
 * The CSR arrays of a log: user `u`'s actions are `[userOffsets[u], userOffsets[u+1])`, its
 * sessions `[userSessions[u], userSessions[u+1])`, session `s`'s actions
 * `[sessionOffsets[s], sessionOffsets[s+1])`; `item` and `time` per action.
 */
export interface SessionArrays {
  userOffsets: Int32Array
  userSessions: Int32Array
  sessionOffsets: Int32Array
  item: Int32Array
  time: Float64Array
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

/**
 * Sessions from a session column: `rowSession` per row, `sessionUser` per session (sessions
 * numbered in order of first appearance). A user's sessions are ordered by first time, ties by
 * that order; rows in a session keep file order.
 */
export function groupBySessionColumn(r: Rows, rowSession: Int32Array, sessionUser: Int32Array): SessionArrays {
  const n = r.rowItem.length
  const numSessions = sessionUser.length
  const numUsers = r.numUsers
  const bySession = countingSort(rowSession, numSessions)
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
  return { userOffsets, userSessions: byUser.offsets, sessionOffsets, item, time }
}

/** Sessions by time gap: a user's rows sorted by time (stable), cut where the gap exceeds `gap`. */
export function groupByGap(r: Rows, gap: number): SessionArrays {
  const n = r.rowItem.length
  const numUsers = r.numUsers
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
  return { userOffsets, userSessions, sessionOffsets: sessionOffsets.done().slice(), item, time }
}
