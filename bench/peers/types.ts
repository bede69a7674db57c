/**
 * Common shape of every tool the similarity benchmark times: simsage itself and its peers.
 *
 * The runner calls `available()` once, then `build()` whenever the build key changes (see
 * `rebuildOn`), `search()` for each timed repetition, and `dispose()` when it moves on to the
 * next tool, so at most one tool holds its copy of the corpus at a time.
 */

/** Search output: row-major ids, `nq * k` entries, best first within a row. */
export interface SearchHits {
  /** Ids of query `i` are `ids[i * k .. i * k + k)`; numbers or bigints, whatever the tool returns. */
  readonly ids: ArrayLike<number | bigint>
}

/** What one build of a tool depends on. */
export interface BuildParams {
  /** Row-major corpus, `n * dim` float32; the adapter may keep a reference or copy it. */
  readonly corpus: Float32Array
  readonly n: number
  readonly dim: number
  /** Threads the following searches will use (for tools that fix it at build time). */
  readonly threads: number
  /** k the following searches will use (for tools that bake it into a graph). */
  readonly k: number
}

/** One benchmarked tool. */
export interface SimilarityTool {
  /** Row label in the tables, e.g. `"usearch exactSearch"`. */
  readonly name: string
  /** True for simsage's own rows; the ratio column compares them to the best non-simsage row. */
  readonly isSimsage: boolean
  /**
   * True when one call processes the whole query batch (always timed on the full batch); false
   * when queries are processed independently, so the runner may time a prefix of the batch.
   */
  readonly batched: boolean
  /** Largest thread count the tool can use; cells above it are reported as n/a. */
  readonly maxThreads: number
  /** Which parameter changes force a rebuild (and dispose of the previous build). */
  readonly rebuildOn: { readonly threads: boolean; readonly k: boolean }
  /** Loads the tool (dynamic `import()`); resolves to `true`, or to the reason it is skipped. */
  available(): Promise<true | string>
  /** Builds the index, graph or copy; its duration is reported and excluded from search timing. */
  build(params: BuildParams): Promise<void>
  /**
   * Optional: converts the query batch to the tool's own input form (e.g. `number[]` rows) before
   * timing starts, so the timed region holds only the search call.
   */
  prepare?(queries: Float32Array, nq: number, dim: number): void
  /** Top-k (largest inner product) of `nq` queries (`nq * dim` float32, row-major). */
  search(queries: Float32Array, nq: number, k: number, threads: number): Promise<SearchHits> | SearchHits
  /** Releases what `build()` made. Safe to call twice. */
  dispose(): void
  /** One-line description of the exact API used, printed under the tables. */
  readonly describe: string
}
