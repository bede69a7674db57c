/**
 * Generic argument checks shared by every family (internal). Each fails before any native work with
 * a SimsageError that names the argument and what was expected; the native side checks sizes again.
 * Checks that belong to one family live beside it with names of their own: lib/similarity/validate.ts
 * (metric, k, ids), lib/mining/validate.ts (distance metric, margin, embedding batch, labels),
 * lib/nn/validate.ts (feature counts, batch size, forward-before-backward).
 */
import { ErrorCodes, SimsageError } from './errors.js'

/** A short description of any value for error messages: `Float32Array(12)`, `"abc"`, `3n`, `Object`. */
export function describe(v: unknown): string {
  if (v === null) return 'null'
  if (v === undefined) return 'undefined'
  if (typeof v === 'bigint') return `${v}n`
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)
  if (typeof v === 'function') return 'function'
  if (typeof v !== 'object') return String(v)
  const ctor = (v as object).constructor?.name ?? 'object'
  if (ArrayBuffer.isView(v))
    return `${ctor}(${(v as unknown as ArrayLike<unknown>).length ?? (v as DataView).byteLength})`
  if (Array.isArray(v)) return `Array(${v.length})`
  return ctor
}

/** A vector dimension: an integer in [1, 2^20] (ERR_SIMSAGE_DIM_MISMATCH otherwise). */
export function checkDim(dim: unknown, name = 'dim'): number {
  if (typeof dim !== 'number' || !Number.isInteger(dim) || dim <= 0 || dim > 1 << 20) {
    throw new SimsageError(ErrorCodes.DIM_MISMATCH, `${name} must be an integer in [1, 1048576], got ${describe(dim)}`)
  }
  return dim
}

/** A per-call thread count: undefined (the process-wide default) or an integer in [1, 256]. */
export function checkThreads(threads: unknown): number | undefined {
  if (threads === undefined) return undefined
  if (typeof threads !== 'number' || !Number.isInteger(threads) || threads < 1 || threads > 256) {
    throw new SimsageError(
      ErrorCodes.INVALID_ARGUMENT,
      `threads must be an integer in [1, 256], got ${describe(threads)}`,
    )
  }
  return threads
}

/** Checks a row-major Float32Array of rows x dim; returns rows. */
export function checkMatrix(data: unknown, dim: number, name: string, allowEmpty = true): number {
  if (!(data instanceof Float32Array)) {
    throw new SimsageError(
      ErrorCodes.INVALID_TYPE,
      `${name} must be a Float32Array (row-major, rows x ${dim}), got ${describe(data)}`,
    )
  }
  if (data.length % dim !== 0) {
    throw new SimsageError(
      ErrorCodes.DIM_MISMATCH,
      `${name} has length ${data.length}, which is not a multiple of dim ${dim}`,
    )
  }
  if (!allowEmpty && data.length === 0) {
    throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `${name} must not be empty`)
  }
  return data.length / dim
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

/** A boolean. */
export function checkBool(v: unknown, name: string): boolean {
  if (typeof v !== 'boolean') {
    throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `${name} must be a boolean, got ${describe(v)}`)
  }
  return v
}

/** An output byte buffer (a stream's save(stream, out)): a Uint8Array of exactly `size` bytes. */
export function checkBytesOut(out: unknown, size: number): void {
  if (!(out instanceof Uint8Array)) {
    throw new SimsageError(ErrorCodes.INVALID_TYPE, `out must be a Uint8Array, got ${describe(out)}`)
  }
  if (out.length !== size) {
    throw new SimsageError(ErrorCodes.DIM_MISMATCH, `out has ${out.length} bytes; the state has ${size}`)
  }
}
