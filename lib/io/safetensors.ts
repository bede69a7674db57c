/**
 * Checkpoints in the safetensors format, so other tools (PyTorch's `safetensors`, Hugging Face
 * tooling) can read the weights. No maintained JS package implements it (the npm `safetensors` is a
 * 0.0.1 placeholder), and the format is small:
 *
 *   u64 LE  N = header length
 *   N bytes UTF-8 JSON: { "<name>": { "dtype": "F32", "shape": [..], "data_offsets": [begin, end] },
 *                         "__metadata__": { "<key>": "<string>" } }   (padded with spaces to 8 bytes)
 *   the tensor bytes, offsets relative to the end of the header, contiguous, in header order.
 *
 * Files are written atomically (write-file-atomic); reading checks every offset and size.
 */
import { readFile } from 'node:fs/promises'

import writeFileAtomic from 'write-file-atomic'

import { ErrorCodes, SimsageError } from '../errors.js'

/** A named float32 tensor. */
export interface Tensor {
  shape: number[]
  data: Float32Array
}

function corrupt(path: string, why: string): SimsageError {
  return new SimsageError(ErrorCodes.CORRUPT_FILE, `${path} is not a valid safetensors file: ${why}`)
}

/** Encodes tensors (F32 only) and string metadata. */
export function encodeSafetensors(tensors: Record<string, Tensor>, metadata: Record<string, string> = {}): Buffer {
  const header: Record<string, unknown> = {}
  if (Object.keys(metadata).length) header.__metadata__ = metadata
  let offset = 0
  const names = Object.keys(tensors)
  for (const name of names) {
    const t = tensors[name]
    const count = t.shape.reduce((a, b) => a * b, 1)
    if (!(t.data instanceof Float32Array) || t.data.length !== count) {
      throw new SimsageError(
        ErrorCodes.DIM_MISMATCH,
        `tensor ${name}: data length ${t.data?.length} != product of shape [${t.shape}]`,
      )
    }
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + count * 4] }
    offset += count * 4
  }
  let json = JSON.stringify(header)
  const pad = (8 - ((Buffer.byteLength(json) + 8) % 8)) % 8
  json += ' '.repeat(pad)
  const headBytes = Buffer.from(json, 'utf8')
  const out = Buffer.alloc(8 + headBytes.length + offset)
  out.writeBigUInt64LE(BigInt(headBytes.length), 0)
  headBytes.copy(out, 8)
  let at = 8 + headBytes.length
  for (const name of names) {
    const d = tensors[name].data
    Buffer.from(d.buffer, d.byteOffset, d.byteLength).copy(out, at)
    at += d.byteLength
  }
  return out
}

/** Decodes a safetensors buffer (F32 tensors only). */
export function decodeSafetensors(
  buf: Buffer,
  path = '<buffer>',
): { tensors: Record<string, Tensor>; metadata: Record<string, string> } {
  if (buf.length < 8) throw corrupt(path, 'too short')
  const n = buf.readBigUInt64LE(0)
  if (n > BigInt(buf.length - 8)) throw corrupt(path, 'header length exceeds the file (truncated?)')
  let header: Record<
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>
  >
  try {
    header = JSON.parse(buf.subarray(8, 8 + Number(n)).toString('utf8'))
  } catch {
    throw corrupt(path, 'header is not JSON')
  }
  const base = 8 + Number(n)
  const size = buf.length - base
  const tensors: Record<string, Tensor> = {}
  let metadata: Record<string, string> = {}
  let covered = 0
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = entry as Record<string, string>
      continue
    }
    const e = entry as { dtype: string; shape: number[]; data_offsets: [number, number] }
    if (e.dtype !== 'F32')
      throw new SimsageError(
        ErrorCodes.UNSUPPORTED,
        `${path}: tensor ${name} has dtype ${e.dtype}; only F32 is supported`,
      )
    const [b, en] = e.data_offsets ?? []
    const count = (e.shape ?? []).reduce((a, x) => a * x, 1)
    if (!Number.isInteger(b) || !Number.isInteger(en) || b < 0 || en > size || en - b !== count * 4) {
      throw corrupt(path, `tensor ${name} has bad offsets [${b}, ${en}] for shape [${e.shape}] (data is ${size} bytes)`)
    }
    const data = new Float32Array(count)
    new Uint8Array(data.buffer).set(buf.subarray(base + b, base + en))
    tensors[name] = { shape: e.shape, data }
    covered += en - b
  }
  if (covered !== size) throw corrupt(path, `tensors cover ${covered} of ${size} data bytes`)
  return { tensors, metadata }
}

/** Writes a checkpoint atomically. */
export async function saveSafetensors(
  path: string,
  tensors: Record<string, Tensor>,
  metadata: Record<string, string> = {},
): Promise<void> {
  await writeFileAtomic(path, encodeSafetensors(tensors, metadata), { fsync: true })
}

/** Reads a checkpoint. */
export async function loadSafetensors(
  path: string,
): Promise<{ tensors: Record<string, Tensor>; metadata: Record<string, string> }> {
  return decodeSafetensors(await readFile(path), path)
}
