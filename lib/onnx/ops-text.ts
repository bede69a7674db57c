/**
 * The hash embedding bag (lib/text/hash-bag.ts) as ONNX nodes on an {@link OnnxGraph}, over the
 * token row ids simsage's featuriser gives (`HashEmbeddingBag.tokenRows`):
 *
 *   ea = Gather(E, a), eb = Gather(E, b)                          [N, D]  (E [R, D] an initializer)
 *   w  = Gather(P, q)                                             [N, 2]  (P [Q, 2] an initializer)
 *   e  = ea * w[:, 0:1] + eb * w[:, 1:2]                          [N, D]
 *   s  = ScatterND(zeros[S, D], seg[N, 1], e, reduction = add)    [S, D]  (sum per segment)
 *   y  = LayerNormalization(s, gamma, beta, axis = -1, epsilon)   [S, D]
 *
 * Used by the text tower exporter and by the onnxruntime peer of `simsage bench text`.
 */
import type { OnnxGraph } from './graph.js'

/** A bag's sizes and tensors (`HashEmbeddingBag.state()` plus its sizes and eps). */
export interface OnnxBagWeights {
  rows: number
  dim: number
  importanceRows: number
  eps: number
  table: Float32Array
  importance: Float32Array
  gamma: Float32Array
  beta: Float32Array
}

/** Value names of the bag's inputs: a, b, q int64 [N]; seg int64 [N, 1]; shape int64 [2] = [S, D]. */
export interface BagInputs {
  a: string
  b: string
  q: string
  seg: string
  shape: string
}

/**
 * Adds the bag (weights as initializers named `${prefix}.*`; the table and importance as views,
 * not copies: leave them unchanged until toBytes()). Returns y [S, D].
 */
export function hashBag(g: OnnxGraph, prefix: string, w: OnnxBagWeights, x: BagInputs): string {
  const E = g.initializer(`${prefix}.table`, w.table, [w.rows, w.dim], { copy: false })
  const P = g.initializer(`${prefix}.importance`, w.importance, [w.importanceRows, 2], { copy: false })
  const gamma = g.initializer(`${prefix}.gamma`, w.gamma, [w.dim])
  const beta = g.initializer(`${prefix}.beta`, w.beta, [w.dim])
  const zero = g.int64s(`${prefix}.c0`, [0])
  const one = g.int64s(`${prefix}.c1`, [1])
  const two = g.int64s(`${prefix}.c2`, [2])
  const ea = g.op('Gather', [E, x.a], { axis: 0 }, `${prefix}.ea`)
  const eb = g.op('Gather', [E, x.b], { axis: 0 }, `${prefix}.eb`)
  const wq = g.op('Gather', [P, x.q], { axis: 0 }, `${prefix}.w`)
  const w0 = g.op('Slice', [wq, zero, one, one], {}, `${prefix}.w0`)
  const w1 = g.op('Slice', [wq, one, two, one], {}, `${prefix}.w1`)
  const ma = g.op('Mul', [ea, w0], {}, `${prefix}.ma`)
  const mb = g.op('Mul', [eb, w1], {}, `${prefix}.mb`)
  const e = g.op('Add', [ma, mb], {}, `${prefix}.e`)
  const zeros = g.op('ConstantOfShape', [x.shape], {}, `${prefix}.zeros`) // float32 zeros
  const s = g.op('ScatterND', [zeros, x.seg, e], { reduction: 'add' }, `${prefix}.sum`)
  return g.op('LayerNormalization', [s, gamma, beta], { axis: -1, epsilon: { float: w.eps } }, `${prefix}.ln`)
}
