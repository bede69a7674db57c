/**
 * The saved index file (format version 4; versions 1 to 3 still load). Little-endian throughout.
 *
 * | offset | size | field |
 * | --- | --- | --- |
 * | 0 | 8 | magic `SSGIDX\r\n` (the CR LF catches text-mode mangling) |
 * | 8 | 4 | u32 format version (4; 1 to 3 are read too) |
 * | 12 | 4 | u32 dim |
 * | 16 | 4 | u32 metric: 0 ip, 1 cosine, 2 l2 |
 * | 20 | 4 | u32 flags: bit 0 = vectors are unit length (cosine); bit 1 = keep f32 copies (v2); bit 2 = i8 with per-dimension scales (v4) |
 * | 24 | 8 | u64 count (rows) |
 * | 32 | 4 | u32 metadata length M (bytes of UTF-8 JSON) |
 * | 36 | 4 | u32 storage (v2): 0 f32, 1 bf16, 2 f16, 3 i8 (version 1: reserved, zero = f32) |
 * | 40 | 24 | reserved, zero |
 * | 64 | M | metadata JSON (an object: user metadata such as the model name and normalisation) |
 * | S = align64(64 + M) | dim x 4 | flag bit 2 only: the per-dimension i8 scales, f32 (else absent) |
 * | V = S (+ align64(dim x 4) with bit 2) | count x R | rows, one record of R bytes each (below) |
 * | V + count x R | count x 8 | ids, i64 |
 * | end - 32 | 32 | SHA-256 of every byte before it |
 *
 *
 * Records. f32 storage (and every version 1 or 2 file): R = dim x 4, the f32 values. Version 3 with
 * reduced-precision storage: the stored codes, so the file is as small as the storage and loads back
 * with the same codes (no re-encoding): dim codes (bf16 / f16: u16, i8: i8; 2 or 1 bytes), then for
 * i8 the row's f32 scale (4 bytes; per-dimension scales: the row factor, 1 or cosine's), then with keep-f32 (flag bit 1) the row's dim f32 values
 * (cosine: the unit vector). R = dim x (2 | 1) + (i8: 4) + (keep-f32: dim x 4). Version 2 files of
 * reduced-precision indexes hold f32 values (the kept copies, or the decoded stored values), which
 * encode back to the same stored values.
 *
 * Both directions stream, so a file may be larger than Node's 2 GiB limit for one read or write:
 * `writeIndexFile` writes atomically (temporary file in the same directory, fsync, rename) in
 * chunks, hashing each chunk as it goes; `readIndexFile` opens only a regular file, checks the header
 * against the file's size before reading anything else, and then reads the vectors in chunks that it
 * hashes and hands to the caller (which inserts them), so the checksum is computed in the same pass.
 * The caller discards what it built unless the read completes: every rejection (a damaged file, a
 * checksum mismatch at the end) comes before the index is returned.
 */
import { createHash, type Hash } from 'node:crypto'
import { setImmediate as nextTurn } from 'node:timers/promises'

import { ErrorCodes, SimsageError } from '../errors.js'
import type { Metric, Storage } from '../similarity/types.js'
import { checkPath, openRegular, type RegularFile, readExactly, writeFileAtomic } from './fs.js'

export const MAGIC = Buffer.from('SSGIDX\r\n', 'latin1')
export const FORMAT_VERSION = 4
/**
 * Versions this build reads (1: no storage field, always f32; 2: f32 values for every storage; 3:
 * no per-dimension scales; 4: the same layout, flag bit 2 added).
 */
const READABLE_VERSIONS = [1, 2, 3, 4]
const STORAGE_CODES: Storage[] = ['f32', 'bf16', 'f16', 'i8']
const HEADER = 64
const DIGEST = 32
const METRIC_CODES: Metric[] = ['ip', 'cosine', 'l2']

/** The fields of a file besides its rows. */
export interface IndexFileHead {
  dim: number
  metric: Metric
  /** Vectors are stored unit length (cosine). */
  normalized: boolean
  /** Rows. */
  count: number
  metadata: Record<string, unknown>
  /** How the index stores its vectors (version 1 files: 'f32'). */
  storage?: Storage
  /** The index keeps f32 copies for re-ranking. */
  keepF32?: boolean
  /** 'i8' with per-dimension scales: the dim scales (flag bit 2). */
  dimScales?: Float32Array
}

