/**
 * Sequence layers as ONNX nodes on an {@link OnnxGraph}, channels-first as ONNX's Conv and GRU take
 * them:
 *
 *   causalConv: x[B, C_in, T] → Pad(x, left (K−1)·d steps of zeros) → Conv(W[C_out, C_in, K],
 *               b[C_out], dilations = [d], no pads) → y[B, C_out, T]; y[t] reads x[t − (K−1−k)·d]
 *               for tap k, so the output length stays T and nothing reads the future.
 *   tcnBlock:   a1 = relu(conv1(x)), a2 = relu(conv2(a1)), y = relu(a2 + res(x)), res the identity
 *               or a 1×1 Conv ("downsample"); dropout is the identity at inference.
 *   gru:        one-layer forward GRU, X[T, B, D] → Y[T, 1, B, H]; PyTorch's (and simsage's) gate
 *               stack r, z, n is reordered to ONNX's z, r, h, and `linear_before_reset = 1` is
 *               PyTorch's n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)).
 *
 * Weights are in PyTorch's layouts (Conv1d [C_out, C_in, K]; GRU weight_ih [3H, D]).
 */
import { ErrorCodes, SimsageError } from '../errors.js'
import type { OnnxGraph } from './graph.js'
import { relu } from './ops.js'

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
  /** 1×1 projection [C_out, C_in] (or [C_out, C_in, 1]) (+ bias [C_out]) when C_in ≠ C_out. */
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

/** y[B, C_out, T] = causal dilated conv of x[B, C_in, T] (Pad + Conv); returns y's name. */
export function causalConv(g: OnnxGraph, prefix: string, x: string, c: ConvWeights): string {
  const w = g.initializer(`${prefix}.weight`, c.weight, [c.outChannels, c.inChannels, c.kernelSize])
  const left = (c.kernelSize - 1) * c.dilation
  let input = x
  if (left > 0) {
    // pads = [x1_begin (B), x2_begin (C), x3_begin (T), x1_end, x2_end, x3_end]
    const pads = g.int64s(`${prefix}.pads`, [0, 0, left, 0, 0, 0])
    input = g.op('Pad', [x, pads], { mode: 'constant' }, `${prefix}.pad`)
  }
  const inputs = [input, w]
  if (c.bias) inputs.push(g.initializer(`${prefix}.bias`, c.bias, [c.outChannels]))
  return g.op(
    'Conv',
    inputs,
    { kernel_shape: [c.kernelSize], dilations: [c.dilation], strides: [1], pads: [0, 0], group: 1 },
    prefix,
  )
}

/** One residual TCN block on x[B, C_in, T] → y[B, C_out, T]; returns y's name. */
export function tcnBlock(g: OnnxGraph, prefix: string, x: string, b: TcnBlockWeights): string {
  const a1 = relu(g, causalConv(g, `${prefix}.conv1`, x, b.conv1), `${prefix}.relu1`)
  const a2 = relu(g, causalConv(g, `${prefix}.conv2`, a1, b.conv2), `${prefix}.relu2`)
  let res = x
  if (b.downsample) {
    const ds: ConvWeights = {
      inChannels: b.conv1.inChannels,
      outChannels: b.conv2.outChannels,
      kernelSize: 1,
      dilation: 1,
      weight: b.downsample.weight,
      bias: b.downsample.bias,
    }
    res = causalConv(g, `${prefix}.downsample`, x, ds)
  } else if (b.conv1.inChannels !== b.conv2.outChannels) {
    throw new SimsageError(
      ErrorCodes.DIM_MISMATCH,
      `TCN block ${prefix} maps ${b.conv1.inChannels} to ${b.conv2.outChannels} channels without a downsample`,
    )
  }
  const sum = g.op('Add', [a2, res], {}, `${prefix}.add`)
  return relu(g, sum, prefix)
}

/** Reorders a [3H, n] (or [3H]) PyTorch r, z, n stack into ONNX's z, r, h. */
export function rznToZrh(src: Float32Array, hidden: number): Float32Array {
  const block = src.length / 3
  if (!Number.isInteger(block) || block % hidden !== 0) {
    throw new SimsageError(ErrorCodes.DIM_MISMATCH, `GRU weights: length ${src.length} is not 3·${hidden}·n`)
  }
  const out = new Float32Array(src.length)
  out.set(src.subarray(block, 2 * block), 0) // z
  out.set(src.subarray(0, block), block) // r
  out.set(src.subarray(2 * block), 2 * block) // n → h
  return out
}

/**
 * One-layer forward GRU on x[T, B, D] with a zero initial state; returns [Y [T, 1, B, H], Y_h [1, B, H]].
 */
export function gru(g: OnnxGraph, prefix: string, x: string, w: GruWeights): [string, string] {
  const H = w.hiddenSize
  const D = w.inputSize
  const bias = new Float32Array(6 * H)
  bias.set(rznToZrh(w.biasIh, H), 0)
  bias.set(rznToZrh(w.biasHh, H), 3 * H)
  const W = g.initializer(`${prefix}.W`, rznToZrh(w.weightIh, H), [1, 3 * H, D])
  const R = g.initializer(`${prefix}.R`, rznToZrh(w.weightHh, H), [1, 3 * H, H])
  const B = g.initializer(`${prefix}.B`, bias, [1, 6 * H])
  const [y, yh] = g.node(
    'GRU',
    [x, W, R, B],
    { hidden_size: H, linear_before_reset: 1, direction: 'forward' },
    2,
    prefix,
  )
  return [y, yh]
}
