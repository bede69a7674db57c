/**
 * The onnxruntime-node peer of `simsage bench temporal`: ONNX graphs for a causal dilated Conv, a
 * residual TCN and a one-layer GRU, built with simsage's ONNX graph builder (`OnnxGraph` and the
 * temporal ops of `simsage/internal`, opset 17), holding simsage's own weights as initializers, and
 * a runner per (graph, thread count).
 *
 * Layouts: ONNX Conv is channels-first (x [B, C, T], W [C_out, C_in, K], PyTorch's Conv1d layout,
 * so simsage's weights go in unchanged); causality is a Pad of (K-1)·d zeros on the left of T
 * before the Conv (onnxruntime fuses the two), which keeps the output length T. ONNX GRU takes
 * X [T, B, D] (layout 0) and gives Y [T, 1, B, H]; `gru` reorders PyTorch's r, z, n gate stack to
 * ONNX's z, r, h. The benchmark transposes inputs and outputs outside its timed region.
 */
import type * as Ort from 'onnxruntime-node'
import { OnnxGraph } from 'simsage'
import {
  causalConv,
  type ConvWeights,
  type GruWeights,
  gru,
  loadOnnxruntime,
  type TcnBlockWeights,
  tcnBlock,
} from 'simsage/internal'

export type { ConvWeights, GruWeights, TcnBlockWeights } from 'simsage/internal'

/** y[B, C_out, T] = causal dilated Conv(x[B, C_in, T]) (B and T symbolic). */
export function buildConvModel(c: ConvWeights): Uint8Array {
  const g = new OnnxGraph('causal_conv1d')
  const x = g.input('x', 'float32', ['B', c.inChannels, 'T'])
  g.output(causalConv(g, 'conv', x, c), 'float32', ['B', c.outChannels, 'T'], 'y')
  return g.toBytes({ producer: 'simsage-bench' })
}

/** The residual TCN: blocks in order, x[B, C_in, T] → y[B, C_last, T]; dropout omitted (inference). */
export function buildTcnModel(blocks: readonly TcnBlockWeights[]): Uint8Array {
  if (blocks.length === 0) throw new Error('buildTcnModel: no blocks')
  const g = new OnnxGraph('tcn')
  let h = g.input('x', 'float32', ['B', blocks[0].conv1.inChannels, 'T'])
  blocks.forEach((b, i) => {
    h = tcnBlock(g, `block${i}`, h, b)
  })
  g.output(h, 'float32', ['B', blocks[blocks.length - 1].conv2.outChannels, 'T'], 'y')
  return g.toBytes({ producer: 'simsage-bench' })
}

/**
 * One-layer forward GRU, X[T, B, D] → Y[T, 1, B, H] (and Y_h [1, B, H]), zero initial state,
 * `linear_before_reset = 1` (PyTorch's candidate gate).
 */
export function buildGruModel(w: GruWeights): Uint8Array {
  const g = new OnnxGraph('gru')
  const x = g.input('x', 'float32', ['T', 'B', w.inputSize])
  const [y, yh] = gru(g, 'gru', x, w)
  g.output(y, 'float32', ['T', 1, 'B', w.hiddenSize], 'y')
  g.output(yh, 'float32', [1, 'B', w.hiddenSize], 'y_h')
  return g.toBytes({ producer: 'simsage-bench' })
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
  ortModule ??= loadOnnxruntime().then(
    (ort) => ort as unknown as typeof Ort,
    (err: Error) => `${err.message.split('\n')[0]}`,
  )
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
