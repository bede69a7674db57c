/** Argument checks of the text family (internal). */
import { ErrorCodes, SimsageError } from '../errors.js'
import { describe } from '../validate.js'

const NON_SPACE = /\S/

/** Texts: a non-empty array of strings, each with a non-whitespace character. */
export function checkTexts(texts: unknown, name = 'texts'): string[] {
  if (!Array.isArray(texts)) {
    throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `${name} must be an array of strings, got ${describe(texts)}`)
  }
  for (let i = 0; i < texts.length; i++) checkText(texts[i], `${name}[${i}]`)
  return texts as string[]
}

/** One text: a string with a non-whitespace character. */
export function checkText(text: unknown, name = 'text'): string {
  if (typeof text !== 'string') {
    throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `${name} must be a string, got ${describe(text)}`)
  }
  if (!NON_SPACE.test(text)) {
    throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `${name} is empty (no non-whitespace character)`)
  }
  return text
}

/** A hash seed: an integer in [0, 2^53). */
export function checkSeed(seed: unknown, name = 'seed'): number {
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed) || seed < 0) {
    throw new SimsageError(
      ErrorCodes.INVALID_ARGUMENT,
      `${name} must be an integer in [0, 2^53), got ${describe(seed)}`,
    )
  }
  return seed
}

/** A size: an integer in [min, max] (ERR_SIMSAGE_DIM_MISMATCH otherwise). */
export function checkSize(v: unknown, name: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new SimsageError(
      ErrorCodes.DIM_MISMATCH,
      `${name} must be an integer in [${min}, ${max}], got ${describe(v)}`,
    )
  }
  return v
}
