/**
 * {@link OnnxGraph}: builds an ONNX model (nodes, initializers, typed inputs and outputs) as plain
 * objects and serialises it with protobufjs (`proto.ts`). Every exporter and the benchmark's onnxruntime graphs
 * use it; layer-level pieces (Linear, causal conv, ...) are in `ops.ts`.
 *
 * Initializers are stored as `raw_data` (little-endian bytes, copied at add time so a later change
 * of the caller's array does not change the model). Protobuf caps a model at 2 GiB.
 */
import { ErrorCodes, SimsageError } from '../errors.js'
import {
  AttributeType,
  DataType,
  encodeModel,
  type IAttributeProto,
  type IModelProto,
  type INodeProto,
  IR_VERSION,
  type ITensorProto,
  type IValueInfoProto,
  OPSET,
} from './proto.js'

/** Element types a graph input, output or initializer may have. */
export type OnnxElementType = 'float32' | 'int64' | 'int32'

/** A dimension: a number, or a name for a symbolic (dynamic) size such as 'batch'. */
export type OnnxDim = number | string

/**
 * An attribute value: an integer → INT, a list of integers → INTS, a string → STRING,
 * `{ float: x }` → FLOAT, `{ floats: [...] }` → FLOATS. (A plain non-integer number is a FLOAT too.)
 */
export type OnnxAttribute = number | readonly number[] | string | { float: number } | { floats: readonly number[] }

const ELEM: Record<OnnxElementType, number> = { float32: DataType.FLOAT, int64: DataType.INT64, int32: DataType.INT32 }

/** Largest serialised model protobuf can hold. */
const MAX_MODEL_BYTES = 2 ** 31 - 1

function attribute(name: string, v: OnnxAttribute): IAttributeProto {
  if (typeof v === 'string') return { name, type: AttributeType.STRING, s: new TextEncoder().encode(v) }
  if (typeof v === 'number') {
    return Number.isInteger(v) ? { name, type: AttributeType.INT, i: v } : { name, type: AttributeType.FLOAT, f: v }
  }
  if (Array.isArray(v)) return { name, type: AttributeType.INTS, ints: [...v] }
  if ('float' in v) return { name, type: AttributeType.FLOAT, f: v.float }
  if ('floats' in v) return { name, type: AttributeType.FLOATS, floats: [...v.floats] }
  throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `onnx attribute ${name}: unsupported value`)
}

function valueInfo(name: string, type: OnnxElementType, dims: readonly OnnxDim[]): IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: ELEM[type],
        shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
      },
    },
  }
}

/** A graph input or output: name, element type and dims. */
export interface OnnxTensorInfo {
  readonly name: string
  readonly type: OnnxElementType
  readonly dims: readonly OnnxDim[]
}

/** Metadata written into the ModelProto. */
export interface OnnxModelInfo {
  /** producer_name (default 'simsage'). */
  producer?: string
  /** doc_string of the model. */
  doc?: string
  /** metadata_props (string key → value). */
  metadata?: Record<string, string>
}

/**
 * An ONNX graph under construction. Names are the graph's value names; {@link fresh} makes unique
 * ones. Node methods return their output name(s) so calls chain like the forward pass they encode.
 */
export class OnnxGraph {
  readonly name: string
  readonly #nodes: INodeProto[] = []
  readonly #inits: ITensorProto[] = []
  readonly #inputs: IValueInfoProto[] = []
  readonly #outputs: IValueInfoProto[] = []
  readonly #names = new Set<string>()
  #signature: { inputs: OnnxTensorInfo[]; outputs: OnnxTensorInfo[] } = { inputs: [], outputs: [] }
  #counter = 0

  constructor(name: string) {
    this.name = name
  }

