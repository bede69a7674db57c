/**
 * The onnxruntime-node peer of `simsage bench text`: the query hash embedding bag as an ONNX graph
 * (opset 17, built with simsage's `OnnxGraph`) over token row ids that simsage's featuriser produced:
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
import { hashBag, type OnnxBagWeights } from 'simsage/internal'
import { OnnxGraph } from 'simsage'

export type { OnnxBagWeights }

/** Serialised model bytes of the graph above (simsage's OnnxGraph builder and its `hashBag` op, opset 17). */
export function buildHashBagModel(w: OnnxBagWeights): Uint8Array {
  const g = new OnnxGraph('hash_embedding_bag')
  const inputs = {
    a: g.input('a', 'int64', ['N']),
    b: g.input('b', 'int64', ['N']),
    q: g.input('q', 'int64', ['N']),
    seg: g.input('seg', 'int64', ['N', 1]),
    shape: g.input('shape', 'int64', [2]),
  }
  g.output(hashBag(g, 'bag', w, inputs), 'float32', ['B', w.dim], 'y')
  return g.toBytes()
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