const align64 = (n: number) => Math.ceil(n / 64) * 64

/** Bytes of one row's record in a file of `version` (see the top of this file). */
export function recordBytes(
  version: number,
  dim: number,
  storage: Storage | undefined,
  keepF32: boolean | undefined,
): number {
  if (version < 3 || storage === undefined || storage === 'f32') return dim * 4
  return dim * (storage === 'i8' ? 1 : 2) + (storage === 'i8' ? 4 : 0) + (keepF32 ? dim * 4 : 0)
}

/** Bytes hashed between two yields to the event loop (~0.5-3 ms of SHA-256). */
const HASH_STEP = 1 << 20
/** Bytes of vectors read, hashed and handed over per chunk when loading, written per chunk when saving. */
const CHUNK = 32 << 20

/** Hashes `bytes` in {@link HASH_STEP} steps, yielding to the event loop between them. */
async function hashYielding(hash: Hash, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length; at += HASH_STEP) {
    if (at > 0) await nextTurn()
    hash.update(bytes.subarray(at, Math.min(at + HASH_STEP, bytes.length)))
  }
}

/** Header, metadata, per-dimension scales and the zero padding up to the vectors (the first V bytes). */
function headBytes(head: IndexFileHead): Buffer {
  const meta = Buffer.from(JSON.stringify(head.metadata ?? {}), 'utf8')
  const sc = head.dimScales
  const scalesAt = align64(HEADER + meta.length)
  const buf = Buffer.alloc(scalesAt + (sc ? align64(head.dim * 4) : 0))
  if (sc) {
    if (sc.length !== head.dim || head.storage !== 'i8') {
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, 'dimension scales need i8 storage and dim values')
    }
    for (let d = 0; d < head.dim; d++) buf.writeFloatLE(sc[d], scalesAt + 4 * d)
  }
  MAGIC.copy(buf, 0)
  buf.writeUInt32LE(FORMAT_VERSION, 8)
  buf.writeUInt32LE(head.dim, 12)
  buf.writeUInt32LE(METRIC_CODES.indexOf(head.metric), 16)
  buf.writeUInt32LE((head.normalized ? 1 : 0) | (head.keepF32 ? 2 : 0) | (sc ? 4 : 0), 20)
  buf.writeUInt32LE(STORAGE_CODES.indexOf(head.storage ?? 'f32'), 36)
  buf.writeBigUInt64LE(BigInt(head.count), 24)
  buf.writeUInt32LE(meta.length, 32)
  meta.copy(buf, HEADER)
  return buf
}

/**
 * Writes a file atomically, streamed in chunks with the SHA-256 computed as they are written.
 *
 * @param vectors the rows (not modified): count x dim f32 values for 'f32' storage, else count
 *   records of {@link recordBytes} (format {@link FORMAT_VERSION}) bytes each.
 * @param ids count ids (non-negative safe integers), stored as i64.
 */
export async function writeIndexFile(
  path: string,
  head: IndexFileHead,
  vectors: Float32Array | Uint8Array,
  ids: Float64Array,
): Promise<void> {
  checkPath(path)
  const want = head.count * recordBytes(FORMAT_VERSION, head.dim, head.storage, head.keepF32)
  if (vectors.byteLength !== want || ids.length !== head.count) {
    throw new SimsageError(
      ErrorCodes.INVALID_ARGUMENT,
      `index file rows: ${vectors.byteLength} bytes and ${ids.length} ids, expected ${want} and ${head.count}`,
    )
  }
  const first = headBytes(head)
  await writeFileAtomic(path, 'save index to', async (write) => {
    const hash = createHash('sha256')
    const emit = async (bytes: Uint8Array) => {
      await hashYielding(hash, bytes)
      await write(bytes)
    }
    await emit(first)
    const vecBytes = new Uint8Array(vectors.buffer, vectors.byteOffset, vectors.byteLength)
    for (let at = 0; at < vecBytes.length; at += CHUNK) await emit(vecBytes.subarray(at, at + CHUNK))
    // ids as little-endian i64 (two u32 halves: they are non-negative and below 2^53).
    const rows = CHUNK / 8
    const out = new DataView(new ArrayBuffer(Math.min(rows, ids.length) * 8))
    for (let r0 = 0; r0 < ids.length; r0 += rows) {
      const n = Math.min(rows, ids.length - r0)
      for (let i = 0; i < n; i++) {
        const id = ids[r0 + i]
        out.setUint32(i * 8, id % 0x1_0000_0000, true)
        out.setUint32(i * 8 + 4, Math.floor(id / 0x1_0000_0000), true)
      }
      await emit(new Uint8Array(out.buffer, 0, n * 8))
    }
    await write(hash.digest())
  })
}

