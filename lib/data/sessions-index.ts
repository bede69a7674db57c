/**
 * Interaction logs for next-item recommendation (HierTCN): the CSV loader, the user split, the
 * queue-based session batch generator, the ranking metrics and the non-neural baselines.
 */
export {
  DEFAULT_SESSION_GAP,
  InteractionLog,
  itemCounts,
  loadInteractions,
  parseTimestamp,
  type LoadInteractionsOptions,
  type UserHistory,
} from './sessions.js'
export { hashUserId, splitUsers, type SplitUsersOptions, type UserSplit } from './split-users.js'
export {
  PAD,
  paddedHistoryBytes,
  SESSION_START,
  SessionBatches,
  type SessionBatch,
  type SessionBatchesOptions,
} from './session-batches.js'
export {
  type LogPartition,
  PartitionedLog,
  type SpillDescription,
  type SpillOptions,
  spillInteractions,
} from './partitioned-log.js'
export { epochPartitions, logReader, type QueuedUser, type UserReader } from './user-order.js'
export { RankingMetrics, rankOf, type RankingResult } from '../eval/ranking.js'
export * from '../baselines/index.js'
