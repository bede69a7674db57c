/**
 * Argument checks of the GRU API only (internal); the generic ones are in lib/validate.ts.
 */
import { ErrorCodes, SimsageError } from '../errors.js'
import { describe } from '../validate.js'

/** A size argument: an integer in [min, max] (ERR_SIMSAGE_DIM_MISMATCH otherwise). */
export function checkSize(v: unknown, name: string, min = 1, max = 1 << 24): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new SimsageError(
      ErrorCodes.DIM_MISMATCH,
      `${name} must be an integer in [${min}, ${max}], got ${describe(v)}`,
    )
  }
  return v
}

/** A Uint8Array of exactly `length` elements. */
export function checkU8(v: unknown, name: string, length: number): Uint8Array {
  if (!(v instanceof Uint8Array)) {
    throw new SimsageError(ErrorCodes.INVALID_TYPE, `${name} must be a Uint8Array, got ${describe(v)}`)
  }
  if (v.length !== length) {
    throw new SimsageError(ErrorCodes.DIM_MISMATCH, `${name} has length ${v.length}, expected ${length}`)
  }
  return v
}
