/**
 * onnxruntime-node peer: CPU execution provider running the Gemm(transB) + TopK graph from
 * `onnxGraph.ts`, session options `{ intraOpNumThreads: threads, interOpNumThreads: 1,
 * graphOptimizationLevel: 'all' }`. Threads and k are fixed per session, so the runner rebuilds
 * it when either changes; the whole batch runs in one `session.run` (the Q x N score matrix is
 * materialised: 4 GB at Q = 1024, N = 1M). Both onnxruntime-node and onnx-proto (through
 * `onnxGraph.ts`) load only in `available()`: either missing skips the row with a note.
 */
import type * as Ort from 'onnxruntime-node'
import type { buildTopKModel as BuildTopKModel } from './onnxGraph.js'
import type { BuildParams, SearchHits, SimilarityTool } from './types.js'

/** Creates the onnxruntime-node adapter. */
export function onnxruntimeTool(): SimilarityTool {
  let ort: typeof Ort | undefined
  let buildTopKModel: typeof BuildTopKModel | undefined
  let session: Ort.InferenceSession | undefined
  let dim = 0
  return {
    name: 'onnxruntime Gemm+TopK',
    isSimsage: false,
    batched: true,
    maxThreads: Number.POSITIVE_INFINITY,
    rebuildOn: { threads: true, k: true },
    describe:
      'onnxruntime-node CPU EP, Gemm(q, corpus, transB=1) -> TopK(k, axis=-1, largest=1, sorted=1); ' +
      "corpus and k are initializers; intraOpNumThreads=threads, interOpNumThreads=1, graphOptimizationLevel='all'",
    async available() {
      try {
        const loaded = (await import('onnxruntime-node')) as typeof Ort & { default?: typeof Ort }
        ort = typeof loaded.InferenceSession === 'function' ? loaded : loaded.default
        if (!ort) return 'onnxruntime-node has no InferenceSession'
        buildTopKModel = (await import('./onnxGraph.js')).buildTopKModel
        return true
      } catch (err) {
        return `onnxruntime-node or onnx-proto not installed (${(err as Error).message.split('\n')[0]})`
      }
    },
    async build(params: BuildParams) {
      if (!ort || !buildTopKModel) throw new Error('onnxruntime: available() first')
      dim = params.dim
      const bytes = buildTopKModel(params.corpus, params.n, params.dim, params.k)
      session = await ort.InferenceSession.create(bytes, {
        intraOpNumThreads: params.threads,
        interOpNumThreads: 1,
        graphOptimizationLevel: 'all',
        executionProviders: ['cpu'],
      })
    },
    async search(queries: Float32Array, nq: number): Promise<SearchHits> {
      if (!ort || !session) throw new Error('onnxruntime: build() first')
      const input = new ort.Tensor('float32', queries.subarray(0, nq * dim), [nq, dim])
      const out = await session.run({ q: input })
      return { ids: out.indices.data as BigInt64Array }
    },
    dispose() {
      void session?.release()
      session = undefined
    },
  }
}
