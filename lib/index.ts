/**
 * simsage: learn and serve embeddings in Node over a native C++17/CUDA core.
 *
 * This entry point exports exact batched similarity search ({@link topk}, {@link EmbeddingIndex}),
 * library information and settings, and the error type.
 */
export { ErrorCodes, SimsageError, type ErrorCode } from './errors.js'
export { info, setBackend, setSimd, setThreads, type Info, type SimdLevel } from './info.js'
export { EmbeddingIndex, type EmbeddingIndexOptions, type IndexStats } from './similarity/embedding-index.js'
export type { IdSet, IndexSearchOptions, SearchOptions } from './similarity/options.js'
export { SearchResults, type Matches } from './similarity/results.js'
export { topk, topkAsync, type TopkOptions } from './similarity/topk.js'
export type { I8Scales, IdsInput, Metric, Storage } from './similarity/types.js'

// Metric learning (Deep Ranking): layers and optimizers, miners and losses, the online triplet
// sampler, training, evaluation and data loading.
export * from './nn/index.js'
export * from './mining/index.js'
export * from './temporal/index.js'
export * from './text/index.js'
export { TripletSampler, type TripletSamplerOptions } from './mining/sampler.js'
export { embed, loadTower, rankingTower, saveTower, type TowerSpec } from './models/ranking-tower.js'
export {
  ConvTower,
  checkConvTowerSpec,
  defaultConvTowerSpec,
  type ConvTowerSpec,
  type TowerType,
} from './models/conv-tower.js'
export {
  loadAnyTower,
  loadConvTower,
  saveConvTower,
  towerTypeOf,
  type LoadedTower,
} from './models/conv-tower-checkpoint.js'
export { Branches, namedParameters, type BranchPath } from './models/branches.js'
export { ImageAugmenter, type ImageAugmentOptions } from './data/augment.js'
export {
  scheduledLr,
  trainRanking,
  type EpochMetrics,
  type LrSchedule,
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
export * from './data/sessions-index.js'
export * from './temporal/gru-exports.js'
export { fashionMnistSmallPath } from './data/fashion-mnist.js'

// Next-item recommendation (HierTCN): models, losses, serving, training and checkpoints.
export { HierTCN, checkHierTCNSpec, type HierTCNSpec, type Predictions } from './models/hiertcn.js'
export { GRU4Rec, type GRU4RecSpec } from './models/gru4rec.js'
export { NextItemLoss, type NextItemLossKind, type NextItemLossOptions } from './models/next-item-loss.js'
export {
  HierTCNRecommender,
  type Recommendation,
  type RecommendOptions,
  type ServingHistory,
} from './models/hiertcn-recommender.js'
export { ActionLanes, type ActionLanesOptions, type LaneBatch } from './data/action-lanes.js'
export { Embedding, type EmbeddingOptions } from './nn/embedding.js'
export {
  HIERTCN_DEFAULTS,
  runHierTCNExperiment,
  type HierTCNExperimentOptions,
  type HierTCNResult,
  type HierTCNRow,
} from './train/hiertcn.js'
export { itemIndex, loadHierTCN, saveHierTCN } from './train/hiertcn-checkpoint.js'
export { BatchPrefetcher } from './train/hiertcn-prefetch.js'

// ONNX: export (opset 17) and onnxruntime-node encoders.
export * from './onnx/index.js'

// Query → entity retrieval (OmniSearchSage): commit logs, their retrieval tasks, the TF-IDF
// baseline and the pair-recall protocol.
export { loadCommits, splitCommits, type Commit, type CommitSplit, type CommitSplitOptions } from './data/commits.js'
export { commitSearchData, type CommitSearchData, type FileEntities, type TaskPairs } from './data/commit-search.js'
export {
  entityFieldTexts,
  type EntityCatalog,
  type EntityField,
  type SearchData,
} from './data/search-data.js'
export { loadSearchJsonl, type SearchJsonlOptions } from './data/search-jsonl.js'
export { TfidfIndex, tfidfTerms, wordTokens, withBigrams } from './baselines/tfidf.js'
export {
  byPopularity,
  pairRecall,
  type PairRecall,
  type PairRecallInput,
  type PairRecallOptions,
} from './eval/pair-recall.js'
export { CountMinSketch, type CountMinOptions } from './search/count-min.js'
export {
  expectedDrawsLogQ,
  SampledSoftmaxLoss,
  type SampledSoftmaxOptions,
  type SampledSoftmaxStep,
} from './search/sampled-softmax.js'
// OmniSearchSage training, evaluation, checkpoints and embedding (also the CLI's `train searchsage`
// and `embed`).
export {
  entityTaskSplit,
  hasEntityTask,
  trainSearchSage,
  type FrozenRows,
  type SearchSageModel,
  type SearchSageOptions,
  type SearchSageTasks,
  type SearchSageTowersView,
} from './train/searchsage.js'
export { embedItems, embedQueries, evaluateSearchSage, recallByDot } from './train/searchsage-eval.js'
export { loadSearchSage, saveSearchSage, type SearchSageTowers } from './search/checkpoint.js'
export { embedJsonl, embedToIndex, type EmbedOptions, type EmbedTower } from './search/embed-jsonl.js'
export { prefixRows } from './search/prefix.js'
export { TextTower, type TextTowerSpec } from './search/towers.js'
// Serving over HTTP (fastify, loaded on first use): the server, its micro-batcher, user-state
// stores, HierTCN streaming.
export { createRedisStateStore, createServer } from './serve/entry.js'
export type { ServerOptions, SimsageServer } from './serve/server.js'
export type { RedisStateStore, RedisStateStoreOptions } from './serve/redis-store.js'
export { type BatcherOptions, MicroBatcher } from './serve/batcher.js'
export { HierTCNStreamer, type StreamEvent, type StreamerOptions } from './serve/hiertcn-stream.js'
export { MemoryStateStore, type StateStore, type Versioned, updateWithRetries } from './serve/state-store.js'
export type { UserState } from './serve/user-state.js'
export {
  mergeTopK,
  ShardRouter,
  type ShardMatches,
  type ShardRouterOptions,
  type ShardSearch,
  shardOf,
} from './serve/shards.js'
