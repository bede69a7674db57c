/**
 * The ONNX protobuf schema ({@link onnxDescriptor}, encoded and decoded by `protobufjs`), built on
 * first use so loading the package entry does not pay for it. Also the plain-object shapes of the
 * messages simsage writes, and the ONNX enum values the builder writes (stable numbers of
 * onnx.proto, so graphs are built without loading the schema).
 */
import { createRequire } from 'node:module'

import type * as protobuf from 'protobufjs'

import { ErrorCodes, SimsageError } from '../errors.js'
import { onnxDescriptor } from './schema.js'

type Int64 = number | { low: number; high: number; unsigned?: boolean }

/** onnx.TensorShapeProto.Dimension. */
export interface IDimension {
  dimValue?: Int64 | null
  dimParam?: string | null
  denotation?: string | null
}
/** onnx.TypeProto (tensor types only). */
export interface ITypeProto {
  tensorType?: { elemType?: number | null; shape?: { dim?: IDimension[] | null } | null } | null
  denotation?: string | null
}
/** onnx.ValueInfoProto. */
export interface IValueInfoProto {
  name?: string | null
  type?: ITypeProto | null
  docString?: string | null
}
/** onnx.TensorProto (the fields simsage writes or reads). */
export interface ITensorProto {
  dims?: Int64[] | null
  dataType?: number | null
  floatData?: number[] | null
  int32Data?: number[] | null
  int64Data?: Int64[] | null
  doubleData?: number[] | null
  name?: string | null
  docString?: string | null
  rawData?: Uint8Array | null
}
/** onnx.AttributeProto. */
export interface IAttributeProto {
  name?: string | null
  type?: number | null
  f?: number | null
  i?: Int64 | null
  s?: Uint8Array | null
  t?: ITensorProto | null
  g?: IGraphProto | null
  floats?: number[] | null
  ints?: Int64[] | null
  strings?: Uint8Array[] | null
  docString?: string | null
}
/** onnx.NodeProto. */
export interface INodeProto {
  input?: string[] | null
  output?: string[] | null
  name?: string | null
  opType?: string | null
  domain?: string | null
  attribute?: IAttributeProto[] | null
  docString?: string | null
}
/** onnx.GraphProto. */
export interface IGraphProto {
  node?: INodeProto[] | null
  name?: string | null
  initializer?: ITensorProto[] | null
  docString?: string | null
  input?: IValueInfoProto[] | null
  output?: IValueInfoProto[] | null
  valueInfo?: IValueInfoProto[] | null
}
/** onnx.ModelProto. */
export interface IModelProto {
  irVersion?: Int64 | null
  opsetImport?: { domain?: string | null; version?: Int64 | null }[] | null
  producerName?: string | null
  producerVersion?: string | null
  domain?: string | null
  modelVersion?: Int64 | null
  docString?: string | null
  graph?: IGraphProto | null
  metadataProps?: { key?: string | null; value?: string | null }[] | null
}

/** The message types of the schema, built once. */
export interface OnnxSchema {
  ModelProto: protobuf.Type
  TensorProto: protobuf.Type
}

let loaded: OnnxSchema | undefined

/** The ONNX message types (built synchronously once). ERR_SIMSAGE_MISSING_DEPENDENCY if protobufjs is absent. */
export function onnxSchema(): OnnxSchema {
  if (loaded) return loaded
  let pb: typeof protobuf
  try {
    pb = createRequire(import.meta.url)('protobufjs') as typeof protobuf
  } catch (e) {
    throw new SimsageError(
      ErrorCodes.MISSING_DEPENDENCY,
      'protobufjs is not installed (ONNX export needs it; it is a dependency of simsage): npm install protobufjs',
      { cause: e },
    )
  }
  const root = pb.Root.fromJSON(onnxDescriptor)
  loaded = { ModelProto: root.lookupType('onnx.ModelProto'), TensorProto: root.lookupType('onnx.TensorProto') }
  return loaded
}

/** Serialises a ModelProto given as plain objects. */
export function encodeModel(model: IModelProto): Uint8Array {
  const { ModelProto } = onnxSchema()
  return ModelProto.encode(ModelProto.fromObject(model as Record<string, unknown>)).finish()
}

/** Parses ModelProto bytes into plain objects (int64 fields as numbers, bytes as Uint8Array). */
export function decodeModel(bytes: Uint8Array): IModelProto {
  const { ModelProto } = onnxSchema()
  return ModelProto.toObject(ModelProto.decode(bytes), { longs: Number, defaults: false }) as IModelProto
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
