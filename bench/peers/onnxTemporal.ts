/**
 * The onnxruntime-node peer of `simsage bench temporal`: ONNX graphs (built with `onnx-proto`'s
 * generated encoder) for a causal dilated Conv, a residual TCN and a one-layer GRU, holding
 * simsage's own weights as initializers, and a runner per (graph, thread count).
 *
 * Layouts: ONNX Conv is channels-first (x [B, C, T], W [C_out, C_in, K], PyTorch's Conv1d layout,
 * so simsage's weights go in unchanged); causality is `pads = [(K-1)·d, 0]` (left only), which
 * keeps the output length T. ONNX GRU takes X [T, B, D] (layout 0) and gives Y [T, 1, B, H]; its
 * gates are stacked z, r, h where PyTorch (and simsage) stack r, z, n, so the blocks are reordered
 * here; `linear_before_reset = 1` is PyTorch's n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)).
 * The benchmark transposes inputs and outputs outside its timed region.
 */
import type * as Ort from 'onnxruntime-node'
import onnxProto from 'onnx-proto'

const { onnx } = onnxProto
type NodeProto = onnxProto.onnx.INodeProto
type TensorProto = onnxProto.onnx.ITensorProto

const INT = onnx.AttributeProto.AttributeType.INT
const INTS = onnx.AttributeProto.AttributeType.INTS
const STRING = onnx.AttributeProto.AttributeType.STRING
const FLOAT = onnx.TensorProto.DataType.FLOAT

/** Weights of one causal conv, PyTorch Conv1d layout. */
export interface ConvWeights {
  readonly inChannels: number
  readonly outChannels: number
  readonly kernelSize: number
  readonly dilation: number
  /** [C_out, C_in, K]. */
  readonly weight: Float32Array
  /** [C_out], or undefined (no bias). */
  readonly bias?: Float32Array
}

/** One residual block: conv1 → ReLU → conv2 → ReLU, plus identity or a 1×1 projection, Add, ReLU. */
export interface TcnBlockWeights {
  readonly conv1: ConvWeights
  readonly conv2: ConvWeights
  /** 1×1 projection [C_out, C_in] (+ bias [C_out]) when C_in ≠ C_out. */
  readonly downsample?: { readonly weight: Float32Array; readonly bias?: Float32Array }
}

/** One GRU layer in PyTorch's layout and gate order (r, z, n). */
export interface GruWeights {
  readonly inputSize: number
  readonly hiddenSize: number
  /** weight_ih_l0 [3H, D]. */
  readonly weightIh: Float32Array
  /** weight_hh_l0 [3H, H]. */
  readonly weightHh: Float32Array
  /** bias_ih_l0 [3H]. */
  readonly biasIh: Float32Array
  /** bias_hh_l0 [3H]. */
  readonly biasHh: Float32Array
}

/** A float32 initializer stored as raw little-endian bytes. */
function init(name: string, dims: number[], data: Float32Array): TensorProto {
  const size = dims.reduce((a, b) => a * b, 1)
  if (data.length !== size) throw new Error(`onnx initializer ${name}: ${data.length} values for dims [${dims}]`)
  const copy = Float32Array.from(data) // own buffer: rawData must not alias a larger one
  return { name, dims, dataType: FLOAT, rawData: new Uint8Array(copy.buffer) }
}

/** ValueInfoProto for a float tensor; string dims are symbolic. */
function floatInfo(name: string, dims: Array<string | number>): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: FLOAT,
        shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
      },
    },
  }
}

/** Wraps nodes and initializers into serialised model bytes (opset 17). */
function encodeModel(
  name: string,
  node: NodeProto[],
  initializer: TensorProto[],
  input: onnxProto.onnx.IValueInfoProto[],
  output: onnxProto.onnx.IValueInfoProto[],
): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'simsage-bench',
    opsetImport: [{ domain: '', version: 17 }],
    graph: { name, node, initializer, input, output },
  })
  return onnx.ModelProto.encode(model).finish()
}

