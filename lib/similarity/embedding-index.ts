/**
 * A mutable in-memory index of embeddings with exact top-k search.
 */
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { setImmediate as nextTurn } from 'node:timers/promises'

import { awaitNative, callNative, ErrorCodes, SimsageError } from '../errors.js'
import { binding } from '../native/binding.js'
import type { RawNativeIndex } from '../native/types.js'
import { decodeIndexFile, encodeIndexFile, FORMAT_VERSION, MAGIC, writeIndexFile } from './index-file.js'
import { toRawArgs, type SearchOptions } from './options.js'
import { SearchResults } from './results.js'
import { checkDim, checkK, checkMatrix, checkMetric, describe, toIdArray, type IdsInput, type Metric } from './validate.js'

/** Options of {@link EmbeddingIndex}. */
export interface EmbeddingIndexOptions {
  /** Vector dimension D. */
  dim: number
  /** 'ip' (default), 'cosine' (vectors are stored unit length) or 'l2' (squared distance). */
  metric?: Metric
  /** Free-form JSON metadata saved with the index (model name, normalisation, ...). */
  metadata?: Record<string, unknown>
}

/**
 * Exact top-k search over a set of (id, vector) pairs, stored natively in a layout the SIMD kernels
 * scan directly. Ids are non-negative safe integers (stored as 64-bit).
 *
 * Mutations (add, remove) wait for searches in flight on the same index to finish, so a search
 * never sees a half-applied change. Call {@link dispose} (or use `using`) to free native memory.
 *
 * @example
 * const index = new EmbeddingIndex({ dim: 128, metric: 'cosine' })
 * index.add([1, 2, 3], vectors)            // vectors: Float32Array(3 * 128)
 * const res = await index.search(query, 10) // query: Float32Array(128)
 * res.get(0).ids                            // Float64Array of the 10 best ids
 */
export class EmbeddingIndex implements Disposable {
  /** Vector dimension. */
  readonly dim: number
  /** Similarity metric. */
  readonly metric: Metric
  /** JSON metadata saved with the index. */
  metadata: Record<string, unknown>
  #native: RawNativeIndex | undefined

