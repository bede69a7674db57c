/**
 * Builds the ONNX model the onnxruntime peer runs, with simsage's ONNX graph builder (`OnnxGraph`,
 * over protobufjs, opset 17):
 *
 *   scores[Q, N] = Gemm(q[Q, D], corpus[N, D], transB = 1)
 *   values[Q, k], indices[Q, k] = TopK(scores, k, axis = -1, largest = 1, sorted = 1)
 *
 * The corpus is an initializer stored as `raw_data` (a view of the caller's array, not a copy:
 * N * D * 4 bytes); k is an int64 initializer. 1M x 128 gives a 512 MB model, under protobuf's
 * 2 GB limit; protobufjs encodes it in about a second.
 */
import { OnnxGraph } from 'simsage'

/** Serialises the Gemm + TopK graph; returns the model bytes for `InferenceSession.create`. */
export function buildTopKModel(corpus: Float32Array, n: number, dim: number, k: number): Uint8Array {
  const g = new OnnxGraph('exact_topk_ip')
  const q = g.input('q', 'float32', ['Q', dim])
  const c = g.initializer('corpus', corpus.subarray(0, n * dim), [n, dim], { copy: false })
  const scores = g.op('Gemm', [q, c], { transB: 1 }, 'scores')
  const kk = g.int64s('k', [k])
  const [values, indices] = g.node('TopK', [scores, kk], { axis: -1, largest: 1, sorted: 1 }, ['values', 'indices'])
  g.output(values, 'float32', ['Q', k])
  g.output(indices, 'int64', ['Q', k])
  return g.toBytes({ producer: 'simsage-bench' })
}
