/**
 * A mutable in-memory index of embeddings with exact top-k search.
 */

import { awaitNative, callNative, ErrorCodes, SimsageError } from '../errors.js'
import { binding } from '../native/binding.js'
import type { RawNativeIndex } from '../native/similarity-types.js'
import { readIndexFile, writeIndexFile } from '../io/index-file.js'
import { INDEX_KNOWN, type IndexSearchOptions, toRawArgs } from './options.js'
import { SearchResults } from './results.js'
import { checkDim, checkMatrix, describe } from '../validate.js'
import type { I8Scales, IdsInput, Metric, Storage } from './types.js'
import { checkI8Scales, checkK, checkMetric, checkStorage, toIdArray } from './validate.js'

/** The i8 scaling when {@link EmbeddingIndexOptions.i8Scales} is not given (chosen by measured recall: README). */
export const DEFAULT_I8_SCALES: I8Scales = 'vector'

/** Options of {@link EmbeddingIndex}. */
export interface EmbeddingIndexOptions {
  /** Vector dimension D. */
  dim: number
  /** 'ip' (default), 'cosine' (vectors are stored unit length) or 'l2' (squared distance). */
  metric?: Metric
  /** Free-form JSON metadata saved with the index (model name, normalisation, ...). */
  metadata?: Record<string, unknown>
  /**
   * How vectors are stored (default 'f32'; see {@link Storage}). Reduced precision streams fewer
   * bytes per search; scores are those of the stored (rounded) values. 'cosine' normalises before
   * quantising; 'l2' uses |x|^2 of the stored values. 'f16' rejects an 'ip' / 'l2' value with
   * |x| >= 65520 (outside the f16 range) with ERR_SIMSAGE_NON_FINITE.
   */
  storage?: Storage
  /**
   * Also keep every vector in f32 (4 x dim more bytes each) so searches can re-rank exactly
   * (`rerank` search option) and {@link save} writes the original values. Ignored for 'f32'.
   */
  keepF32?: boolean
  /**
   * 'i8' storage only: one scale per vector or per dimension (see {@link I8Scales}; default
   * {@link DEFAULT_I8_SCALES}). Ignored for other storage types.
   */
  i8Scales?: I8Scales
}

/** What {@link EmbeddingIndex.stats} reports. */
export interface IndexStats {
  storage: Storage
  /** f32 copies are kept for re-ranking. */
  keepF32: boolean
  /** Vectors stored. */
  rows: number
  /** Bytes one stored vector takes: the stored values (dim padded to 2 for bf16, 4 for i8), the
   * i8 scale, |x|^2 for 'l2', the f32 copy when kept. Ids and the id map come on top (~48 bytes). */
  bytesPerVector: number
  /** Native bytes held in all, as reported to V8 (capacity included). */
  heldBytes: number
  /** Vectors encoded by add / addAsync / load so far ('f32': 0), and their encoding rate (vectors
   * per second of encoding time, 0 before any). */
  quantizedRows: number
  quantizeRowsPerSecond: number
  /** 'i8': how codes are scaled ('vector' for the other storage types). */
  i8Scales: I8Scales
  /** Values that saturated to ±127 under learned per-dimension scales (0 otherwise). */
  saturatedValues: number
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
  /** How vectors are stored. */
  readonly storage: Storage
  /** Whether f32 copies are kept for exact re-ranking. */
  readonly keepF32: boolean
  /** 'i8' scaling ('vector' for the other storage types). */
  readonly i8Scales: I8Scales
  /** JSON metadata saved with the index. */
  metadata: Record<string, unknown>
  #native: RawNativeIndex | undefined

