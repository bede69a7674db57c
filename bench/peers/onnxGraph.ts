/**
 * Builds the ONNX model the onnxruntime peer runs, with `onnx-proto`'s generated encoder:
 *
 *   scores[Q, N] = Gemm(q[Q, D], corpus[N, D], transB = 1)
 *   values[Q, k], indices[Q, k] = TopK(scores, k, axis = -1, largest = 1, sorted = 1)
 *
 * The corpus is an initializer stored as `raw_data` (little-endian float32 bytes, N * D * 4);
 * k is an int64 initializer. 1M x 128 gives a 512 MB model, under protobuf's 2 GB limit;
 * protobufjs encodes it in about a second.
 */
import onnxProto from 'onnx-proto'

const { onnx } = onnxProto

/** Serialises the Gemm + TopK graph; returns the model bytes for `InferenceSession.create`. */
export function buildTopKModel(corpus: Float32Array, n: number, dim: number, k: number): Uint8Array {
  const INT = onnx.AttributeProto.AttributeType.INT
  const FLOAT = onnx.TensorProto.DataType.FLOAT
  const INT64 = onnx.TensorProto.DataType.INT64
  const raw = new Uint8Array(corpus.buffer, corpus.byteOffset, n * dim * 4)
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'simsage-bench',
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'exact_topk_ip',
      node: [
        {
          opType: 'Gemm',
          input: ['q', 'corpus'],
          output: ['scores'],
          attribute: [{ name: 'transB', type: INT, i: 1 }],
        },
        {
          opType: 'TopK',
          input: ['scores', 'k'],
          output: ['values', 'indices'],
          attribute: [
            { name: 'axis', type: INT, i: -1 },
            { name: 'largest', type: INT, i: 1 },
            { name: 'sorted', type: INT, i: 1 },
          ],
        },
      ],
      initializer: [
        { name: 'corpus', dims: [n, dim], dataType: FLOAT, rawData: raw },
        { name: 'k', dims: [1], dataType: INT64, int64Data: [k] },
      ],
      input: [tensorInfo('q', FLOAT, ['Q', dim])],
      output: [tensorInfo('values', FLOAT, ['Q', k]), tensorInfo('indices', INT64, ['Q', k])],
    },
  })
  return onnx.ModelProto.encode(model).finish()
}

/** ValueInfoProto for a tensor; string dims are symbolic. */
function tensorInfo(name: string, elemType: number, dims: Array<string | number>): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
      },
    },
  }
}