/** A causal Conv node named `prefix`: input `x`, output `y`; pushes its initializers. */
function convNode(prefix: string, c: ConvWeights, x: string, y: string, inits: TensorProto[]): NodeProto {
  const w = `${prefix}.weight`
  inits.push(init(w, [c.outChannels, c.inChannels, c.kernelSize], c.weight))
  const input = [x, w]
  if (c.bias) {
    inits.push(init(`${prefix}.bias`, [c.outChannels], c.bias))
    input.push(`${prefix}.bias`)
  }
  return {
    opType: 'Conv',
    name: prefix,
    input,
    output: [y],
    attribute: [
      { name: 'kernel_shape', type: INTS, ints: [c.kernelSize] },
      { name: 'dilations', type: INTS, ints: [c.dilation] },
      { name: 'pads', type: INTS, ints: [(c.kernelSize - 1) * c.dilation, 0] },
      { name: 'strides', type: INTS, ints: [1] },
      { name: 'group', type: INT, i: 1 },
    ],
  }
}

/** y[B, C_out, T] = causal dilated Conv(x[B, C_in, T]) (B and T symbolic). */
export function buildConvModel(c: ConvWeights): Uint8Array {
  const inits: TensorProto[] = []
  const node = convNode('conv', c, 'x', 'y', inits)
  return encodeModel(
    'causal_conv1d',
    [node],
    inits,
    [floatInfo('x', ['B', c.inChannels, 'T'])],
    [floatInfo('y', ['B', c.outChannels, 'T'])],
  )
}

/** The residual TCN: blocks in order, x[B, C_in, T] → y[B, C_last, T]; dropout omitted (inference). */
export function buildTcnModel(blocks: readonly TcnBlockWeights[]): Uint8Array {
  if (blocks.length === 0) throw new Error('buildTcnModel: no blocks')
  const inits: TensorProto[] = []
  const nodes: NodeProto[] = []
  let x = 'x'
  blocks.forEach((b, i) => {
    const p = `block${i}`
    const out = i === blocks.length - 1 ? 'y' : `${p}.out`
    nodes.push(convNode(`${p}.conv1`, b.conv1, x, `${p}.c1`, inits))
    nodes.push({ opType: 'Relu', input: [`${p}.c1`], output: [`${p}.a1`] })
    nodes.push(convNode(`${p}.conv2`, b.conv2, `${p}.a1`, `${p}.c2`, inits))
    nodes.push({ opType: 'Relu', input: [`${p}.c2`], output: [`${p}.a2`] })
    let res = x
    if (b.downsample) {
      const ds: ConvWeights = {
        inChannels: b.conv1.inChannels,
        outChannels: b.conv1.outChannels,
        kernelSize: 1,
        dilation: 1,
        weight: b.downsample.weight,
        bias: b.downsample.bias,
      }
      nodes.push(convNode(`${p}.downsample`, ds, x, `${p}.res`, inits))
      res = `${p}.res`
    } else if (b.conv1.inChannels !== b.conv2.outChannels) {
      throw new Error(`buildTcnModel: block ${i} changes channels without a downsample`)
    }
    nodes.push({ opType: 'Add', input: [`${p}.a2`, res], output: [`${p}.sum`] })
    nodes.push({ opType: 'Relu', input: [`${p}.sum`], output: [out] })
    x = out
  })
  const first = blocks[0].conv1
  const last = blocks[blocks.length - 1].conv2
  return encodeModel(
    'tcn',
    nodes,
    inits,
    [floatInfo('x', ['B', first.inChannels, 'T'])],
    [floatInfo('y', ['B', last.outChannels, 'T'])],
  )
}

/** Reorders a [3H, n] (or [3H]) PyTorch r, z, n stack into ONNX's z, r, h. */
export function rznToZrh(src: Float32Array, hidden: number): Float32Array {
  const block = src.length / 3
  if (!Number.isInteger(block) || block % hidden !== 0) throw new Error('rznToZrh: length not 3H·n')
  const out = new Float32Array(src.length)
  out.set(src.subarray(block, 2 * block), 0) // z
  out.set(src.subarray(0, block), block) // r
  out.set(src.subarray(2 * block), 2 * block) // n → h
  return out
}