  constructor(options: EmbeddingIndexOptions) {
    if (options === null || typeof options !== 'object') {
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `EmbeddingIndex options must be an object, got ${describe(options)}`)
    }
    this.dim = checkDim(options.dim)
    this.metric = checkMetric(options.metric ?? 'ip')
    this.metadata = checkMetadata(options.metadata ?? {})
    const Native = binding().NativeIndex
    this.#native = callNative(() => new Native({ dim: this.dim, metric: this.metric }))
  }

  #live(): RawNativeIndex {
    if (!this.#native) throw new SimsageError(ErrorCodes.DISPOSED, 'this EmbeddingIndex has been disposed')
    return this.#native
  }

  /** Number of vectors stored. */
  get size(): number {
    return this.#live().size()
  }

  /** True once {@link dispose} has run. */
  get disposed(): boolean {
    return this.#native === undefined
  }

  /**
   * Adds vectors; an id already present is replaced, and a repeated id within one call keeps its
   * last vector. All-or-nothing: on any error (bad id, NaN, wrong length) nothing is added.
   *
   * @param ids n ids (non-negative safe integers).
   * @param vectors n x dim row-major Float32Array.
   */
  add(ids: IdsInput, vectors: Float32Array): void {
    const native = this.#live()
    const args = this.#addArgs(ids, vectors)
    callNative(() => native.add(args))
  }

  /**
   * Like {@link add}, off the event loop: the vectors are checked and stored on a libuv worker
   * thread, so timers and I/O keep running while a large batch goes in. Same validation, same
   * all-or-nothing semantics and error codes as {@link add}.
   *
   * The vectors are not copied: do not modify `vectors` until the promise settles. Like any
   * mutation, the add waits for searches in flight on this index and is applied as a whole: a search
   * or mutation issued before the promise settles sees the index either before or after the entire
   * batch, never part of it.
   *
   * @param ids n ids (non-negative safe integers; converted and checked before this returns).
   * @param vectors n x dim row-major Float32Array.
   */
  async addAsync(ids: IdsInput, vectors: Float32Array): Promise<void> {
    const native = this.#live()
    const args = this.#addArgs(ids, vectors)
    await awaitNative(callNative(() => native.addAsync(args)))
  }

  #addArgs(ids: IdsInput, vectors: Float32Array) {
    const idArr = toIdArray(ids)
    const rows = checkMatrix(vectors, this.dim, 'vectors')
    if (rows !== idArr.length) {
      throw new SimsageError(ErrorCodes.DIM_MISMATCH, `vectors hold ${rows} rows of dim ${this.dim} but ${idArr.length} ids were given`)
    }
    return { ids: idArr, vectors, normalized: false }
  }

  /** Removes ids (unknown ids are ignored). Returns how many were removed. */
  remove(ids: IdsInput): number {
    const native = this.#live()
    return callNative(() => native.remove({ ids: toIdArray(ids) }))
  }

  /** Whether id is stored. */
  has(id: number): boolean {
    return this.#live().has({ id })
  }

  /**
   * Finds each query's k best matches, off the event loop.
   *
   * @param queries Q x dim row-major Float32Array (a single query is a Float32Array of length dim).
   * @param k matches per query; rows with fewer candidates are padded (see {@link SearchResults}).
   */
  async search(queries: Float32Array, k: number, options?: SearchOptions): Promise<SearchResults> {
    const native = this.#live()
    const args = this.#args(queries, k, options)
    const raw = await awaitNative(callNative(() => native.searchAsync(args)))
    return new SearchResults(raw, this.metric)
  }

  /** Like {@link search}, on the calling thread (blocks the event loop while it runs). */
  searchSync(queries: Float32Array, k: number, options?: SearchOptions): SearchResults {
    const native = this.#live()
    const args = this.#args(queries, k, options)
    return new SearchResults(callNative(() => native.searchSync(args)), this.metric)
  }

  #args(queries: Float32Array, k: number, options?: SearchOptions) {
    const kk = checkK(k)
    const nq = checkMatrix(queries, this.dim, 'queries')
    return { ...toRawArgs(queries, nq, this.dim, kk, options), metric: this.metric }
  }

  /**
   * Saves the index (vectors, ids, dim, metric, metadata, checksum) to `path`, atomically: the file
   * under `path` is either the old one or the complete new one, never a partial write.
   */
  async save(path: string): Promise<void> {
    const native = this.#live()
    checkMetadata(this.metadata)
    const count = native.size()
    const data = encodeIndexFile(
      { dim: this.dim, metric: this.metric, normalized: this.metric === 'cosine', count, metadata: this.metadata },
      (vectors, ids) => {
        callNative(() => native.exportInto({ vectors, ids }))
      },
    )
    await writeIndexFile(path, data)
  }

  /**
   * Loads an index written by {@link save}, verifying size, magic, version, fields and the SHA-256
   * checksum before anything is built (any damage rejects with ERR_SIMSAGE_CORRUPT_FILE, an
   * unknown format version with ERR_SIMSAGE_UNSUPPORTED, file-system errors with Node's own codes).
   *
   * The event loop stays responsive throughout: the file is read asynchronously, the checksum is
   * computed in 1 MiB steps that yield to the loop between them, and the vectors go in through
   * {@link addAsync} on a worker thread.
   */
  static async load(path: string): Promise<EmbeddingIndex> {
    const file = await readVerifiedIndexFile(path)
    const index = new EmbeddingIndex({ dim: file.dim, metric: file.metric, metadata: file.metadata })
    try {
      const native = index.#live()
      await awaitNative(callNative(() => native.addAsync({ ids: file.ids, vectors: file.vectors, normalized: file.normalized })))
    } catch (e) {
      index.dispose()
      if (e instanceof SimsageError && e.code !== ErrorCodes.OUT_OF_MEMORY) {
        throw new SimsageError(ErrorCodes.CORRUPT_FILE, `${path}: stored vectors are invalid: ${e.message}`, { cause: e })
      }
      throw e
    }
    const distinct = index.size
    if (distinct !== file.count) {
      index.dispose()
      throw new SimsageError(ErrorCodes.CORRUPT_FILE, `${path}: the file repeats ids (${file.count} rows, ${distinct} distinct ids)`)
    }
    return index
  }

  /** Frees the native memory. Further use throws ERR_SIMSAGE_DISPOSED; searches in flight finish. */
  dispose(): void {
    this.#native?.dispose()
    this.#native = undefined
  }

  [Symbol.dispose](): void {
    this.dispose()
  }
}

