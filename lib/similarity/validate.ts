/**
 * Argument checks shared by the similarity API. Each fails before any native work with a
 * SimsageError naming the argument and what was expected; the native side checks sizes again.
 */
import { ErrorCodes, SimsageError } from '../errors.js'

/** Similarity metric: inner product, cosine similarity, or squared Euclidean distance. */
export type Metric = 'ip' | 'cosine' | 'l2'

/** Ids accepted at the API: non-negative safe integers. */
export type IdsInput = ArrayLike<number> | BigInt64Array | BigUint64Array

export const METRICS: readonly Metric[] = ['ip', 'cosine', 'l2']

export function checkMetric(metric: unknown, name = 'metric'): Metric {
  if (typeof metric !== 'string' || !METRICS.includes(metric as Metric)) {
    throw new SimsageError(ErrorCodes.UNKNOWN_METRIC, `${name} must be 'ip', 'cosine' or 'l2', got ${describe(metric)}`)
  }
  return metric as Metric
}

export function checkDim(dim: unknown, name = 'dim'): number {
  if (typeof dim !== 'number' || !Number.isInteger(dim) || dim <= 0 || dim > 1 << 20) {
    throw new SimsageError(ErrorCodes.DIM_MISMATCH, `${name} must be an integer in [1, 1048576], got ${describe(dim)}`)
  }
  return dim
}

export function checkK(k: unknown): number {
  if (typeof k !== 'number' || !Number.isInteger(k) || k <= 0 || k > 1 << 24) {
    throw new SimsageError(ErrorCodes.INVALID_K, `k must be a positive integer (at most 16777216), got ${describe(k)}`)
  }
  return k
}

export function checkThreads(threads: unknown): number | undefined {
  if (threads === undefined) return undefined
  if (typeof threads !== 'number' || !Number.isInteger(threads) || threads < 1 || threads > 256) {
    throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `threads must be an integer in [1, 256], got ${describe(threads)}`)
  }
  return threads
}

/** Checks a row-major Float32Array of rows x dim; returns rows. */
export function checkMatrix(data: unknown, dim: number, name: string, allowEmpty = true): number {
  if (!(data instanceof Float32Array)) {
    throw new SimsageError(ErrorCodes.INVALID_TYPE, `${name} must be a Float32Array (row-major, rows x ${dim}), got ${describe(data)}`)
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
    throw new SimsageError(ErrorCodes.INVALID_TYPE, `${name} must be an array or typed array of ids, got ${describe(ids)}`)
  }
  const src = ids as ArrayLike<unknown>
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
  if (ids !== null && typeof ids === 'object' && typeof (ids as ArrayLike<number>).length !== 'number' && Symbol.iterator in ids) {
    return toIdArray(Array.from(ids as Iterable<unknown>) as number[], name)
  }
  return toIdArray(ids, name)
}

function badId(name: string, i: number, v: unknown): SimsageError {
  return new SimsageError(ErrorCodes.INVALID_ID, `${name}[${i}] = ${describe(v)} is not a non-negative safe integer`)
}

export function describe(v: unknown): string {
  if (v === null) return 'null'
  if (v === undefined) return 'undefined'
  if (typeof v === 'bigint') return `${v}n`
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)
  if (typeof v !== 'object') return String(v)
  const ctor = (v as object).constructor?.name ?? 'object'
  if (ArrayBuffer.isView(v)) return `${ctor}(${(v as unknown as ArrayLike<unknown>).length ?? (v as DataView).byteLength})`
  if (Array.isArray(v)) return `Array(${v.length})`
  return ctor
}
