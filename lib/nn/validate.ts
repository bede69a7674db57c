/**
 * Argument checks of the nn API (internal). Each fails before native work with a SimsageError that
 * names the argument; the native side checks lengths again.
 */
import { ErrorCodes, SimsageError } from '../errors.js'

export function describe(v: unknown): string {
  if (v === null) return 'null'
  if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${(v as unknown as ArrayLike<unknown>).length})`
  if (Array.isArray(v)) return `Array(${v.length})`
  if (typeof v === 'number' || typeof v === 'boolean') return String(v)
  if (typeof v === 'string') return JSON.stringify(v)
  return typeof v
}

/** A positive integer feature count. */
export function checkFeatures(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 1 << 24) {
    throw new SimsageError(ErrorCodes.DIM_MISMATCH, `${name} must be an integer in [1, 16777216], got ${describe(v)}`)
  }
  return v
}

/** A non-negative integer batch size. */
export function checkBatch(v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 2 ** 31) {
    throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `batch must be a non-negative integer, got ${describe(v)}`)
  }
  return v
}

/** A Float32Array of exactly `length` elements (length undefined: any). */
export function checkF32(v: unknown, name: string, length?: number, shape?: string): Float32Array {
  if (!(v instanceof Float32Array)) {
    throw new SimsageError(ErrorCodes.INVALID_TYPE, `${name} must be a Float32Array, got ${describe(v)}`)
  }
  if (length !== undefined && v.length !== length) {
    throw new SimsageError(
      ErrorCodes.DIM_MISMATCH,
      `${name} has length ${v.length}, expected ${length}${shape ? ` (${shape})` : ''}`,
    )
  }
  return v
}

/** A finite number in [lo, hi] (open ends when asked): NaN / Infinity -> NON_FINITE. */
export function checkNumber(v: unknown, name: string, lo: number, hi: number, openLo = false, openHi = false): number {
  if (typeof v !== 'number') {
    throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `${name} must be a number, got ${describe(v)}`)
  }
  if (!Number.isFinite(v)) throw new SimsageError(ErrorCodes.NON_FINITE, `${name} must be finite, got ${v}`)
  if ((openLo ? v <= lo : v < lo) || (openHi ? v >= hi : v > hi)) {
    const range = `${openLo ? '(' : '['}${lo}, ${hi}${openHi ? ')' : ']'}`
    throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `${name} must be in ${range}, got ${v}`)
  }
  return v
}

export function checkBool(v: unknown, name: string): boolean {
  if (typeof v !== 'boolean') {
    throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `${name} must be a boolean, got ${describe(v)}`)
  }
  return v
}

/** Throws unless forward() ran before backward(). */
export function needForward(ran: boolean, module: string): void {
  if (!ran) throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `${module}.backward() called before forward()`)
}
