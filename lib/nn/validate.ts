/**
 * Argument checks of the nn API only (internal); the generic ones are in lib/validate.ts. Each fails
 * before native work with a SimsageError that names the argument; the native side checks lengths again.
 */
import { ErrorCodes, SimsageError } from '../errors.js'
import { describe } from '../validate.js'

/** A positive integer feature count. */
export function checkFeatures(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 1 << 24) {
    throw new SimsageError(ErrorCodes.DIM_MISMATCH, `${name} must be an integer in [1, 16777216], got ${describe(v)}`)
  }
  return v
}

/** A non-negative integer batch size (rows of a forward or backward pass). */
export function checkBatchSize(v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 2 ** 31) {
    throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `batch must be a non-negative integer, got ${describe(v)}`)
  }
  return v
}

/** Throws unless forward() ran before backward(). */
export function needForward(ran: boolean, module: string): void {
  if (!ran) throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `${module}.backward() called before forward()`)
}
