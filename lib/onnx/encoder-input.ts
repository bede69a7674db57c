/**
 * Checks of {@link OnnxEncoder}'s options and inputs: element type against the model's input,
 * shape against its declared dims (symbolic dims take any size), finite floats.
 */
import { ErrorCodes, SimsageError } from '../errors.js'
import { describe } from '../validate.js'

/** Input element types an {@link OnnxEncoder} accepts. */
export type OnnxInputType = 'float32' | 'int64' | 'int32'

/** Input arrays: Float32Array for float32 models, BigInt64Array (or Int32Array, widened) for int64, Int32Array for int32. */
export type OnnxInput = Float32Array | BigInt64Array | Int32Array

const GRAPH_OPTIMIZATION = ['disabled', 'basic', 'extended', 'all'] as const
/** onnxruntime's graph optimisation levels. */
export type GraphOptimization = (typeof GRAPH_OPTIMIZATION)[number]

/** An integer option in [lo, hi], or the default when undefined. */
export function intOption(v: unknown, name: string, lo: number, hi: number, fallback: number): number {
  if (v === undefined) return fallback
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
    throw new SimsageError(
      ErrorCodes.INVALID_ARGUMENT,
      `${name} must be an integer in [${lo}, ${hi}], got ${describe(v)}`,
    )
  }
  return v
}

/** A graph optimisation level, or 'all' when undefined. */
export function optimizationOption(v: unknown): GraphOptimization {
  if (v === undefined) return 'all'
  if (!(GRAPH_OPTIMIZATION as readonly unknown[]).includes(v)) {
    throw new SimsageError(
      ErrorCodes.INVALID_ARGUMENT,
      `graphOptimization must be one of ${GRAPH_OPTIMIZATION.join(', ')}, got ${describe(v)}`,
    )
  }
  return v as GraphOptimization
}

/** Checks `x` against the input type; returns it as the array onnxruntime takes (Int32Array → BigInt64Array for int64). */
export function checkInputArray(x: unknown, type: OnnxInputType): OnnxInput {
  const ok =
    type === 'float32'
      ? x instanceof Float32Array
      : type === 'int32'
        ? x instanceof Int32Array
        : x instanceof BigInt64Array || x instanceof Int32Array
  if (!ok) {
    const want =
      type === 'float32' ? 'a Float32Array' : type === 'int32' ? 'an Int32Array' : 'a BigInt64Array or Int32Array'
    throw new SimsageError(
      ErrorCodes.INVALID_TYPE,
      `input must be ${want} (the model's input is ${type}), got ${describe(x)}`,
    )
  }
  if (x instanceof Float32Array) {
    for (let i = 0; i < x.length; i++) {
      if (!Number.isFinite(x[i])) {
        throw new SimsageError(ErrorCodes.NON_FINITE, `input holds a non-finite value (${x[i]}) at index ${i}`)
      }
    }
  }
  if (type === 'int64' && x instanceof Int32Array) return BigInt64Array.from(x, (v) => BigInt(v))
  return x as OnnxInput
}

/**
 * The full input shape: `shape` if given (checked against the length and the model's dims), else
 * [rows, ...fixed dims] when every dim after the first is fixed. Throws ERR_SIMSAGE_DIM_MISMATCH.
 */
export function inputShape(
  length: number,
  shape: readonly number[] | undefined,
  modelDims: readonly (number | string)[],
): number[] {
  if (shape === undefined) {
    const rest = modelDims.slice(1)
    if (modelDims.length === 0 || rest.some((d) => typeof d !== 'number' || d < 0)) {
      throw new SimsageError(
        ErrorCodes.DIM_MISMATCH,
        `the model's input has dims [${modelDims.join(', ')}]: pass the input's shape`,
      )
    }
    const row = (rest as number[]).reduce((a, b) => a * b, 1)
    if (row === 0 || length % row !== 0) {
      throw new SimsageError(ErrorCodes.DIM_MISMATCH, `input length ${length} is not rows x ${rest.join(' x ') || 1}`)
    }
    return [length / row, ...(rest as number[])]
  }
  if (!Array.isArray(shape) || shape.length === 0 || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new SimsageError(
      ErrorCodes.INVALID_ARGUMENT,
      `shape must be a non-empty list of sizes >= 0, got ${describe(shape)}`,
    )
  }
  if (modelDims.length > 0) {
    const bad =
      shape.length !== modelDims.length ||
      shape.some((d, i) => i > 0 && typeof modelDims[i] === 'number' && modelDims[i] >= 0 && modelDims[i] !== d)
    if (bad) {
      throw new SimsageError(
        ErrorCodes.DIM_MISMATCH,
        `input shape [${shape.join(', ')}] does not fit the model's input [${modelDims.join(', ')}]`,
      )
    }
  }
  const n = shape.reduce((a, b) => a * b, 1)
  if (n !== length) {
    throw new SimsageError(
      ErrorCodes.DIM_MISMATCH,
      `input shape [${shape.join(', ')}] holds ${n} values, got ${length}`,
    )
  }
  return [...shape]
}