function checkMetadata(m: unknown): Record<string, unknown> {
  if (m === null || typeof m !== 'object' || Array.isArray(m)) {
    throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `metadata must be a plain object, got ${describe(m)}`)
  }
  try {
    JSON.stringify(m)
  } catch (e) {
    throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `metadata must be JSON-serialisable: ${(e as Error).message}`)
  }
  return m as Record<string, unknown>
}

// Off-loop reading of an index file (format: index-file.ts). The happy path hashes in steps and
// views the vectors and ids in place; anything unexpected (a bad header, a size or checksum
// mismatch, bad metadata) is handed to decodeIndexFile, which throws the precise error.

/** Bytes hashed between two yields to the event loop (~0.5-3 ms of SHA-256). */
const HASH_STEP = 1 << 20
const HEADER_BYTES = 64
const DIGEST_BYTES = 32
/** Metric codes of the file header, in code order. */
const FILE_METRICS: readonly Metric[] = ['ip', 'cosine', 'l2']

interface VerifiedFile {
  dim: number
  metric: Metric
  normalized: boolean
  count: number
  metadata: Record<string, unknown>
  vectors: Float32Array
  /** Range-checked natively by the add (a bad id rejects, and load reports a corrupt file). */
  ids: BigInt64Array
}

async function readVerifiedIndexFile(path: string): Promise<VerifiedFile> {
  if (typeof path !== 'string' || path.length === 0) {
    throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, 'path must be a non-empty string')
  }
  const buf = await readFile(path)
  const fallback = (): never => {
    decodeIndexFile(buf, path) // throws the error that describes the damage
    throw new SimsageError(ErrorCodes.CORRUPT_FILE, `${path} is not a valid simsage index`)
  }
  if (buf.length < HEADER_BYTES + DIGEST_BYTES || !buf.subarray(0, MAGIC.length).equals(MAGIC)) return fallback()
  if (buf.readUInt32LE(8) !== FORMAT_VERSION) return fallback()
  const dim = buf.readUInt32LE(12)
  const metric = FILE_METRICS[buf.readUInt32LE(16)]
  const count64 = buf.readBigUInt64LE(24)
  const metaLen = buf.readUInt32LE(32)
  if (dim < 1 || dim > 1 << 20 || metric === undefined || count64 > BigInt(Number.MAX_SAFE_INTEGER)) return fallback()
  const count = Number(count64)
  const vecOffset = Math.ceil((HEADER_BYTES + metaLen) / 64) * 64
  const idOffset = vecOffset + count * dim * 4
  const end = idOffset + count * 8
  if (buf.length !== end + DIGEST_BYTES) return fallback()
  const hash = createHash('sha256')
  for (let at = 0; at < end; at += HASH_STEP) {
    hash.update(buf.subarray(at, Math.min(at + HASH_STEP, end)))
    if (at + HASH_STEP < end) await nextTurn()
  }
  if (!hash.digest().equals(buf.subarray(end))) return fallback()
  let metadata: unknown
  try {
    metadata = JSON.parse(buf.subarray(HEADER_BYTES, HEADER_BYTES + metaLen).toString('utf8'))
  } catch {
    return fallback()
  }
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) return fallback()
  // Views into the file buffer where aligned (a large file's buffer is its own ArrayBuffer), else copies.
  const vectors = view(buf, vecOffset, count * dim, Float32Array)
  const ids = view(buf, idOffset, count, BigInt64Array)
  return { dim, metric, normalized: (buf.readUInt32LE(20) & 1) === 1, count, metadata: metadata as Record<string, unknown>, vectors, ids }
}

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
