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

/** Whether this host is little-endian (the blob's byte order): typed-array copies then. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1

/** Encodes a state as a blob. */
export function encodeUserState(s: UserState): Uint8Array {
  return encodeUserStateWith(
    s,
    s.gru.length,
    s.tcn.length,
    (out) => out.set(s.gru),
    (out) => out.set(s.tcn),
  ).blob
}

/**
 * Encodes a state whose stream blobs are written in place: `writeGru` / `writeTcn` get the blob's
 * gruBytes / tcnBytes sections (e.g. `GRUStream.save(stream, out)`), so a step's new state reaches
 * its record with no intermediate copy. Returns the blob and views of the two sections.
 */
export function encodeUserStateWith(
  s: Omit<UserState, 'gru' | 'tcn'>,
  gruBytes: number,
  tcnBytes: number,
  writeGru: (out: Uint8Array) => void,
  writeTcn: (out: Uint8Array) => void,
): { blob: Uint8Array; gru: Uint8Array; tcn: Uint8Array } {
  const D = s.p.length
  const nSeen = s.seen.length
  const bytes = 8 + 16 + 12 + 4 + 8 * D + 4 + 4 * nSeen + 4 + gruBytes + 4 + tcnBytes
  const out = new Uint8Array(bytes)
  const v = new DataView(out.buffer)
  v.setUint32(0, MAGIC, true)
  v.setUint32(4, VERSION, true)
  v.setFloat64(8, s.events, true)
  v.setFloat64(16, s.lastTime, true)
  v.setUint32(24, s.sessionLength, true)
  v.setUint32(28, s.pieceCount, true)
  v.setFloat32(32, s.carry, true)
  v.setUint32(36, D, true)
  let o = 40
  if (LITTLE_ENDIAN) {
    // Every section starts at a multiple of 4 of a fresh buffer: aligned typed-array copies.
    new Float32Array(out.buffer, o, D).set(s.pieceSum)
    new Float32Array(out.buffer, o + 4 * D, D).set(s.p)
    v.setUint32(o + 8 * D, nSeen, true)
    new Int32Array(out.buffer, o + 8 * D + 4, nSeen).set(s.seen)
  } else {
    for (let i = 0; i < D; i++) v.setFloat32(o + 4 * i, s.pieceSum[i], true)
    for (let i = 0; i < D; i++) v.setFloat32(o + 4 * D + 4 * i, s.p[i], true)
    v.setUint32(o + 8 * D, nSeen, true)
    for (let i = 0; i < nSeen; i++) v.setInt32(o + 8 * D + 4 + 4 * i, s.seen[i], true)
  }
  o += 8 * D + 4 + 4 * nSeen
  v.setUint32(o, gruBytes, true)
  const gru = out.subarray(o + 4, o + 4 + gruBytes)
  o += 4 + gruBytes
  v.setUint32(o, tcnBytes, true)
  const tcn = out.subarray(o + 4, o + 4 + tcnBytes)
  if (gruBytes > 0) writeGru(gru)
  writeTcn(tcn)
  return { blob: out, gru, tcn }
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
  const aligned = () => LITTLE_ENDIAN && (blob.byteOffset + o) % 4 === 0
  const f32s = (n: number) => {
    need(4 * n)
    const a = new Float32Array(n)
    if (aligned()) a.set(new Float32Array(blob.buffer, blob.byteOffset + o, n))
    else for (let i = 0; i < n; i++) a[i] = v.getFloat32(o + 4 * i, true)
    o += 4 * n
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
  if (aligned()) seen.set(new Int32Array(blob.buffer, blob.byteOffset + o, nSeen))
  else for (let i = 0; i < nSeen; i++) seen[i] = v.getInt32(o + 4 * i, true)
  o += 4 * nSeen
  const gru = raw()
  const tcn = raw()
  if (o !== blob.length) throw bad('trailing bytes')
  return { events, lastTime, sessionLength, pieceCount, carry, pieceSum, p, seen, gru, tcn }
}
