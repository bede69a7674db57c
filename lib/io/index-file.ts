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
  vectors: Float32Array
  ids: Float64Array
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
  createHash('sha256').update(buf.subarray(0, total - DIGEST)).digest().copy(buf, total - DIGEST)
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

/** Reads and verifies a file. Throws ERR_SIMSAGE_CORRUPT_FILE on any inconsistency. */
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
  return decodeIndexFile(buf, path)
}

/** Verifies and decodes a file's bytes. */
export function decodeIndexFile(buf: Buffer, path = '<buffer>'): IndexFileContents {
  if (buf.length < HEADER + DIGEST) throw corrupt(path, `too short (${buf.length} bytes)`)
  if (!buf.subarray(0, 8).equals(MAGIC)) throw corrupt(path, 'wrong magic bytes')
  const version = buf.readUInt32LE(8)
  if (version !== FORMAT_VERSION) {
    throw new SimsageError(ErrorCodes.UNSUPPORTED, `${path}: index format version ${version} is not supported (this build reads ${FORMAT_VERSION})`)
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
  const expected = idOffset + count * 8 + DIGEST
  if (buf.length !== expected) {
    throw corrupt(path, buf.length < expected ? `truncated (${buf.length} of ${expected} bytes)` : `${buf.length - expected} unexpected trailing bytes`)
  }
  const digest = createHash('sha256').update(buf.subarray(0, expected - DIGEST)).digest()
  if (!digest.equals(buf.subarray(expected - DIGEST))) throw corrupt(path, 'checksum mismatch (the file was modified or damaged)')
  let metadata: Record<string, unknown>
  try {
    metadata = JSON.parse(buf.subarray(HEADER, HEADER + metaLen).toString('utf8'))
  } catch {
    throw corrupt(path, 'metadata is not valid JSON')
  }
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) throw corrupt(path, 'metadata is not an object')
  // Copy out of the file buffer (which may not be 4/8-byte aligned inside its ArrayBuffer).
  const vectors = new Float32Array(count * dim)
  new Uint8Array(vectors.buffer).set(buf.subarray(vecOffset, vecOffset + count * dim * 4))
  const raw = new BigInt64Array(count)
  new Uint8Array(raw.buffer).set(buf.subarray(idOffset, idOffset + count * 8))
  const ids = new Float64Array(count)
  for (let i = 0; i < count; i++) {
    const v = raw[i]
    if (v < 0n || v > BigInt(Number.MAX_SAFE_INTEGER)) throw corrupt(path, `id at row ${i} is out of range`)
    ids[i] = Number(v)
  }
  return { dim, metric: METRIC_CODES[metricCode], normalized: (flags & 1) === 1, count, metadata, vectors, ids }
}
