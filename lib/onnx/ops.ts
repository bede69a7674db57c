/**
 * Dense layers as ONNX nodes on an {@link OnnxGraph}, each taking and returning a value name:
 *
 *   linear:      y[N, out] = Gemm(x[N, in], W[out, in], b[out], transB = 1)      (2-D x)
 *   linearLast:  y[..., out] = MatMul(x[..., in], Wᵀ[in, out]) + b[out]          (any rank)
 *   relu:        Relu(x)
 *   l2Normalize: y = x / Max(ReduceL2(x, axis, keepdims = 1), eps)               (F.normalize)
 *   layerNorm:   LayerNormalization(x, scale, bias, axis = -1, epsilon)
 *   transpose:   Transpose(x, perm)
 *
 * Weights use simsage's (and PyTorch's) layouts, copied in as float32 initializers named
 * `${prefix}.weight` / `${prefix}.bias`.
 */
import type { OnnxGraph } from './graph.js'

/** y[N, out] = x W^T + b for a 2-D x [N, in]; W [out, in] row-major, b [out] or undefined. */
export function linear(
  g: OnnxGraph,
  prefix: string,
  x: string,
  weight: Float32Array,
  bias: Float32Array | undefined,
  outFeatures: number,
  inFeatures: number,
): string {
  const w = g.initializer(`${prefix}.weight`, weight, [outFeatures, inFeatures])
  const inputs = [x, w]
  if (bias) inputs.push(g.initializer(`${prefix}.bias`, bias, [outFeatures]))
  return g.op('Gemm', inputs, { transB: 1 }, prefix)
}

/** y[..., out] = x[..., in] W^T + b over the last axis of x (any rank); W [out, in], b [out] or undefined. */
export function linearLast(
  g: OnnxGraph,
  prefix: string,
  x: string,
  weight: Float32Array,
  bias: Float32Array | undefined,
  outFeatures: number,
  inFeatures: number,
): string {
  const wt = new Float32Array(inFeatures * outFeatures)
  for (let o = 0; o < outFeatures; o++) {
    for (let i = 0; i < inFeatures; i++) wt[i * outFeatures + o] = weight[o * inFeatures + i]
  }
  const w = g.initializer(`${prefix}.weight_t`, wt, [inFeatures, outFeatures])
  const y = g.op('MatMul', [x, w], {}, `${prefix}.matmul`)
  if (!bias) return y
  const b = g.initializer(`${prefix}.bias`, bias, [outFeatures])
  return g.op('Add', [y, b], {}, `${prefix}.add`)
}

/** Elementwise max(x, 0). */
export function relu(g: OnnxGraph, x: string, name?: string): string {
  return g.op('Relu', [x], {}, name)
}

/** x / max(‖x‖₂ over `axis`, eps): simsage's L2Normalize and PyTorch's F.normalize (a zero row stays zero). */
export function l2Normalize(g: OnnxGraph, prefix: string, x: string, eps: number, axis = -1): string {
  const norm = g.op('ReduceL2', [x], { axes: [axis], keepdims: 1 }, `${prefix}.norm`)
  const e = g.initializer(`${prefix}.eps`, Float32Array.of(eps), [])
  const den = g.op('Max', [norm, e], {}, `${prefix}.clamp`)
  return g.op('Div', [x, den], {}, prefix)
}

/**
 * Layer normalisation over the last axis (biased variance, as simsage and PyTorch): scale and bias
 * [features]; without them (no elementwise affine) scale is ones and bias zeros.
 */
export function layerNorm(
  g: OnnxGraph,
  prefix: string,
  x: string,
  features: number,
  eps: number,
  scale?: Float32Array,
  bias?: Float32Array,
): string {
  const s = g.initializer(`${prefix}.weight`, scale ?? new Float32Array(features).fill(1), [features])
  const b = g.initializer(`${prefix}.bias`, bias ?? new Float32Array(features), [features])
  return g.op('LayerNormalization', [x, s, b], { axis: -1, epsilon: { float: eps } }, prefix)
}

/** Permutes x's axes. */
export function transpose(g: OnnxGraph, x: string, perm: readonly number[], name?: string): string {
  return g.op('Transpose', [x], { perm }, name)
}
