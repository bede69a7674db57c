/**
 * The saved index file (format version 1). Little-endian throughout.
 *
 * | offset | size | field |
 * | --- | --- | --- |
 * | 0 | 8 | magic `SSGIDX\r\n` (the CR LF catches text-mode mangling) |
 * | 8 | 4 | u32 format version (1) |
 * | 12 | 4 | u32 dim |
 * | 16 | 4 | u32 metric: 0 ip, 1 cosine, 2 l2 |
 * | 20 | 4 | u32 flags: bit 0 = vectors are unit length (cosine) |
 * | 24 | 8 | u64 count (rows) |
 * | 32 | 4 | u32 metadata length M (bytes of UTF-8 JSON) |
 * | 36 | 28 | reserved, zero |
 * | 64 | M | metadata JSON (an object: user metadata such as the model name and normalisation) |
 * | V = align64(64 + M) | count x dim x 4 | vectors, f32, row-major |
 * | V + count x dim x 4 | count x 8 | ids, i64 |
 * | end - 32 | 32 | SHA-256 of every byte before it |
 *
 * Files are written atomically (temporary file, fsync, rename: write-file-atomic), so a crash never
 * leaves a half-written index under the target name; `readIndexFile` verifies size, magic, version,
 * fields and checksum before anything is built from it.
 */
import { createHash } from 'node:crypto'
import { open, readFile } from 'node:fs/promises'
import { setImmediate as nextTurn } from 'node:timers/promises'

import writeFileAtomic from 'write-file-atomic'

import { ErrorCodes, SimsageError } from '../errors.js'
import type { Metric } from '../similarity/types.js'

export const MAGIC = Buffer.from('SSGIDX\r\n', 'latin1')
export const FORMAT_VERSION = 1
const HEADER = 64
const DIGEST = 32
const METRIC_CODES: Metric[] = ['ip', 'cosine', 'l2']

/** What a file holds. */
export interface IndexFileContents {
  dim: number
  metric: Metric
  normalized: boolean
  count: number
  metadata: Record<string, unknown>
  /** count x dim; a view into the file's bytes where aligned, else a copy. */
  vectors: Float32Array
  /** count ids as stored (signed 64-bit); the index's add range-checks them. */
  ids: BigInt64Array
}

const align64 = (n: number) => Math.ceil(n / 64) * 64

/** Lays out a file for `count` rows; `fill` writes vectors and ids into the views it is given. */
export function encodeIndexFile(
  head: { dim: number; metric: Metric; normalized: boolean; count: number; metadata: Record<string, unknown> },
  fill: (vectors: Float32Array, ids: Float64Array) => void,
): Buffer {
  const meta = Buffer.from(JSON.stringify(head.metadata ?? {}), 'utf8')
  const vecOffset = align64(HEADER + meta.length)
  const vecBytes = head.count * head.dim * 4
  const idOffset = vecOffset + vecBytes
  const total = idOffset + head.count * 8 + DIGEST
  const buf = Buffer.alloc(total)
  MAGIC.copy(buf, 0)
  buf.writeUInt32LE(FORMAT_VERSION, 8)
  buf.writeUInt32LE(head.dim, 12)
  buf.writeUInt32LE(METRIC_CODES.indexOf(head.metric), 16)
  buf.writeUInt32LE(head.normalized ? 1 : 0, 20)
  buf.writeBigUInt64LE(BigInt(head.count), 24)
  buf.writeUInt32LE(meta.length, 32)
  meta.copy(buf, HEADER)
  const vectors = new Float32Array(buf.buffer, buf.byteOffset + vecOffset, head.count * head.dim)
  const ids = new Float64Array(head.count)
  fill(vectors, ids)
  // Not a BigInt64Array view: idOffset is only 4-byte aligned when count x dim is odd.
  for (let i = 0; i < head.count; i++) buf.writeBigInt64LE(BigInt(ids[i]), idOffset + i * 8)
  createHash('sha256')
    .update(buf.subarray(0, total - DIGEST))
    .digest()
    .copy(buf, total - DIGEST)
  return buf
}

/** Writes a file atomically. */
export async function writeIndexFile(path: string, data: Buffer): Promise<void> {
  if (typeof path !== 'string' || path.length === 0) {
    throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, 'path must be a non-empty string')
  }
  await writeFileAtomic(path, data, { fsync: true })
}

function corrupt(path: string, why: string): SimsageError {
  return new SimsageError(ErrorCodes.CORRUPT_FILE, `${path} is not a valid simsage index: ${why}`)
}

/** Bytes hashed between two yields to the event loop when reading (~0.5-3 ms of SHA-256). */
const HASH_STEP = 1 << 20

/**
 * Reads and verifies a file without blocking the event loop for the whole file: it is read
 * asynchronously and hashed in 1 MiB steps with a yield between them. Throws
 * ERR_SIMSAGE_CORRUPT_FILE on any inconsistency, ERR_SIMSAGE_UNSUPPORTED on an unknown version.
 */
