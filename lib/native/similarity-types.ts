/**
 * Raw binding of the similarity family (native/addon/similarity.cpp, similarity_index.cpp), typed
 * once (internal). Ids cross the boundary as Float64Array holding non-negative safe integers;
 * vectors as row-major Float32Array.
 */

/** Arguments of every native search call. */
export interface RawSearchArgs {
  queries: Float32Array
  dim: number
  k: number
  metric?: string
  threads?: number
  /** Index searches: re-score the best max(rerank, k) exactly from the f32 copies. */
  rerank?: number
  allow?: Float64Array
  deny?: Float64Array
  /** nq + 1 offsets into excludeIds (CSR), as integers in a Float64Array. */
  excludeOffsets?: Float64Array
  excludeIds?: Float64Array
}

export interface RawTopkArgs extends RawSearchArgs {
  corpus: Float32Array
}

export interface RawSearchResult {
  ids: Float64Array
  scores: Float32Array
  counts: Int32Array
  k: number
  simd: string
  threads: number
  backend: string
  /** The scan kernel: 'f32', '<storage>-widen', or a fast path: 'bf16-dpbf16', 'i8-vnni' (similarity.h). */
  kernel: string
  /** The final order came from exact f32 re-scoring. */
  reranked: boolean
}

/** NativeIndex.stats(). */
export interface RawIndexStats {
  storage: string
  keepF32: boolean
  rows: number
  vectorBytes: number
  /** Bytes of one row's record (exportRecordsInto / addRecordsAsync; 'f32': dim x 4). */
  recordBytes: number
  heldBytes: number
  quantizeSeconds: number
  quantizedRows: number
  /** 'i8': 'vector' or 'dimension' scales (others: 'vector'). */
  i8Scales: string
  /** Values saturated by the per-dimension i8 scales. */
  saturatedValues: number
}

/** Ids and vectors of NativeIndex.add / addAsync. */
export interface RawAddArgs {
  /** n ids: non-negative safe integers (a BigInt64Array is range-checked natively). */
  ids: Float64Array | BigInt64Array
  /** n x dim row-major. */
  vectors: Float32Array
  /** The vectors are already unit length (a loaded cosine file): skip renormalising. */
  normalized?: boolean
}

export interface RawNativeIndex {
  add(args: RawAddArgs): void
  /** Runs on a libuv worker thread; `vectors` is not copied (do not modify it until it settles). */
  addAsync(args: RawAddArgs): Promise<void>
  remove(args: { ids: Float64Array }): number
  has(args: { id: number }): boolean
  size(): number
  reserve(args: { rows: number }): void
  searchSync(args: RawSearchArgs): RawSearchResult
  searchAsync(args: RawSearchArgs): Promise<RawSearchResult>
  /** vectors: size x dim, ids: size; returns the rows written. */
  exportInto(args: { vectors: Float32Array; ids: Float64Array }): number
  /** Reduced precision: rows as stored records (the index file's layout); returns the rows written. */
  exportRecordsInto(args: { records: Uint8Array; ids: Float64Array }): number
  /** Reduced precision: adds stored records as they are (no re-encoding), on a libuv worker thread. */
  addRecordsAsync(args: { ids: Float64Array | BigInt64Array; records: Uint8Array }): Promise<void>
  stats(): RawIndexStats
  /** Per-dimension i8 scales (dim values), or null while none are learned / set. */
  dimScales(): Float32Array | null
  /** Sets the per-dimension i8 scales of an empty index with i8Scales 'dimension'. */
  setDimScales(args: { scales: Float32Array }): void
  dispose(): void
  disposed(): boolean
}

/** The similarity family's functions on the binding. */
export interface RawSimilarityBinding {
  topkSync(args: RawTopkArgs): RawSearchResult
  topkAsync(args: RawTopkArgs): Promise<RawSearchResult>
  NativeIndex: new (args: {
    dim: number
    metric: string
    storage?: string
    keepF32?: boolean
    i8Scales?: string
  }) => RawNativeIndex
}
