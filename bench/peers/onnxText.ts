/**
 * The onnxruntime-node peer of `simsage bench text`: the query hash embedding bag as an ONNX graph
 * (opset 17, built with `onnx-proto`'s generated encoder) over token row ids that simsage's
 * featuriser produced:
 *
 *   ea = Gather(E, a), eb = Gather(E, b)            [N, D]   (E [R, D] an initializer)
 *   w  = Gather(P, q)                               [N, 2]   (P [Q, 2] an initializer)
 *   e  = ea * w[:, 0:1] + eb * w[:, 1:2]             [N, D]
 *   s  = ScatterND(zeros[B, D], seg[N, 1], e, reduction = add)   (segment sum: sum pooling)
 *   y  = LayerNormalization(s, gamma, beta, axis = -1, epsilon)  [B, D]
 *
 * Inputs a, b, q (int64 [N]), seg (int64 [N, 1]) and shape (int64 [2] = [B, D]).
 */
import type * as Ort from 'onnxruntime-node'
import onnxProto from 'onnx-proto'

const { onnx } = onnxProto
type TensorProto = onnxProto.onnx.ITensorProto

const INT = onnx.AttributeProto.AttributeType.INT
const FLOATA = onnx.AttributeProto.AttributeType.FLOAT
const STRING = onnx.AttributeProto.AttributeType.STRING
const FLOAT = onnx.TensorProto.DataType.FLOAT
const INT64 = onnx.TensorProto.DataType.INT64

function f32init(name: string, dims: number[], data: Float32Array): TensorProto {
  const copy = Float32Array.from(data)
  return { name, dims, dataType: FLOAT, rawData: new Uint8Array(copy.buffer) }
}

function i64init(name: string, values: number[]): TensorProto {
  return { name, dims: [values.length], dataType: INT64, int64Data: values }
}

function info(name: string, elemType: number, dims: Array<string | number>): onnxProto.onnx.IValueInfoProto {
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

/** The bag's weights. */
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

/** Serialised model bytes of the graph above. */
export function buildHashBagModel(w: OnnxBagWeights): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'simsage-bench',
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'hash_embedding_bag',
      node: [
        { opType: 'Gather', input: ['E', 'a'], output: ['ea'], attribute: [{ name: 'axis', type: INT, i: 0 }] },
        { opType: 'Gather', input: ['E', 'b'], output: ['eb'], attribute: [{ name: 'axis', type: INT, i: 0 }] },
        { opType: 'Gather', input: ['P', 'q'], output: ['w'], attribute: [{ name: 'axis', type: INT, i: 0 }] },
        { opType: 'Slice', input: ['w', 'zero', 'one', 'one'], output: ['w0'] },
        { opType: 'Slice', input: ['w', 'one', 'two', 'one'], output: ['w1'] },
        { opType: 'Mul', input: ['ea', 'w0'], output: ['ma'] },
        { opType: 'Mul', input: ['eb', 'w1'], output: ['mb'] },
        { opType: 'Add', input: ['ma', 'mb'], output: ['e'] },
        {
          opType: 'ConstantOfShape',
          input: ['shape'],
          output: ['zeros'],
          attribute: [
            {
              name: 'value',
              type: onnx.AttributeProto.AttributeType.TENSOR,
              t: { dims: [1], dataType: FLOAT, floatData: [0] },
            },
          ],
        },
        {
          opType: 'ScatterND',
          input: ['zeros', 'seg', 'e'],
          output: ['s'],
          attribute: [{ name: 'reduction', type: STRING, s: new TextEncoder().encode('add') }],
        },
        {
          opType: 'LayerNormalization',
          input: ['s', 'gamma', 'beta'],
          output: ['y'],
          attribute: [
            { name: 'axis', type: INT, i: -1 },
            { name: 'epsilon', type: FLOATA, f: w.eps },
          ],
        },
      ],
      initializer: [
        f32init('E', [w.rows, w.dim], w.table),
        f32init('P', [w.importanceRows, 2], w.importance),
        f32init('gamma', [w.dim], w.gamma),
        f32init('beta', [w.dim], w.beta),
        i64init('zero', [0]),
        i64init('one', [1]),
        i64init('two', [2]),
      ],
      input: [
        info('a', INT64, ['N']),
        info('b', INT64, ['N']),
        info('q', INT64, ['N']),
        info('seg', INT64, ['N', 1]),
        info('shape', INT64, [2]),
      ],
      output: [info('y', FLOAT, ['B', w.dim])],
    },
  })
  return onnx.ModelProto.encode(model).finish()
}

/** Row ids of a batch as ORT's int64 inputs. */
export interface BagIds {
  a: BigInt64Array
  b: BigInt64Array
  q: BigInt64Array
  seg: BigInt64Array
  batch: number
}

/** A session running the bag; run() resolves to y [batch, dim]. */
export async function hashBagRunner(ort: typeof Ort, model: Uint8Array, dim: number) {
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    executionProviders: ['cpu'],
  })
  return {
    async run(ids: BagIds): Promise<Float32Array> {
      const n = ids.a.length
      const r = await session.run({
        a: new ort.Tensor('int64', ids.a, [n]),
        b: new ort.Tensor('int64', ids.b, [n]),
        q: new ort.Tensor('int64', ids.q, [n]),
        seg: new ort.Tensor('int64', ids.seg, [n, 1]),
        shape: new ort.Tensor('int64', BigInt64Array.of(BigInt(ids.batch), BigInt(dim)), [2]),
      })
      return r.y.data as Float32Array
    },
    release: () => session.release(),
  }
}
