/**
 * Reader for the IDX format of (Fashion-)MNIST, plain or gzip-compressed.
 *
 * Layout: two zero bytes, a type byte (0x08 = unsigned byte, the only type these data sets use),
 * the number of dimensions, then each dimension as a big-endian u32, then the values row-major.
 */
import { constants, gunzipSync } from 'node:zlib'

import { ErrorCodes, SimsageError } from '../errors.js'
import { describe } from '../validate.js'
import { readRegularFile } from './fs.js'

/** A decoded IDX tensor of unsigned bytes. */
export interface IdxTensor {
  /** Dimensions, outermost first (e.g. [60000, 28, 28]). */
  shape: number[]
  /** Values, row-major. */
  data: Uint8Array
}

/** Most values one IDX file may declare (the longest Buffer on Node 20, 4 GiB). */
const MAX_VALUES = 2 ** 32

function corrupt(name: string, why: string): SimsageError {
  return new SimsageError(ErrorCodes.CORRUPT_FILE, `${name} is not a valid IDX file: ${why}`)
}

/** The header at the start of `buf`: its length in bytes and the shape it declares (null: too short). */
function parseHeader(buf: Buffer, name: string): { header: number; shape: number[]; count: number } | null {
  if (buf.length < 4) return null
  if (buf[0] !== 0 || buf[1] !== 0) throw corrupt(name, 'wrong magic bytes')
  if (buf[2] !== 0x08) throw corrupt(name, `element type 0x${buf[2].toString(16)} is not unsigned byte (0x08)`)
  const ndim = buf[3]
  if (ndim < 1 || ndim > 4) throw corrupt(name, `unsupported number of dimensions ${ndim}`)
  const header = 4 + 4 * ndim
  if (buf.length < header) return null
  const shape: number[] = []
  let count = 1
  for (let i = 0; i < ndim; i++) {
    const d = buf.readUInt32BE(4 + 4 * i)
    shape.push(d)
    count *= d
  }
  if (count > MAX_VALUES) throw corrupt(name, `shape [${shape}] declares more than ${MAX_VALUES} values`)
  return { header, shape, count }
}

/**
 * Inflates gzip data, never past what the IDX header inside declares: the header is read from a
 * prefix of the stream first, then the whole stream is inflated with its output capped at header +
 * values + 1 bytes, so a small file that expands to gigabytes fails after the declared size.
 */
function gunzipCapped(gz: Buffer, name: string): Buffer {
  const inflate = (input: Buffer, maxOutputLength: number, partial: boolean): Buffer => {
    try {
      return gunzipSync(input, { maxOutputLength, ...(partial ? { finishFlush: constants.Z_SYNC_FLUSH } : {}) })
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw e
      throw corrupt(name, `gzip data is damaged or truncated (${(e as Error).message})`)
    }
  }
  // 1. The header: inflate growing prefixes (partial output, small cap) until it is complete.
  let head: ReturnType<typeof parseHeader> = null
  for (let prefix = 64; head === null; prefix *= 4) {
    let out: Buffer
    try {
      out = inflate(gz.subarray(0, prefix), 4 + 4 * 4, true)
    } catch (e) {
      // More than a full header came out: the prefix holds it; retry without the cap on this prefix.
      if ((e as NodeJS.ErrnoException).code !== 'ERR_BUFFER_TOO_LARGE') throw e
      out = inflate(gz.subarray(0, prefix), Math.max(64, prefix * 1100), true)
    }
    head = parseHeader(out, name)
    if (head === null && prefix >= gz.length) throw corrupt(name, `too short (${out.length} bytes inflated)`)
  }
  // 2. Everything, capped by what the header declares (+1 byte to tell "exactly" from "more").
  const cap = head.header + head.count + 1
  try {
    return inflate(gz, cap, false)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ERR_BUFFER_TOO_LARGE') throw e
    throw corrupt(name, `the gzip data inflates to more than its header declares (${head.header + head.count} bytes)`)
  }
}

/** Decodes IDX bytes (gzip is detected by its magic and inflated, at most to the declared size). */
export function decodeIdx(bytes: Uint8Array, name = '<buffer>'): IdxTensor {
  if (!((bytes as unknown) instanceof Uint8Array)) {
    throw new SimsageError(ErrorCodes.INVALID_TYPE, `IDX bytes must be a Uint8Array or Buffer, got ${describe(bytes)}`)
  }
  let buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) buf = gunzipCapped(buf, name)
  const head = parseHeader(buf, name)
  if (head === null) throw corrupt(name, buf.length < 4 ? `too short (${buf.length} bytes)` : 'truncated header')
  const { header, shape, count } = head
  const have = buf.length - header
  if (have < count) throw corrupt(name, `truncated: ${have} of ${count} values present`)
  if (have > count) throw corrupt(name, `${have - count} unexpected trailing bytes`)
  return { shape, data: new Uint8Array(buf.buffer, buf.byteOffset + header, count) }
}

/**
 * Reads and decodes an IDX file (.gz or plain). The path must name a regular file (a directory,
 * device or FIFO is ERR_SIMSAGE_IO, a missing file ERR_SIMSAGE_NOT_FOUND); no more than its size is
 * read, and gzip data is inflated no further than its header declares.
 */
export async function readIdx(path: string): Promise<IdxTensor> {
  return decodeIdx(await readRegularFile(path, 'read IDX file'), path)
}

/** Encodes unsigned bytes as IDX (uncompressed); used to write data subsets. */
export function encodeIdx(shape: number[], data: Uint8Array): Buffer {
  const header = Buffer.alloc(4 + 4 * shape.length)
  header[2] = 0x08
  header[3] = shape.length
  for (let i = 0; i < shape.length; i++) header.writeUInt32BE(shape[i], 4 + 4 * i)
  return Buffer.concat([header, Buffer.from(data.buffer, data.byteOffset, data.byteLength)])
}
