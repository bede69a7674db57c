/**
 * simsage's own rows: "simsage index" (`EmbeddingIndex.add` once, then `searchSync` per batch)
 * and "simsage topk" (stateless `topk` over the row-major corpus). Both take `threads` per call.
 */
import type { BuildParams, SearchHits, SimilarityTool } from './types.js'
import { loadSimsage, type SimsageApi } from '../simsageApi.js'

/** What both simsage rows share: flags, and an `available()` that hands the loaded API to `onLoad`. */
function simsageRow(
  onLoad: (api: SimsageApi) => void,
): Pick<SimilarityTool, 'isSimsage' | 'batched' | 'maxThreads' | 'rebuildOn' | 'available'> {
  return {
    isSimsage: true,
    batched: true,
    maxThreads: Number.POSITIVE_INFINITY,
    rebuildOn: { threads: false, k: false },
    async available() {
      const loaded = await loadSimsage()
      if (typeof loaded === 'string') return loaded
      onLoad(loaded)
      return true
    },
  }
}

/** Creates the `EmbeddingIndex.searchSync` adapter. */
export function simsageIndexTool(): SimilarityTool {
  let api: SimsageApi | undefined
  let index: InstanceType<SimsageApi['EmbeddingIndex']> | undefined
  return {
    name: 'simsage index',
    describe:
      "new EmbeddingIndex({ dim, metric: 'ip' }); add(Int32Array ids, corpus); searchSync(queries, k, { threads })",
    ...simsageRow((loaded) => (api = loaded)),
    async build(params: BuildParams) {
      if (!api) throw new Error('simsage: available() first')
      index = new api.EmbeddingIndex({ dim: params.dim, metric: 'ip' })
      const ids = new Int32Array(params.n)
      for (let i = 0; i < params.n; i++) ids[i] = i
      index.add(ids, params.corpus.subarray(0, params.n * params.dim))
    },
    search(queries: Float32Array, nq: number, k: number, threads: number): SearchHits {
      if (!index) throw new Error('simsage index: build() first')
      const dim = queries.length / Math.max(nq, 1)
      const r = index.searchSync(queries.subarray(0, nq * dim), k, { threads })
      return { ids: r.ids }
    },
    dispose() {
      index?.dispose()
      index = undefined
    },
  }
}

/** Creates the stateless `topk` adapter. */
export function simsageTopkTool(): SimilarityTool {
  let api: SimsageApi | undefined
  let corpus: Float32Array | undefined
  let dim = 0
  return {
    name: 'simsage topk',
    describe: "topk(queries, corpus, { dim, k, metric: 'ip', threads }) (stateless, nothing built)",
    ...simsageRow((loaded) => (api = loaded)),
    async build(params: BuildParams) {
      corpus = params.corpus.subarray(0, params.n * params.dim)
      dim = params.dim
    },
    search(queries: Float32Array, nq: number, k: number, threads: number): SearchHits {
      if (!api || !corpus) throw new Error('simsage topk: build() first')
      const r = api.topk(queries.subarray(0, nq * dim), corpus, { dim, k, metric: 'ip', threads })
      return { ids: r.ids }
    },
    dispose() {
      corpus = undefined
    },
  }
}
