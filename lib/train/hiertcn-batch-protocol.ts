/**
 * What the HierTCN batch prefetcher (hiertcn-prefetch.ts) and its worker entry
 * (hiertcn-batch-worker.ts) share. Kept apart from the worker entry, whose top level runs the
 * worker: importing it from the package would start a batch loop in any worker thread.
 */
import type { SpillDescription } from '../data/partitioned-log.js'
import type { SessionArrays } from '../data/session-group.js'

/** How the worker finds the log. */
export type BatchSource =
  | { kind: 'arrays'; arrays: SessionArrays & { numUsers: number }; partitionUsers?: number }
  | { kind: 'spill'; spill: SpillDescription }

/** The typed-array fields of a batch, in transfer order. */
export const BATCH_ARRAYS = [
  'input',
  'target',
  'items',
  'length',
  'carry',
  'gap',
  'user',
  'offset',
  'piece',
  'sessionEnd',
] as const
