/**
 * Argument checks of the similarity API only (internal); the generic ones (describe, checkDim,
 * checkMatrix, checkThreads) are in lib/validate.ts. Each fails before any native work with a
 * SimsageError naming the argument and what was expected; the native side checks sizes again.
 */
import { ErrorCodes, SimsageError } from '../errors.js'
import { describe } from '../validate.js'
import type { I8Scales, Metric, Storage } from './types.js'

export const METRICS: readonly Metric[] = ['ip', 'cosine', 'l2']

export function checkMetric(metric: unknown, name = 'metric'): Metric {
  if (typeof metric !== 'string' || !METRICS.includes(metric as Metric)) {
    throw new SimsageError(ErrorCodes.UNKNOWN_METRIC, `${name} must be 'ip', 'cosine' or 'l2', got ${describe(metric)}`)
  }
  return metric as Metric
}

const STORAGES = ['f32', 'bf16', 'f16', 'i8']

export function checkStorage(storage: unknown): Storage {
  if (typeof storage !== 'string' || !STORAGES.includes(storage)) {
    throw new SimsageError(
      ErrorCodes.INVALID_ARGUMENT,
      `storage must be 'f32', 'bf16', 'f16' or 'i8', got ${describe(storage)}`,
    )
  }
  return storage as Storage
}

export function checkI8Scales(scales: unknown): I8Scales {
  if (scales !== 'vector' && scales !== 'dimension') {
    throw new SimsageError(
      ErrorCodes.INVALID_ARGUMENT,
      `i8Scales must be 'vector' or 'dimension', got ${describe(scales)}`,
    )
  }
  return scales
}

export function checkK(k: unknown): number {
  if (typeof k !== 'number' || !Number.isInteger(k) || k <= 0 || k > 1 << 24) {
    throw new SimsageError(ErrorCodes.INVALID_K, `k must be a positive integer (at most 16777216), got ${describe(k)}`)
  }
  return k
}

/** Converts ids to the Float64Array the binding takes, checking each is a non-negative safe integer. */
export function toIdArray(ids: unknown, name = 'ids'): Float64Array {
  if (ids instanceof BigInt64Array || ids instanceof BigUint64Array) {
    const out = new Float64Array(ids.length)
    for (let i = 0; i < ids.length; i++) {
      const v = ids[i]
      if (v < 0n || v > BigInt(Number.MAX_SAFE_INTEGER)) throw badId(name, i, v)
      out[i] = Number(v)
    }
    return out
  }
  if (ids === null || typeof ids !== 'object' || typeof (ids as ArrayLike<number>).length !== 'number') {
    throw new SimsageError(
      ErrorCodes.INVALID_TYPE,
      `${name} must be an array or typed array of ids, got ${describe(ids)}`,
    )
  }
  const src = ids as ArrayLike<unknown>
  if (!Number.isSafeInteger(src.length) || src.length < 0 || src.length > 2 ** 32) {
    throw new SimsageError(
      ErrorCodes.INVALID_TYPE,
      `${name}.length must be an integer in [0, 4294967296], got ${describe(src.length)}`,
    )
  }
  const out = new Float64Array(src.length)
  for (let i = 0; i < src.length; i++) {
    const v = src[i]
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw badId(name, i, v)
    out[i] = v
  }
  return out
}

/** Like toIdArray for an iterable or array-like set of ids (e.g. a Set). */
export function toIdSet(ids: unknown, name: string): Float64Array {
  if (
    ids !== null &&
    typeof ids === 'object' &&
    typeof (ids as ArrayLike<number>).length !== 'number' &&
    Symbol.iterator in ids
  ) {
    return toIdArray(Array.from(ids as Iterable<unknown>) as number[], name)
  }
  return toIdArray(ids, name)
}

function badId(name: string, i: number, v: unknown): SimsageError {
  return new SimsageError(ErrorCodes.INVALID_ID, `${name}[${i}] = ${describe(v)} is not a non-negative safe integer`)
}