/**
 * One-layer forward GRU, X[T, B, D] → Y[T, 1, B, H] (and Y_h [1, B, H]), zero initial state,
 * `linear_before_reset = 1` (PyTorch's candidate gate).
 */
export function buildGruModel(g: GruWeights): Uint8Array {
  const H = g.hiddenSize
  const D = g.inputSize
  const bias = new Float32Array(6 * H)
  bias.set(rznToZrh(g.biasIh, H), 0)
  bias.set(rznToZrh(g.biasHh, H), 3 * H)
  const inits = [
    init('W', [1, 3 * H, D], rznToZrh(g.weightIh, H)),
    init('R', [1, 3 * H, H], rznToZrh(g.weightHh, H)),
    init('Bias', [1, 6 * H], bias),
  ]
  const node: NodeProto = {
    opType: 'GRU',
    name: 'gru',
    input: ['x', 'W', 'R', 'Bias'],
    output: ['y', 'y_h'],
    attribute: [
      { name: 'hidden_size', type: INT, i: H },
      { name: 'linear_before_reset', type: INT, i: 1 },
      { name: 'direction', type: STRING, s: new TextEncoder().encode('forward') },
    ],
  }
  return encodeModel(
    'gru',
    [node],
    inits,
    [floatInfo('x', ['T', 'B', D])],
    [floatInfo('y', ['T', 1, 'B', H]), floatInfo('y_h', [1, 'B', H])],
  )
}

/** A session on one graph at one thread count, with one input `x` and output `y`. */
export interface OrtRunner {
  /** Runs the graph on x of `dims`; resolves to y's values (ORT's buffer, or the preallocated one). */
  run(x: Float32Array, dims: readonly number[], outDims: readonly number[]): Promise<Float32Array>
  /** Releases the session. */
  release(): Promise<void>
}

let ortModule: Promise<typeof Ort | string> | undefined

/** Loads onnxruntime-node once; resolves to the module or the reason it could not load. */
export function loadOrt(): Promise<typeof Ort | string> {
  ortModule ??= (async () => {
    try {
      const loaded = (await import('onnxruntime-node')) as typeof Ort & { default?: typeof Ort }
      const ort = typeof loaded.InferenceSession === 'function' ? loaded : loaded.default
      return ort ?? 'onnxruntime-node has no InferenceSession'
    } catch (err) {
      return `onnxruntime-node not installed (${(err as Error).message.split('\n')[0]})`
    }
  })()
  return ortModule
}

/** Session options the peer uses: CPU EP, intraOpNumThreads = threads, interOpNumThreads = 1, 'all'. */
export const ortSessionOptions = (threads: number): Ort.InferenceSession.SessionOptions => ({
  intraOpNumThreads: threads,
  interOpNumThreads: 1,
  graphOptimizationLevel: 'all',
  executionMode: 'sequential',
  executionProviders: ['cpu'],
})

/**
 * Creates a runner. Output `y` is fetched into a preallocated tensor reused across calls of the
 * same shape (as simsage reuses its buffers); where the binding refuses that, ORT allocates.
 */
export async function ortRunner(ort: typeof Ort, model: Uint8Array, threads: number): Promise<OrtRunner> {
  const session = await ort.InferenceSession.create(model, ortSessionOptions(threads))
  let out: { key: string; tensor: Ort.Tensor } | undefined
  let prealloc = true
  return {
    async run(x, dims, outDims) {
      const input = new ort.Tensor('float32', x, [...dims])
      if (prealloc) {
        const key = outDims.join('x')
        if (out?.key !== key) {
          const size = outDims.reduce((a, b) => a * b, 1)
          out = { key, tensor: new ort.Tensor('float32', new Float32Array(size), [...outDims]) }
        }
        try {
          const r = await session.run({ x: input }, { y: out.tensor })
          return r.y.data as Float32Array
        } catch {
          prealloc = false
        }
      }
      const r = await session.run({ x: input }, ['y'])
      return r.y.data as Float32Array
    },
    release: () => session.release(),
  }
}
