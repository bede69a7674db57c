/**
 * The named ways to draw training triplets for a ranking tower (the rows of `simsage experiment
 * ranking`, the `--method` of `simsage train ranking`, the `method` of `trainRankingInWorker`):
 * each miner, with the loss it is paired with, and the Deep Ranking online sampler.
 */
import {
  BatchAllMiner,
  BatchHardMiner,
  DistanceWeightedMiner,
  SemiHardMiner,
  TripletMarginMiner,
  type TripletMiner,
} from '../mining/miners.js'
import type { TripletSource } from './ranking.js'

/** How one row trains: its triplet source and, where it departs from the Deep Ranking hinge on
 * squared distances, its loss. */
export interface RankingMethod {
  source: TripletSource
  distance?: 'squared' | 'euclidean'
  softMargin?: boolean
}

/** Model names and how each trains (a fresh miner per call). */
export function rankingModels(o: {
  margin: number
  bufferSize: number
  seed: number
}): Record<string, () => RankingMethod> {
  const miner = (m: TripletMiner): RankingMethod => ({ source: { kind: 'miner', miner: m } })
  return {
    'batch-all': () => miner(new BatchAllMiner({ onlyViolating: true, margin: o.margin, metric: 'sqeuclidean' })),
    'batch-hard': () => miner(new BatchHardMiner({ metric: 'sqeuclidean' })),
    // Hermans et al. 2017 ("In Defense of the Triplet Loss"): batch-hard on Euclidean distances
    // with the soft margin log(1 + exp(D(a,p) - D(a,n))).
    'batch-hard-soft': () => ({
      source: { kind: 'miner', miner: new BatchHardMiner({ metric: 'euclidean' }) },
      distance: 'euclidean',
      softMargin: true,
    }),
    'semi-hard': () => miner(new SemiHardMiner({ metric: 'sqeuclidean' })),
    'distance-weighted': () => miner(new DistanceWeightedMiner({ seed: o.seed })),
    'margin-semihard': () =>
      miner(new TripletMarginMiner({ margin: o.margin, type: 'semihard', metric: 'sqeuclidean' })),
    'margin-hard': () => miner(new TripletMarginMiner({ margin: o.margin, type: 'hard', metric: 'sqeuclidean' })),
    'deep-ranking-sampler': () => ({ source: { kind: 'sampler', bufferSize: o.bufferSize, outOfClassFraction: 0.5 } }),
  }
}
