/**
 * simsage: learn and serve embeddings in Node over a native C++17/CUDA core.
 *
 * This entry point exports exact batched similarity search ({@link topk}, {@link EmbeddingIndex}),
 * library information and settings, and the error type.
 */
export { ErrorCodes, SimsageError, type ErrorCode } from './errors.js'
export { info, setSimd, setThreads, type Info, type SimdLevel } from './info.js'
export { EmbeddingIndex, type EmbeddingIndexOptions } from './similarity/embedding-index.js'
export type { IdSet, SearchOptions } from './similarity/options.js'
export { SearchResults, type Matches } from './similarity/results.js'
export { topk, topkAsync, type TopkOptions } from './similarity/topk.js'
export type { IdsInput, Metric } from './similarity/types.js'

// Metric learning (Deep Ranking): layers and optimizers, miners and losses, the online triplet
// sampler, training, evaluation and data loading.
export * from './nn/index.js'
export * from './mining/index.js'
export * from './temporal/index.js'
export { TripletSampler, type TripletSamplerOptions } from './mining/sampler.js'
export { embed, loadTower, rankingTower, saveTower, type TowerSpec } from './models/ranking-tower.js'
export {
  trainRanking,
  type EpochMetrics,
  type RankingLoopOptions,
  type RankingTrainOptions,
  type TripletSource,
} from './train/ranking.js'
export {
  trainRankingInWorker,
  type RankingWorkerOptions,
  type RankingWorkerResult,
  type TrainingProgress,
} from './train/ranking-in-worker.js'
export { createOptimizer, type OptimizerSpec } from './train/optimizer-spec.js'
export { progressSink, type ProgressSink } from './train/progress.js'
export {
  decodeSafetensors,
  encodeSafetensors,
  loadSafetensors,
  saveSafetensors,
  type Tensor,
} from './io/safetensors.js'
export {
  runRankingExperiment,
  type ExperimentResult,
  type ExperimentRow,
  type RankingExperimentOptions,
} from './train/experiment.js'
export {
  labelTriplets,
  retrievalMetrics,
  similarityPrecision,
  type LabeledEmbeddings,
  type RetrievalMetrics,
  type RetrievalOptions,
} from './eval/retrieval.js'
export { decodeIdx, encodeIdx, readIdx, type IdxTensor } from './io/idx.js'
export { FASHION_CLASSES, filterClasses, loadFashionMnist, type LabeledImages } from './data/fashion-mnist.js'
export * from './temporal/gru-exports.js'
