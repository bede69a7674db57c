/**
 * The ONNX protobuf schema (`onnx-proto`, protobufjs-generated), loaded on first use: loading the
 * package entry does not pay the ~200 ms it takes to load. Also the ONNX enum values the
 * builder writes (stable numbers of onnx.proto, so graphs are built without loading the schema).
 */
import { createRequire } from 'node:module'

import type onnxProto from 'onnx-proto'

import { ErrorCodes, SimsageError } from '../errors.js'

/** The `onnx` namespace of `onnx-proto`. */
export type OnnxNamespace = typeof onnxProto.onnx

let loaded: OnnxNamespace | undefined

/** `onnx-proto`'s `onnx` namespace (loaded synchronously once). ERR_SIMSAGE_MISSING_DEPENDENCY if absent. */
export function onnxSchema(): OnnxNamespace {
  if (loaded) return loaded
  try {
    const mod = createRequire(import.meta.url)('onnx-proto') as typeof onnxProto
    loaded = mod.onnx
  } catch (e) {
    throw new SimsageError(
      ErrorCodes.MISSING_DEPENDENCY,
      'onnx-proto is not installed (ONNX export needs it; it is a dependency of simsage): npm install onnx-proto',
      { cause: e },
    )
  }
  return loaded
}

/** TensorProto.DataType values (onnx.proto). */
export const DataType = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  INT32: 6,
  INT64: 7,
  BOOL: 9,
  DOUBLE: 11,
} as const

/** AttributeProto.AttributeType values (onnx.proto). */
export const AttributeType = {
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  FLOATS: 6,
  INTS: 7,
} as const

/**
 * The operator set every simsage graph imports: the default domain ("ai.onnx") at version 17
 * (ONNX 1.12; LayerNormalization is in it, ReduceL2 still takes `axes` as an attribute), written
 * with IR version 8. onnxruntime has run opset 17 since 1.13.
 */
export const OPSET = 17
/** The ModelProto IR version written with {@link OPSET}. */
export const IR_VERSION = 8
