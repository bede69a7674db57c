/**
 * onnxruntime-node peer: CPU execution provider running the Gemm(transB) + TopK graph from
 * `onnxGraph.ts`, session options `{ intraOpNumThreads: threads, interOpNumThreads: 1,
 * graphOptimizationLevel: 'all' }`. Threads and k are fixed per session, so the runner rebuilds
 * it when either changes; the whole batch runs in one `session.run` (the Q x N score matrix is
 * materialised: 4 GB at Q = 1024, N = 1M). onnxruntime-node is a dev dependency and an optional
 * peer of the package; the graph is built with simsage's own builder (`OnnxGraph`, over its
 * `protobufjs` dependency). Both load only in `available()` (`loadOnnxruntime`): a missing
 * onnxruntime-node skips the row with a note that says how to install it.
 */
import type * as Ort from 'onnxruntime-node'
import type { buildTopKModel as BuildTopKModel } from './onnxGraph.js'
import type { BuildParams, SearchHits, SimilarityTool } from './types.js'

/** The command that adds this peer's packages to a project (they are not dependencies of simsage). */
export const ONNXRUNTIME_INSTALL = 'npm install --save-dev onnxruntime-node'

/**
 * Loads onnxruntime-node and the graph builder on first use. Throws a SimsageError
 * `ERR_SIMSAGE_MISSING_DEPENDENCY` naming the install command when onnxruntime-node is not installed, and
 * `ERR_SIMSAGE_ADDON_NOT_LOADED` when onnxruntime-node is installed but its binary does not load.
 */
export async function loadOnnxruntime(): Promise<{ ort: typeof Ort; buildTopKModel: typeof BuildTopKModel }> {
  // simsage is imported here, not at the top, so that the benchmark still runs its peers (and says
  // why) when simsage itself fails to load (bench/simsageApi.ts).
  const { ErrorCodes, SimsageError } = await import('simsage')
  const missing = (e: unknown) => (e as { code?: string }).code === 'ERR_MODULE_NOT_FOUND'
  let ort: typeof Ort | undefined
  try {
    const loaded = (await import('onnxruntime-node')) as typeof Ort & { default?: typeof Ort }
    ort = typeof loaded.InferenceSession === 'function' ? loaded : loaded.default
  } catch (e) {
    if (missing(e)) {
      throw new SimsageError(
        ErrorCodes.MISSING_DEPENDENCY,
        `onnxruntime-node is not installed (an optional peer of the benchmark): ${ONNXRUNTIME_INSTALL}`,
        { cause: e },
      )
    }
    throw new SimsageError(
      ErrorCodes.ADDON_NOT_LOADED,
      `onnxruntime-node failed to load: ${(e as Error).message.split('\n')[0]}`,
      { cause: e },
    )
  }
  if (!ort || typeof ort.InferenceSession !== 'function') {
    throw new SimsageError(ErrorCodes.ADDON_NOT_LOADED, 'onnxruntime-node has no InferenceSession')
  }
  return { ort, buildTopKModel: (await import('./onnxGraph.js')).buildTopKModel }
}

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
        ;({ ort, buildTopKModel } = await loadOnnxruntime())
        return true
      } catch (err) {
        const code = (err as { code?: unknown }).code
        if (typeof code === 'string' && code.startsWith('ERR_SIMSAGE_')) return `${(err as Error).message} (${code})`
        return `onnxruntime-node could not be loaded (${(err as Error).message.split('\n')[0]})`
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
