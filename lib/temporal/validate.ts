/**
 * Argument checks of the temporal API only (internal); generic ones are in lib/validate.ts and
 * lib/nn/validate.ts. Each fails before native work with a SimsageError naming the argument.
 */
import { ErrorCodes, SimsageError } from '../errors.js'
import type { RandomSource } from '../random.js'
import { describe } from '../validate.js'

/** An integer option in [1, max] (kernel size, dilation): ERR_SIMSAGE_INVALID_ARGUMENT otherwise. */
export function checkPositiveOption(v: unknown, name: string, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max) {
    throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `${name} must be an integer in [1, ${max}], got ${describe(v)}`)
  }
  return v
}

/** A non-negative integer sequence length. */
export function checkSteps(v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 2 ** 31) {
    throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `steps must be a non-negative integer, got ${describe(v)}`)
  }
  return v
}

/** batch x steps rows must stay addressable. */
export function checkRows(batch: number, steps: number, width: number): void {
  if (batch * steps * width > 2 ** 40) {
    throw new SimsageError(ErrorCodes.DIM_MISMATCH, `batch ${batch} x steps ${steps} x ${width} is too large`)
  }
}

/** A RandomSource (an object with next(): number in [0, 1)). */
export function checkRng(rng: unknown): RandomSource {
  if (typeof (rng as RandomSource | undefined)?.next !== 'function') {
    throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, 'rng must have a next(): number method')
  }
  return rng as RandomSource
}

/** Uniform in [-bound, bound). */
export function fillUniform(a: Float32Array, bound: number, rng: RandomSource): void {
  for (let i = 0; i < a.length; i++) a[i] = -bound + 2 * bound * rng.next()
}