function corrupt(path: string, why: string): SimsageError {
  return new SimsageError(ErrorCodes.CORRUPT_FILE, `${path} is not a valid simsage index: ${why}`)
}

/** Receives a file's contents while it is read; see {@link readIndexFile}. */
export interface IndexFileSink {
  /** Called once, after the header and metadata are checked and before any row. */
  begin(head: IndexFileHead): void | Promise<void>
  /**
   * Called for consecutive blocks of rows, in file order. `vectors` (rows x dim) is reused after the
   * returned promise settles; `ids` (rows, as stored: signed 64-bit) is not. A rejection stops the
   * calls (the file is still read to its end so a damaged file reports its checksum mismatch).
   */
  rows(ids: BigInt64Array, vectors: Float32Array): Promise<void>
  /**
   * Instead of `rows` for a version 3 file with reduced-precision storage: consecutive blocks of
   * records ({@link recordBytes} each), reused after the returned promise settles, as `rows`.
   */
  records(ids: BigInt64Array, records: Uint8Array): Promise<void>
}

/**
 * Reads and verifies a file, streaming its rows to `sink` without blocking the event loop: reads are
 * asynchronous and bounded by the sizes the header declares (checked against the file's size
 * first), the SHA-256 is computed in the same pass in 1 MiB steps that yield, and each block of
 * vectors is hashed while the sink stores the previous one. Rejects with ERR_SIMSAGE_CORRUPT_FILE on
 * any inconsistency (a checksum mismatch is found only at the end: the caller must discard what
 * `sink` built when this rejects), ERR_SIMSAGE_UNSUPPORTED on an unknown version,
 * ERR_SIMSAGE_NOT_FOUND / ERR_SIMSAGE_IO on file-system errors and on a path that is not a regular
 * file.
 */
export async function readIndexFile(path: string, sink: IndexFileSink): Promise<IndexFileHead> {
  checkPath(path)
  const f = await openRegular(path, 'load index from')
  try {
    return await readOpen(f, sink)
  } finally {
    await f.fh.close().catch(() => {})
  }
}

async function readOpen(f: RegularFile, sink: IndexFileSink): Promise<IndexFileHead> {
  const path = f.path
  if (f.size < HEADER + DIGEST) throw corrupt(path, `too short (${f.size} bytes)`)
  const header = Buffer.alloc(HEADER)
  await readExactly(f, header, 0, HEADER, 0)
  const l = parseLayout(header, f.size, path)
  // Metadata and padding, ids and digest: all sizes checked against the file's size above.
  const metaPad = Buffer.alloc(l.vecOffset - HEADER)
  await readExactly(f, metaPad, 0, metaPad.length, HEADER)
  const metadata = parseMetadata(metaPad.subarray(0, l.metaLen), path)
  const idBytes = new Uint8Array(l.count * 8)
  await readExactly(f, idBytes, 0, idBytes.length, l.idOffset)
  const ids = new BigInt64Array(idBytes.buffer)
  const digest = Buffer.alloc(DIGEST)
  await readExactly(f, digest, 0, DIGEST, l.end)

  const head: IndexFileHead = {
    dim: l.dim,
    metric: METRIC_CODES[l.metricCode],
    normalized: (l.flags & 1) === 1,
    count: l.count,
    metadata,
    storage: STORAGE_CODES[l.storageCode],
    keepF32: (l.flags & 2) === 2,
  }
  if (l.flags & 4) {
    const at = align64(HEADER + l.metaLen) - HEADER
    head.dimScales = new Float32Array(l.dim)
    for (let d = 0; d < l.dim; d++) head.dimScales[d] = metaPad.readFloatLE(at + 4 * d)
  }
  const hash = createHash('sha256')
  hash.update(header)
  await hashYielding(hash, metaPad)
  await sink.begin(head)

  // Vectors, a block of whole rows at a time: read block b while nothing else uses its buffer, then
  // hand it to the sink and hash it while the sink works.
  const rowBytes = l.recordBytes
  const coded = l.version >= 3 && head.storage !== 'f32'
  const blockRows = Math.max(1, Math.floor(CHUNK / rowBytes))
  const blockBytes = new Uint8Array(Math.min(blockRows, l.count) * rowBytes)
  const block = coded ? undefined : new Float32Array(blockBytes.buffer)
  let failure: unknown
  for (let r0 = 0; r0 < l.count; r0 += blockRows) {
    const n = Math.min(blockRows, l.count - r0)
    await readExactly(f, blockBytes, 0, n * rowBytes, l.vecOffset + r0 * rowBytes)
    const bytes = blockBytes.subarray(0, n * rowBytes)
    const stored =
      failure === undefined
        ? (block
            ? sink.rows(ids.subarray(r0, r0 + n), block.subarray(0, n * l.dim))
            : sink.records(ids.subarray(r0, r0 + n), bytes)
          ).catch((e: unknown) => {
            failure = e
          })
        : undefined
    await hashYielding(hash, bytes)
    await stored
  }
  await hashYielding(hash, idBytes)
  if (!hash.digest().equals(digest)) throw corrupt(path, 'checksum mismatch (the file was modified or damaged)')
  if (failure !== undefined) throw failure
  return head
}

