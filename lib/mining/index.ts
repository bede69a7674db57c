/**
 * Triplet mining for metric learning: pairwise distance matrices, miners (batch-all, batch-hard,
 * semi-hard, distance-weighted, pytorch-metric-learning's TripletMarginMiner) and the triplet loss
 * with its gradient.
 */
export { DistanceMatrix, pairwiseDistances, type PairwiseOptions } from './distances.js'
export { tripletLoss, type TripletLossOptions, type TripletLossResult } from './loss.js'
export { Triplets, type MiningRan, type Triplet } from './triplets.js'
export {
  BatchAllMiner,
  BatchHardMiner,
  DistanceWeightedMiner,
  SemiHardMiner,
  TripletMarginMiner,
  type BatchAllOptions,
  type DistanceWeightedOptions,
  type MinerOptions,
  type TripletMarginOptions,
  type TripletMiner,
  type TripletType,
} from './miners.js'
export type { DistanceMetric, Labels } from './types.js'