  constructor(options: EmbeddingIndexOptions) {
    if (options === null || typeof options !== 'object') {
      throw new SimsageError(
        ErrorCodes.INVALID_ARGUMENT,
        `EmbeddingIndex options must be an object, got ${describe(options)}`,
      )
    }
    this.dim = checkDim(options.dim)
    this.metric = checkMetric(options.metric ?? 'ip')
    this.metadata = checkMetadata(options.metadata ?? {})
    this.storage = checkStorage(options.storage ?? 'f32')
    const keep = options.keepF32 ?? false
    if (typeof keep !== 'boolean') {
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `keepF32 must be a boolean, got ${describe(keep)}`)
    }
    this.keepF32 = keep && this.storage !== 'f32'
    const scales = checkI8Scales(options.i8Scales ?? DEFAULT_I8_SCALES)
    this.i8Scales = this.storage === 'i8' ? scales : 'vector'
    const Native = binding().NativeIndex
    const args = {
      dim: this.dim,
      metric: this.metric,
      storage: this.storage,
      keepF32: this.keepF32,
      i8Scales: this.i8Scales,
    }
    this.#native = callNative(() => new Native(args))
  }

  #live(): RawNativeIndex {
    if (!this.#native) throw new SimsageError(ErrorCodes.DISPOSED, 'this EmbeddingIndex has been disposed')
    return this.#native
  }

  /** Number of vectors stored. */
  get size(): number {
    return this.#live().size()
  }

  /** Storage, memory per vector and encoding throughput (see {@link IndexStats}). */
  get stats(): IndexStats {
    const s = this.#live().stats()
    return {
      storage: s.storage as Storage,
      keepF32: s.keepF32,
      rows: s.rows,
      bytesPerVector: s.vectorBytes,
      heldBytes: s.heldBytes,
      quantizedRows: s.quantizedRows,
      quantizeRowsPerSecond: s.quantizeSeconds > 0 ? s.quantizedRows / s.quantizeSeconds : 0,
      i8Scales: s.i8Scales as I8Scales,
      saturatedValues: s.saturatedValues,
    }
  }

  /** True once {@link dispose} has run. */
  get disposed(): boolean {
    return this.#native === undefined
  }

  /**
   * Adds vectors; an id already present is replaced, and a repeated id within one call keeps its
   * last vector. All-or-nothing: on any error (bad id, NaN, wrong length) nothing is added.
   * 'ip' and 'l2' vectors need |x| < 2^62 (so no score overflows float32), else
   * ERR_SIMSAGE_NON_FINITE; 'cosine' accepts any finite vector (normalised in double).
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
      throw new SimsageError(
        ErrorCodes.DIM_MISMATCH,
        `vectors hold ${rows} rows of dim ${this.dim} but ${idArr.length} ids were given`,
      )
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
   * @param k matches per query, clamped to the index size (`results.k` = min(k, size)); rows with
   *   fewer candidates (filters) are padded (see {@link SearchResults}). For 'ip' and 'l2' a query
   *   needs |q| < 2^62, else ERR_SIMSAGE_NON_FINITE.
   */
  async search(queries: Float32Array, k: number, options?: IndexSearchOptions): Promise<SearchResults> {
    const native = this.#live()
    const args = this.#args(queries, k, options)
    const raw = await awaitNative(callNative(() => native.searchAsync(args)))
    return new SearchResults(raw, this.metric)
  }

  /** Like {@link search}, on the calling thread (blocks the event loop while it runs). */
  searchSync(queries: Float32Array, k: number, options?: IndexSearchOptions): SearchResults {
    const native = this.#live()
    const args = this.#args(queries, k, options)
    return new SearchResults(
      callNative(() => native.searchSync(args)),
      this.metric,
    )
  }

  #args(queries: Float32Array, k: number, options?: IndexSearchOptions) {
    const kk = checkK(k)
    const nq = checkMatrix(queries, this.dim, 'queries')
    return { ...toRawArgs(queries, nq, this.dim, kk, options, INDEX_KNOWN), metric: this.metric }
  }

  /**
   * Saves the index (vectors, ids, dim, metric, storage, metadata, checksum) to `path`, atomically: the file
   * under `path` is either the old one or the complete new one, never a partial write (a temporary
   * file in the same directory, fsynced, then renamed; removed if anything fails). The file is
   * written in chunks with the checksum computed as it goes, so it may exceed 2 GiB.
   *
   * The rows are copied out in one step when the call starts (a snapshot: later mutations do not
   * reach the file), which needs memory for one more copy of the vectors while the save runs.
   * File-system failures reject with ERR_SIMSAGE_NOT_FOUND (a missing directory) or ERR_SIMSAGE_IO,
   * naming `path`.
   *
   * Reduced-precision indexes write their stored codes (and i8 scales, per-dimension i8 scales, and
   * with `keepF32` the f32 copies): the file is about as small as the storage, and loads back with the same codes.
   */
  async save(path: string): Promise<void> {
    const native = this.#live()
    checkMetadata(this.metadata)
    const count = native.size()
    if (count * this.dim > MAX_EXPORT) {
      throw new SimsageError(
        ErrorCodes.UNSUPPORTED,
        `cannot save ${count} x ${this.dim} vectors: one snapshot holds at most ${MAX_EXPORT} values`,
      )
    }
    const coded = this.storage !== 'f32'
    const recBytes = coded ? native.stats().recordBytes : 0
    if (coded && count * recBytes > MAX_EXPORT) {
      throw new SimsageError(
        ErrorCodes.UNSUPPORTED,
        `cannot save ${count} rows of ${recBytes} bytes: one snapshot holds at most ${MAX_EXPORT} bytes`,
      )
    }
    let vectors: Float32Array | Uint8Array
    let ids: Float64Array
    try {
      vectors = coded ? new Uint8Array(count * recBytes) : new Float32Array(count * this.dim)
      ids = new Float64Array(count)
    } catch (e) {
      throw new SimsageError(ErrorCodes.OUT_OF_MEMORY, `cannot allocate a snapshot of ${count} x ${this.dim} vectors`, {
        cause: e,
      })
    }
    const out = vectors
    callNative(() =>
      out instanceof Uint8Array
        ? native.exportRecordsInto({ records: out, ids })
        : native.exportInto({ vectors: out, ids }),
    )
    const head = {
      dim: this.dim,
      metric: this.metric,
      normalized: this.metric === 'cosine',
      count,
      metadata: this.metadata,
      storage: this.storage,
      keepF32: this.keepF32,
      dimScales: this.i8Scales === 'dimension' ? (native.dimScales() ?? undefined) : undefined,
    }
    await writeIndexFile(path, head, vectors, ids)
  }

  /**
   * Loads an index written by {@link save}, verifying size, magic, version, fields and the SHA-256
   * checksum (any damage rejects with ERR_SIMSAGE_CORRUPT_FILE, an unknown format version with
   * ERR_SIMSAGE_UNSUPPORTED, a missing file with ERR_SIMSAGE_NOT_FOUND, a path that is not a regular
   * file and other file-system errors with ERR_SIMSAGE_IO). Nothing is returned unless every check
   * passes.
   *
   * The file is streamed, so it may exceed 2 GiB, and the event loop stays responsive throughout:
   * it is read asynchronously in 32 MiB blocks, each block is hashed in 1 MiB steps that yield to
   * the loop while the previous one goes in through a worker thread (as {@link addAsync} does).
   */
  static async load(path: string): Promise<EmbeddingIndex> {
    let index: EmbeddingIndex | undefined
    let rows = 0
    let normalized = false
    try {
      await readIndexFile(path, {
        begin: (head) => {
          index = new EmbeddingIndex({
            dim: head.dim,
            metric: head.metric,
            metadata: head.metadata,
            storage: head.storage,
            keepF32: head.keepF32,
            i8Scales: head.dimScales ? 'dimension' : 'vector',
          })
          normalized = head.normalized
          const native = index.#live()
          const dimScales = head.dimScales
          if (dimScales) {
            try {
              callNative(() => native.setDimScales({ scales: dimScales }))
            } catch (e) {
              throw new SimsageError(ErrorCodes.CORRUPT_FILE, `${path}: invalid dimension scales`, { cause: e })
            }
          }
          callNative(() => native.reserve({ rows: head.count }))
        },
        rows: async (ids, vectors) => {
          const native = (index as EmbeddingIndex).#live()
          try {
            await awaitNative(callNative(() => native.addAsync({ ids, vectors, normalized })))
          } catch (e) {
            if (e instanceof SimsageError && e.code !== ErrorCodes.OUT_OF_MEMORY) {
              throw new SimsageError(ErrorCodes.CORRUPT_FILE, `${path}: stored vectors are invalid: ${e.message}`, {
                cause: e,
              })
            }
            throw e
          }
          rows += ids.length
        },
        records: async (ids, records) => {
          const native = (index as EmbeddingIndex).#live()
          try {
            await awaitNative(callNative(() => native.addRecordsAsync({ ids, records })))
          } catch (e) {
            if (e instanceof SimsageError && e.code !== ErrorCodes.OUT_OF_MEMORY) {
              throw new SimsageError(ErrorCodes.CORRUPT_FILE, `${path}: stored vectors are invalid: ${e.message}`, {
                cause: e,
              })
            }
            throw e
          }
          rows += ids.length
        },
      })
    } catch (e) {
      index?.dispose()
      throw e
    }
    const loaded = index as EmbeddingIndex
    const distinct = loaded.size
    if (distinct !== rows) {
      loaded.dispose()
      throw new SimsageError(
        ErrorCodes.CORRUPT_FILE,
        `${path}: the file repeats ids (${rows} rows, ${distinct} distinct ids)`,
      )
    }
    return loaded
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

/** Elements one save snapshot can hold: the longest typed array (2^32 elements on Node 20). */
const MAX_EXPORT = 2 ** 32

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
