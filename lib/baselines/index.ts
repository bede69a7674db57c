/** Non-neural next-item baselines (HierTCN protocol): most-popular and last-item co-occurrence. */
export { cooccurrence, transitionCounts, type CooccurrenceOptions, type TransitionCounts } from './cooccurrence.js'
export { higherCounts, mostPopular } from './popular.js'
export { checkUsers, evaluateBaseline, type NextItemScorer } from './scorer.js'
