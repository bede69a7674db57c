/**
 * Plain TypeScript causal conv, TCN and GRU: what a Node user writes without a native library.
 * The baseline of `simsage bench temporal` (and its cross-check of the onnxruntime graphs), with
 * simsage's conventions: sequences channels-last (x [B, T, C] row-major), Conv1d weights
 * [C_out, C_in, K] (PyTorch's layout), GRU gates stacked r, z, n with PyTorch's candidate
 * n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)), zero initial state. Accumulates in float64
 * (JavaScript numbers), so it is also the most exact of the three.
 */
import type { ConvWeights, GruWeights, TcnBlockWeights } from './peers/onnxTemporal.js'

/**
 * y[b, t, o] = bias[o] + Σ_k Σ_c W[o, c, k] · x[b, t − (K−1−k)·d, c] (zero before t = 0), with an
 * optional ReLU; rows `0..batch-1` of x (the caller may pass fewer than the full batch).
 */
export function plainCausalConv(
  x: Float32Array,
  batch: number,
  steps: number,
  c: ConvWeights,
  relu = false,
  out = new Float32Array(batch * steps * c.outChannels),
): Float32Array {
  const { inChannels: ci, outChannels: co, kernelSize: K, dilation: d, weight: w, bias } = c
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t < steps; t++) {
      const yo = (b * steps + t) * co
      for (let o = 0; o < co; o++) {
        let acc = bias ? bias[o] : 0
        for (let k = 0; k < K; k++) {
          const src = t - (K - 1 - k) * d
          if (src < 0) continue
          const xo = (b * steps + src) * ci
          const wo = o * ci * K + k
          for (let ch = 0; ch < ci; ch++) acc += w[wo + ch * K] * x[xo + ch]
        }
        out[yo + o] = relu && acc < 0 ? 0 : acc
      }
    }
  }
  return out
}

/** The residual TCN forward (no dropout): per block relu(relu(conv2(relu(conv1(x)))) + res). */
export function plainTcn(
  x: Float32Array,
  batch: number,
  steps: number,
  blocks: readonly TcnBlockWeights[],
): Float32Array {
  let cur = x
  for (const blk of blocks) {
    const a1 = plainCausalConv(cur, batch, steps, blk.conv1, true)
    const a2 = plainCausalConv(a1, batch, steps, blk.conv2, true)
    const co = blk.conv2.outChannels
    const res = blk.downsample
      ? plainCausalConv(cur, batch, steps, {
          inChannels: blk.conv1.inChannels,
          outChannels: co,
          kernelSize: 1,
          dilation: 1,
          weight: blk.downsample.weight,
          bias: blk.downsample.bias,
        })
      : cur
    const y = new Float32Array(batch * steps * co)
    for (let i = 0; i < y.length; i++) y[i] = Math.max(0, a2[i] + res[i])
    cur = y
  }
  return cur
}

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v))

/** One-layer GRU over x [B, T, D] → y [B, T, H] (rows `0..batch-1`), zero initial state. */
export function plainGru(
  x: Float32Array,
  batch: number,
  steps: number,
  g: GruWeights,
  out = new Float32Array(batch * steps * g.hiddenSize),
): Float32Array {
  const { inputSize: D, hiddenSize: H, weightIh: wi, weightHh: wh, biasIh: bi, biasHh: bh } = g
  const h = new Float64Array(H)
  const gi = new Float64Array(3 * H)
  const gh = new Float64Array(3 * H)
  for (let b = 0; b < batch; b++) {
    h.fill(0)
    for (let t = 0; t < steps; t++) {
      const xo = (b * steps + t) * D
      for (let j = 0; j < 3 * H; j++) {
        let a = bi[j]
        for (let i = 0; i < D; i++) a += wi[j * D + i] * x[xo + i]
        gi[j] = a
        let r = bh[j]
        for (let i = 0; i < H; i++) r += wh[j * H + i] * h[i]
        gh[j] = r
      }
      const yo = (b * steps + t) * H
      for (let j = 0; j < H; j++) {
        const r = sigmoid(gi[j] + gh[j])
        const z = sigmoid(gi[H + j] + gh[H + j])
        const n = Math.tanh(gi[2 * H + j] + r * gh[2 * H + j])
        h[j] = (1 - z) * n + z * h[j]
        out[yo + j] = h[j]
      }
    }
  }
  return out
}
