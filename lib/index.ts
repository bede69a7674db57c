/**
 * simsage: learn and serve embeddings in Node over a native C++17/CUDA core.
 *
 * This entry point exports exact batched similarity search ({@link topk}, {@link EmbeddingIndex}),
 * library information and settings, and the error type.
 */
export { ErrorCodes, SimsageError, type ErrorCode } from './errors.js'
export { info, probeFmaPeak, probeReadBandwidth, setSimd, setThreads, type Info, type SimdLevel } from './info.js'
export { EmbeddingIndex, type EmbeddingIndexOptions } from './similarity/embedding-index.js'
export type { IdSet, SearchOptions } from './similarity/options.js'
export { SearchResults, type Matches } from './similarity/results.js'
export { topk, topkAsync, type TopkOptions } from './similarity/topk.js'
export type { IdsInput, Metric } from './similarity/validate.js'
