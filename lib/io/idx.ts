/**
 * Reader for the IDX format of (Fashion-)MNIST, plain or gzip-compressed.
 *
 * Layout: two zero bytes, a type byte (0x08 = unsigned byte, the only type these data sets use),
 * the number of dimensions, then each dimension as a big-endian u32, then the values row-major.
 */
import { readFile } from 'node:fs/promises'
import { gunzipSync } from 'node:zlib'

import { ErrorCodes, SimsageError } from '../errors.js'

/** A decoded IDX tensor of unsigned bytes. */
export interface IdxTensor {
  /** Dimensions, outermost first (e.g. [60000, 28, 28]). */
  shape: number[]
  /** Values, row-major. */
  data: Uint8Array
}

function corrupt(name: string, why: string): SimsageError {
  return new SimsageError(ErrorCodes.CORRUPT_FILE, `${name} is not a valid IDX file: ${why}`)
}

/** Decodes IDX bytes (gzip is detected by its magic and inflated first). */
export function decodeIdx(bytes: Uint8Array, name = '<buffer>'): IdxTensor {
  let buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) {
    try {
      buf = gunzipSync(buf)
    } catch (e) {
      throw corrupt(name, `gzip data is damaged or truncated (${(e as Error).message})`)
    }
  }
  if (buf.length < 4) throw corrupt(name, `too short (${buf.length} bytes)`)
  if (buf[0] !== 0 || buf[1] !== 0) throw corrupt(name, 'wrong magic bytes')
  if (buf[2] !== 0x08) throw corrupt(name, `element type 0x${buf[2].toString(16)} is not unsigned byte (0x08)`)
  const ndim = buf[3]
  if (ndim < 1 || ndim > 4) throw corrupt(name, `unsupported number of dimensions ${ndim}`)
  const header = 4 + 4 * ndim
  if (buf.length < header) throw corrupt(name, 'truncated header')
  const shape: number[] = []
  let count = 1
  for (let i = 0; i < ndim; i++) {
    const d = buf.readUInt32BE(4 + 4 * i)
    shape.push(d)
    count *= d
  }
  const have = buf.length - header
  if (have < count) throw corrupt(name, `truncated: ${have} of ${count} values present`)
  if (have > count) throw corrupt(name, `${have - count} unexpected trailing bytes`)
  return { shape, data: new Uint8Array(buf.buffer, buf.byteOffset + header, count) }
}

/** Reads and decodes an IDX file (.gz or plain). */
export async function readIdx(path: string): Promise<IdxTensor> {
  return decodeIdx(await readFile(path), path)
}

/** Encodes unsigned bytes as IDX (uncompressed); used to write data subsets. */
export function encodeIdx(shape: number[], data: Uint8Array): Buffer {
  const header = Buffer.alloc(4 + 4 * shape.length)
  header[2] = 0x08
  header[3] = shape.length
  for (let i = 0; i < shape.length; i++) header.writeUInt32BE(shape[i], 4 + 4 * i)
  return Buffer.concat([header, Buffer.from(data.buffer, data.byteOffset, data.byteLength)])
}
