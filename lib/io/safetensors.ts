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
 * Files are written atomically (temporary file, fsync, rename); reading opens only a regular file,
 * reads no more than its size, and checks the header's structure, every shape, offset and size
 * before any tensor is copied.
 */
import { ErrorCodes, SimsageError } from '../errors.js'
import { describe } from '../validate.js'
import { readRegularFile, writeFileAtomic } from './fs.js'

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

/** A tensor's entry in the header, checked. */
export interface TensorEntry {
  dtype: string
  shape: number[]
  /** Byte offsets [begin, end) relative to the end of the header. */
  dataOffsets: [number, number]
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v)

/**
 * Parses and checks a safetensors header: an object of tensor entries (each with dtype F32, a shape
 * of non-negative integers, offsets matching the shape) that tile the data bytes exactly, and an
 * optional `__metadata__` of strings. Nothing is allocated for the tensors here, so a caller can
 * check the shapes against what it expects before copying anything.
 */
export function parseSafetensorsHeader(
  buf: Buffer,
  path = '<buffer>',
): { entries: Record<string, TensorEntry>; metadata: Record<string, string>; base: number } {
  if (!((buf as unknown) instanceof Uint8Array)) {
    throw new SimsageError(ErrorCodes.INVALID_TYPE, `safetensors bytes must be a Uint8Array, got ${describe(buf)}`)
  }
  const bytes = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength)
  if (bytes.length < 8) throw corrupt(path, 'too short')
  const n = bytes.readBigUInt64LE(0)
  if (n > BigInt(bytes.length - 8)) throw corrupt(path, 'header length exceeds the file (truncated?)')
  const base = 8 + Number(n)
  let header: unknown
  try {
    header = JSON.parse(bytes.subarray(8, base).toString('utf8'))
  } catch {
    throw corrupt(path, 'header is not JSON')
  }
  if (!isObject(header)) throw corrupt(path, `header is ${describe(header)}, not an object`)
  const size = bytes.length - base
  const entries: Record<string, TensorEntry> = {}
  let metadata: Record<string, string> = {}
  const spans: [number, number, string][] = []
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (!isObject(entry) || Object.values(entry).some((v) => typeof v !== 'string'))
        throw corrupt(path, '__metadata__ is not an object of strings')
      metadata = entry as Record<string, string>
      continue
    }
    if (!isObject(entry)) throw corrupt(path, `tensor ${name} has entry ${describe(entry)}, not an object`)
    if (entry.dtype !== 'F32')
      throw new SimsageError(
        ErrorCodes.UNSUPPORTED,
        `${path}: tensor ${name} has dtype ${describe(entry.dtype)}; only F32 is supported`,
      )
    const shape = entry.shape
    if (!Array.isArray(shape) || shape.length > 8 || !shape.every((d) => Number.isSafeInteger(d) && d >= 0))
      throw corrupt(path, `tensor ${name} has shape ${JSON.stringify(shape)}, not a list of non-negative integers`)
    const offsets = entry.data_offsets
    const [b, en] = Array.isArray(offsets) ? offsets : []
    const count = shape.reduce((a: number, x: number) => a * x, 1)
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !Number.isSafeInteger(b) ||
      !Number.isSafeInteger(en) ||
      b < 0 ||
      en > size ||
      en - b !== count * 4
    ) {
      throw corrupt(
        path,
        `tensor ${name} has bad offsets ${JSON.stringify(offsets)} for shape [${shape}] (data is ${size} bytes)`,
      )
    }
    entries[name] = { dtype: 'F32', shape: shape as number[], dataOffsets: [b, en] }
    spans.push([b, en, name])
  }
  // The tensors must tile the data: no overlap, no gap, nothing after the last one.
  spans.sort((x, y) => x[0] - y[0] || x[1] - y[1])
  let at = 0
  for (const [b, en, name] of spans) {
    if (b !== at)
      throw corrupt(path, `tensor ${name} starts at byte ${b}, expected ${at} (tensors overlap or leave gaps)`)
    at = en
  }
  if (at !== size) throw corrupt(path, `tensors cover ${at} of ${size} data bytes`)
  return { entries, metadata, base }
}

/** Copies the tensors of a buffer checked by {@link parseSafetensorsHeader}. */
export function tensorsOf(buf: Buffer, entries: Record<string, TensorEntry>, base: number): Record<string, Tensor> {
  const tensors: Record<string, Tensor> = {}
  for (const [name, e] of Object.entries(entries)) {
    const [b, en] = e.dataOffsets
    const data = new Float32Array((en - b) / 4)
    new Uint8Array(data.buffer).set(buf.subarray(base + b, base + en))
    tensors[name] = { shape: e.shape, data }
  }
  return tensors
}

/** Decodes a safetensors buffer (F32 tensors only). */
export function decodeSafetensors(
  buf: Buffer,
  path = '<buffer>',
): { tensors: Record<string, Tensor>; metadata: Record<string, string> } {
  const { entries, metadata, base } = parseSafetensorsHeader(buf, path)
  return { tensors: tensorsOf(buf, entries, base), metadata }
}

/** Reads a file's bytes for {@link parseSafetensorsHeader} (a regular file only, at most 4 GiB). */
export async function readSafetensorsFile(path: string): Promise<Buffer> {
  return readRegularFile(path, 'load checkpoint from')
}

/** Writes a checkpoint atomically. */
export async function saveSafetensors(
  path: string,
  tensors: Record<string, Tensor>,
  metadata: Record<string, string> = {},
): Promise<void> {
  const bytes = encodeSafetensors(tensors, metadata)
  await writeFileAtomic(path, 'save checkpoint to', (write) => write(bytes))
}

/** Reads a checkpoint. */
export async function loadSafetensors(
  path: string,
): Promise<{ tensors: Record<string, Tensor>; metadata: Record<string, string> }> {
  return decodeSafetensors(await readSafetensorsFile(path), path)
}
