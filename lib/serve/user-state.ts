/**
 * One user's HierTCN streaming state and its blob encoding (what the state store holds).
 *
 * Blob layout, little-endian: u32 magic 'SHST', u32 format version (1), f64 events, f64 lastTime
 * (NaN: none), u32 sessionLength, u32 pieceCount, f32 carry, u32 D, f32 pieceSum[D], f32 p[D],
 * u32 nSeen, i32 seen[nSeen], u32 gruBytes, the GRU state blob (absent model level: 0 bytes),
 * u32 tcnBytes, the TCN stream blob. The two inner blobs carry their own shape fingerprint and CRC.
 */
import { ErrorCodes, SimsageError } from '../errors.js'

/** A user's streaming state, decoded. */
export interface UserState {
  /** Events applied so far (the sequence number of the latest). */
  events: number
  /** Seconds of the latest event that gave a time, NaN when none did. */
  lastTime: number
  /** Actions in the current session. */
  sessionLength: number
  /** Actions in the current session piece (the GRU consumes a piece's mean when it closes). */
  pieceCount: number
  /** Multiplier of the user-level state for the current piece (the between-session decay). */
  carry: number
  /** Sum of the current piece's item projections [D]. */
  pieceSum: Float32Array
  /** The prediction for the next item [D]: item scores are p · O[item] + bias[item]. */
  p: Float32Array
  /** Item indices seen, oldest first (distinct, the most recent `maxSeen`). */
  seen: Int32Array
  /** GRUStream blob of the user-level GRU (empty without a user level). */
  gru: Uint8Array
  /** TCNStream blob of the session-level TCN. */
  tcn: Uint8Array
}

const MAGIC = 0x54534853 // 'SHST'
const VERSION = 1

/** Encodes a state as a blob. */
export function encodeUserState(s: UserState): Uint8Array {
  const D = s.p.length
  const bytes = 8 + 16 + 12 + 4 + 8 * D + 4 + 4 * s.seen.length + 4 + s.gru.length + 4 + s.tcn.length
  const out = new Uint8Array(bytes)
  const v = new DataView(out.buffer)
  let o = 0
  const u32 = (x: number) => {
    v.setUint32(o, x, true)
    o += 4
  }
  const f32s = (a: ArrayLike<number>) => {
    for (let i = 0; i < a.length; i++, o += 4) v.setFloat32(o, a[i], true)
  }
  const raw = (b: Uint8Array) => {
    u32(b.length)
    out.set(b, o)
    o += b.length
  }
  u32(MAGIC)
  u32(VERSION)
  v.setFloat64(o, s.events, true)
  v.setFloat64(o + 8, s.lastTime, true)
  o += 16
  u32(s.sessionLength)
  u32(s.pieceCount)
  v.setFloat32(o, s.carry, true)
  o += 4
  u32(D)
  f32s(s.pieceSum)
  f32s(s.p)
  u32(s.seen.length)
  for (let i = 0; i < s.seen.length; i++, o += 4) v.setInt32(o, s.seen[i], true)
  raw(s.gru)
  raw(s.tcn)
  return out
}

/**
 * Decodes a blob from {@link encodeUserState}; a damaged one is ERR_SIMSAGE_CORRUPT_FILE. With
 * `copy: false` the `gru` and `tcn` fields are views into `blob` (no copy of the largest parts),
 * for a caller that only reads them while `blob` is unchanged.
 */
export function decodeUserState(blob: Uint8Array, dim: number, options: { copy?: boolean } = {}): UserState {
  const copy = options.copy ?? true
  const bad = (why: string) => new SimsageError(ErrorCodes.CORRUPT_FILE, `a stored user state is damaged: ${why}`)
  const v = new DataView(blob.buffer, blob.byteOffset, blob.byteLength)
  let o = 0
  const need = (n: number) => {
    if (o + n > blob.length) throw bad('truncated')
  }
  const u32 = () => {
    need(4)
    const x = v.getUint32(o, true)
    o += 4
    return x
  }
  const f32s = (n: number) => {
    need(4 * n)
    const a = new Float32Array(n)
    for (let i = 0; i < n; i++, o += 4) a[i] = v.getFloat32(o, true)
    return a
  }
  const raw = () => {
    const n = u32()
    need(n)
    const b = copy ? blob.slice(o, o + n) : blob.subarray(o, o + n)
    o += n
    return b
  }
  if (u32() !== MAGIC) throw bad('not a user state')
  const version = u32()
  if (version !== VERSION) throw bad(`format version ${version}`)
  need(16)
  const events = v.getFloat64(o, true)
  const lastTime = v.getFloat64(o + 8, true)
  o += 16
  const sessionLength = u32()
  const pieceCount = u32()
  need(4)
  const carry = v.getFloat32(o, true)
  o += 4
  const D = u32()
  if (D !== dim) {
    throw new SimsageError(ErrorCodes.STATE_MISMATCH, `a stored user state has D = ${D}, the model ${dim}`)
  }
  const pieceSum = f32s(D)
  const p = f32s(D)
  const nSeen = u32()
  need(4 * nSeen)
  const seen = new Int32Array(nSeen)
  for (let i = 0; i < nSeen; i++, o += 4) seen[i] = v.getInt32(o, true)
  const gru = raw()
  const tcn = raw()
  if (o !== blob.length) throw bad('trailing bytes')
  return { events, lastTime, sessionLength, pieceCount, carry, pieceSum, p, seen, gru, tcn }
}
