/**
 * Raw binding types of the mining family (internal; lib/mining/ wraps them). Embeddings are
 * row-major Float32Array (B x dim), labels Int32Array (B), triplets flat Int32Array (T x 3: a, p, n).
 */

/** Distance metric names the native side accepts. */
export type RawDistanceMetric = 'sqeuclidean' | 'euclidean' | 'cosine' | 'dot'

export interface RawPairwiseArgs {
  embeddings: Float32Array
  dim: number
  metric: RawDistanceMetric
  /** B * B floats, overwritten. */
  out: Float32Array
  threads?: number
}

export interface RawMineArgs {
  embeddings: Float32Array
  labels: Int32Array
  dim: number
  miner: 'filter' | 'batchHard' | 'semiHard' | 'distanceWeighted'
  metric?: RawDistanceMetric
  margin?: number
  /** Filter miner only: 'any' | 'all' | 'hard' | 'semihard' | 'easy'. */
  type?: string
  /** Filter miner only: most triplets returned (the first in (a, p, n) order); -1 or absent: all. */
  maxTriplets?: number
  cutoff?: number
  nonzeroLossCutoff?: number
  /** Non-negative safe integer. */
  seed?: number
  threads?: number
  /** B * B floats the miner computes its distance matrix into (overwritten); allocated per call when absent. */
  distanceBuffer?: Float32Array
}

/** The backend a mining call ran on. */
export type RawMiningBackend = 'cpu' | 'cuda'

export interface RawMineResult {
  triplets: Int32Array
  /** Triplets that passed the filter (more than triplets.length / 3 when maxTriplets cut the list). */
  total: number
  /** Where the miner ran (distance-weighted sampling: always 'cpu'). */
  backend: RawMiningBackend
}

export interface RawTripletLossArgs {
  embeddings: Float32Array
  dim: number
  triplets: Int32Array
  margin?: number
  distance?: 'squared' | 'euclidean'
  softMargin?: boolean
  /** B * dim floats, overwritten with d loss / d embeddings. */
  grad?: Float32Array
  threads?: number
}

export interface RawMiningBinding {
  /** Returns the SIMD level active and the backend that ran. */
  miningPairwise(args: RawPairwiseArgs): { simd: string; backend: RawMiningBackend }
  miningMine(args: RawMineArgs): RawMineResult
  miningTripletLoss(args: RawTripletLossArgs): { loss: number; active: number; backend: RawMiningBackend }
}