interface Layout {
  version: number
  /** Bytes per row record. */
  recordBytes: number
  dim: number
  metricCode: number
  storageCode: number
  flags: number
  count: number
  metaLen: number
  vecOffset: number
  idOffset: number
  /** Where the digest starts (= bytes it covers). */
  end: number
}

/** Checks the 64-byte header, and the file's size against the one it implies. */
function parseLayout(buf: Buffer, size: number, path: string): Layout {
  if (!buf.subarray(0, 8).equals(MAGIC)) throw corrupt(path, 'wrong magic bytes')
  const version = buf.readUInt32LE(8)
  if (!READABLE_VERSIONS.includes(version)) {
    throw new SimsageError(
      ErrorCodes.UNSUPPORTED,
      `${path}: index format version ${version} is not supported (this build reads ${READABLE_VERSIONS.join(', ')})`,
    )
  }
  const dim = buf.readUInt32LE(12)
  const metricCode = buf.readUInt32LE(16)
  const flags = buf.readUInt32LE(20)
  const count64 = buf.readBigUInt64LE(24)
  const metaLen = buf.readUInt32LE(32)
  if (dim < 1 || dim > 1 << 20) throw corrupt(path, `bad dim ${dim}`)
  if (metricCode >= METRIC_CODES.length) throw corrupt(path, `bad metric code ${metricCode}`)
  const storageCode = version >= 2 ? buf.readUInt32LE(36) : 0
  if (storageCode >= STORAGE_CODES.length) throw corrupt(path, `bad storage code ${storageCode}`)
  if (version >= 2 && flags & ~(version >= 4 ? 7 : 3)) throw corrupt(path, `unknown flags ${flags}`)
  if (flags & 4 && STORAGE_CODES[storageCode] !== 'i8') throw corrupt(path, 'dimension scales without i8 storage')
  const vecOffset = align64(HEADER + metaLen) + (flags & 4 ? align64(dim * 4) : 0)
  const rb = recordBytes(version, dim, STORAGE_CODES[storageCode], (flags & 2) === 2)
  // In BigInt so that a huge count cannot overflow the arithmetic into a plausible size.
  const expected64 = BigInt(vecOffset) + count64 * BigInt(rb + 8) + BigInt(DIGEST)
  if (expected64 !== BigInt(size)) {
    throw corrupt(
      path,
      expected64 > BigInt(size)
        ? `truncated (${size} of ${expected64} bytes)`
        : `${BigInt(size) - expected64} unexpected trailing bytes`,
    )
  }
  const count = Number(count64)
  const idOffset = vecOffset + count * rb
  const end = idOffset + count * 8
  return { version, recordBytes: rb, dim, metricCode, storageCode, flags, count, metaLen, vecOffset, idOffset, end }
}

function parseMetadata(bytes: Buffer, path: string): Record<string, unknown> {
  let metadata: unknown
  try {
    metadata = JSON.parse(bytes.toString('utf8'))
  } catch {
    throw corrupt(path, 'metadata is not valid JSON')
  }
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata))
    throw corrupt(path, 'metadata is not an object')
  return metadata as Record<string, unknown>
}