export async function readIndexFile(path: string): Promise<IndexFileContents> {
  if (typeof path !== 'string' || path.length === 0) {
    throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, 'path must be a non-empty string')
  }
  const fh = await open(path, 'r')
  let buf: Buffer
  try {
    buf = await readFile(fh)
  } finally {
    await fh.close()
  }
  const layout = parseLayout(buf, path)
  const hash = createHash('sha256')
  for (let at = 0; at < layout.end; at += HASH_STEP) {
    hash.update(buf.subarray(at, Math.min(at + HASH_STEP, layout.end)))
    if (at + HASH_STEP < layout.end) await nextTurn()
  }
  checkDigest(hash.digest(), buf, layout, path)
  return decodeBody(buf, layout, path)
}

/** Verifies and decodes a file's bytes (synchronously). */
export function decodeIndexFile(buf: Buffer, path = '<buffer>'): IndexFileContents {
  const layout = parseLayout(buf, path)
  checkDigest(createHash('sha256').update(buf.subarray(0, layout.end)).digest(), buf, layout, path)
  return decodeBody(buf, layout, path)
}

interface Layout {
  dim: number
  metricCode: number
  flags: number
  count: number
  metaLen: number
  vecOffset: number
  idOffset: number
  /** Where the digest starts (= bytes it covers). */
  end: number
}

/** Checks the header and the total size against it. */
function parseLayout(buf: Buffer, path: string): Layout {
  if (buf.length < HEADER + DIGEST) throw corrupt(path, `too short (${buf.length} bytes)`)
  if (!buf.subarray(0, 8).equals(MAGIC)) throw corrupt(path, 'wrong magic bytes')
  const version = buf.readUInt32LE(8)
  if (version !== FORMAT_VERSION) {
    throw new SimsageError(
      ErrorCodes.UNSUPPORTED,
      `${path}: index format version ${version} is not supported (this build reads ${FORMAT_VERSION})`,
    )
  }
  const dim = buf.readUInt32LE(12)
  const metricCode = buf.readUInt32LE(16)
  const flags = buf.readUInt32LE(20)
  const count64 = buf.readBigUInt64LE(24)
  const metaLen = buf.readUInt32LE(32)
  if (dim < 1 || dim > 1 << 20) throw corrupt(path, `bad dim ${dim}`)
  if (metricCode >= METRIC_CODES.length) throw corrupt(path, `bad metric code ${metricCode}`)
  if (count64 > BigInt(Number.MAX_SAFE_INTEGER)) throw corrupt(path, 'bad count')
  const count = Number(count64)
  const vecOffset = align64(HEADER + metaLen)
  const idOffset = vecOffset + count * dim * 4
  const end = idOffset + count * 8
  const expected = end + DIGEST
  if (buf.length !== expected) {
    throw corrupt(
      path,
      buf.length < expected
        ? `truncated (${buf.length} of ${expected} bytes)`
        : `${buf.length - expected} unexpected trailing bytes`,
    )
  }
  return { dim, metricCode, flags, count, metaLen, vecOffset, idOffset, end }
}

function checkDigest(digest: Buffer, buf: Buffer, l: Layout, path: string): void {
  if (!digest.equals(buf.subarray(l.end))) throw corrupt(path, 'checksum mismatch (the file was modified or damaged)')
}

function decodeBody(buf: Buffer, l: Layout, path: string): IndexFileContents {
  let metadata: Record<string, unknown>
  try {
    metadata = JSON.parse(buf.subarray(HEADER, HEADER + l.metaLen).toString('utf8'))
  } catch {
    throw corrupt(path, 'metadata is not valid JSON')
  }
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata))
    throw corrupt(path, 'metadata is not an object')
  return {
    dim: l.dim,
    metric: METRIC_CODES[l.metricCode],
    normalized: (l.flags & 1) === 1,
    count: l.count,
    metadata,
    vectors: view(buf, l.vecOffset, l.count * l.dim, Float32Array),
    ids: view(buf, l.idOffset, l.count, BigInt64Array),
  }
}

/**
 * A typed view into buf where the offset is aligned for T (a large file's buffer is its own
 * ArrayBuffer), else a copy.
 */
function view<T extends Float32Array | BigInt64Array>(
  buf: Buffer,
  offset: number,
  length: number,
  Type: { new (b: ArrayBufferLike, o: number, l: number): T; new (l: number): T; BYTES_PER_ELEMENT: number },
): T {
  const at = buf.byteOffset + offset
  if (at % Type.BYTES_PER_ELEMENT === 0) return new Type(buf.buffer, at, length)
  const out = new Type(length)
  new Uint8Array(out.buffer).set(buf.subarray(offset, offset + length * Type.BYTES_PER_ELEMENT))
  return out
}
