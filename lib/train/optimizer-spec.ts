/**
 * Optimizers described by plain data, so that code which cannot share objects (a training worker,
 * a config file) can say which optimizer to build: `{ kind: 'adam', lr: 1e-3 }`.
 */
import { ErrorCodes, SimsageError } from '../errors.js'
import type { Parameter } from '../nn/module.js'
import { Adam, AdamW, SGD, type AdamOptions, type Optimizer, type SGDOptions } from '../nn/optim.js'
import { describe } from '../validate.js'

/** A serialisable optimizer: its kind plus that optimizer's options (see {@link Adam}, {@link AdamW}, {@link SGD}). */
export type OptimizerSpec =
  | ({ kind: 'adam' } & Omit<AdamOptions, 'decoupled'>)
  | ({ kind: 'adamw' } & Omit<AdamOptions, 'decoupled'>)
  | ({ kind: 'sgd' } & SGDOptions)

/** Builds the optimizer `spec` describes over `params`; the optimizer validates its options. */
export function createOptimizer(params: Iterable<Parameter>, spec: OptimizerSpec): Optimizer {
  if (spec === null || typeof spec !== 'object') {
    throw new SimsageError(
      ErrorCodes.INVALID_ARGUMENT,
      `optimizer must be { kind: 'adam' | 'adamw' | 'sgd', lr, ... }, got ${describe(spec)}`,
    )
  }
  const { kind, ...options } = spec
  switch (kind) {
    case 'adam':
      return new Adam(params, options)
    case 'adamw':
      return new AdamW(params, options)
    case 'sgd':
      return new SGD(params, options as SGDOptions)
    default:
      throw new SimsageError(
        ErrorCodes.INVALID_ARGUMENT,
        `optimizer kind must be 'adam', 'adamw' or 'sgd', got ${describe(kind)}`,
      )
  }
}