  /** A value name not used yet in this graph, `${prefix}` or `${prefix}_${n}`. */
  fresh(prefix: string): string {
    let n = prefix
    while (this.#names.has(n)) n = `${prefix}_${++this.#counter}`
    this.#names.add(n)
    return n
  }

  #claim(name: string): string {
    if (this.#names.has(name)) {
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `onnx graph ${this.name}: the name "${name}" is taken`)
    }
    this.#names.add(name)
    return name
  }

  /** Declares a graph input; returns its name. */
  input(name: string, type: OnnxElementType, dims: readonly OnnxDim[]): string {
    this.#inputs.push(valueInfo(this.#claim(name), type, dims))
    this.#signature.inputs.push({ name, type, dims: [...dims] })
    return name
  }

  /**
   * Declares the value `name` (produced by a node) a graph output of `type` and `dims`; with `as`,
   * the value is renamed to `as` everywhere first (no Identity node). Returns the output's name.
   */
  output(name: string, type: OnnxElementType, dims: readonly OnnxDim[], as?: string): string {
    if (as !== undefined && as !== name) {
      if (!this.#nodes.some((n) => n.output?.includes(name))) {
        throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `onnx graph ${this.name}: no node produces "${name}"`)
      }
      this.#claim(as)
      for (const n of this.#nodes) {
        n.input = n.input?.map((v) => (v === name ? as : v))
        n.output = n.output?.map((v) => (v === name ? as : v))
      }
      for (const o of this.#outputs) if (o.name === name) o.name = as
      this.#signature.outputs = this.#signature.outputs.map((o) => (o.name === name ? { ...o, name: as } : o))
      this.#names.delete(name)
      name = as
    }
    this.#outputs.push(valueInfo(name, type, dims))
    this.#signature.outputs.push({ name, type, dims: [...dims] })
    return name
  }

  /** The inputs and outputs declared so far. */
  signature(): { inputs: OnnxTensorInfo[]; outputs: OnnxTensorInfo[] } {
    return { inputs: [...this.#signature.inputs], outputs: [...this.#signature.outputs] }
  }

  /**
   * Adds a constant tensor (float32, int64 or int32 values, row-major `dims`) named `name` (made
   * unique with {@link fresh}); returns its name. Stored little-endian as raw_data.
   */
  initializer(
    name: string,
    data: Float32Array | BigInt64Array | Int32Array,
    dims: readonly number[],
    options: { copy?: boolean } = {},
  ): string {
    const size = dims.reduce((a, b) => a * b, 1)
    if (data.length !== size) {
      throw new SimsageError(
        ErrorCodes.DIM_MISMATCH,
        `onnx initializer ${name}: ${data.length} values for dims [${dims.join(', ')}]`,
      )
    }
    const dataType =
      data instanceof Float32Array ? DataType.FLOAT : data instanceof BigInt64Array ? DataType.INT64 : DataType.INT32
    // A copy by default, so a later change of the caller's array does not change the model;
    // `copy: false` keeps a view (a large corpus), which the caller must leave unchanged until toBytes().
    const view = new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
    const rawData = options.copy === false ? view : view.slice()
    const unique = this.fresh(name)
    this.#inits.push({ name: unique, dims: [...dims], dataType, rawData })
    return unique
  }

  /** An int64 constant (shapes, axes, pads); returns its name. */
  int64s(name: string, values: readonly number[]): string {
    return this.initializer(
      name,
      BigInt64Array.from(values, (v) => BigInt(v)),
      [values.length],
    )
  }

  /**
   * Adds a node `opType(inputs) → outputs`. `outputs` is a count of fresh names (made from the
   * node's name) or explicit names; returns the output names. An empty input name is an omitted
   * optional input.
   */
  node(
    opType: string,
    inputs: readonly string[],
    attributes: Record<string, OnnxAttribute> = {},
    outputs: number | readonly string[] = 1,
    name?: string,
  ): string[] {
    const nodeName = name ?? `${opType}_${this.#nodes.length}`
    const outs =
      typeof outputs === 'number'
        ? Array.from({ length: outputs }, (_, i) => this.fresh(outputs === 1 ? nodeName : `${nodeName}_${i}`))
        : outputs.map((o) => this.#claim(o))
    this.#nodes.push({
      opType,
      name: nodeName,
      input: [...inputs],
      output: outs,
      attribute: Object.entries(attributes).map(([k, v]) => attribute(k, v)),
    })
    return outs
  }

  /** {@link node} with one output; returns its name. */
  op(opType: string, inputs: readonly string[], attributes: Record<string, OnnxAttribute> = {}, name?: string): string {
    return this.node(opType, inputs, attributes, 1, name)[0]
  }

  /** The ModelProto as plain objects (for inspection); {@link toBytes} serialises it. */
  toModel(info: OnnxModelInfo = {}): IModelProto {
    if (this.#outputs.length === 0) {
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `onnx graph ${this.name} has no outputs`)
    }
    return {
      irVersion: IR_VERSION,
      producerName: info.producer ?? 'simsage',
      docString: info.doc,
      opsetImport: [{ domain: '', version: OPSET }],
      metadataProps: Object.entries(info.metadata ?? {}).map(([key, value]) => ({ key, value })),
      graph: {
        name: this.name,
        node: this.#nodes,
        initializer: this.#inits,
        input: this.#inputs,
        output: this.#outputs,
      },
    }
  }

  /** Serialises the model (ONNX protobuf bytes, for a `.onnx` file or `InferenceSession.create`). */
  toBytes(info: OnnxModelInfo = {}): Uint8Array {
    const bytes = encodeModel(this.toModel(info))
    if (bytes.length > MAX_MODEL_BYTES) {
      throw new SimsageError(ErrorCodes.UNSUPPORTED, `onnx graph ${this.name} is over protobuf's 2 GiB limit`)
    }
    return bytes
  }
}
