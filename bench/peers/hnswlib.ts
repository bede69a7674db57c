/**
 * hnswlib-node peer: `BruteforceSearch('ip', dim)`, one `addPoint(number[], label)` per row at
 * build time, one `searchKnn(number[], k)` per query at search time. The binding only accepts
 * plain arrays, so queries are converted to `number[]` before timing starts (see `prepare`);
 * it has no threads option (threads = 1 only). hnswlib's IP distance is `1 - dot`, ascending.
 * Note: the npm package compiles from source without `-march`, so its SIMD is SSE at best.
 */
import type { BuildParams, SearchHits, SimilarityTool } from './types.js'

type HnswModule = typeof import('hnswlib-node')
type Bruteforce = InstanceType<HnswModule['BruteforceSearch']>

/** Creates the hnswlib-node adapter. */
export function hnswlibTool(): SimilarityTool {
  let mod: HnswModule | undefined
  let index: Bruteforce | undefined
  let dim = 0
  // Queries as number[][], converted outside the timed region; keyed by the source array.
  let prepared: { source: Float32Array; rows: number[][] } | undefined
  const rowsFor = (queries: Float32Array, nq: number): number[][] => {
    if (prepared && prepared.source === queries && prepared.rows.length >= nq) return prepared.rows
    const rows: number[][] = []
    for (let i = 0; i < nq; i++) rows.push(Array.from(queries.subarray(i * dim, (i + 1) * dim)))
    prepared = { source: queries, rows }
    return rows
  }
  return {
    name: 'hnswlib-node Bruteforce',
    isSimsage: false,
    batched: false,
    maxThreads: 1,
    rebuildOn: { threads: false, k: false },
    describe:
      "hnswlib-node new BruteforceSearch('ip', dim); initIndex(N); addPoint(number[], i) per row; " +
      'searchKnn(number[], k) per query, single-threaded (threads=2 cells n/a)',
    async available() {
      try {
        const loaded = (await import('hnswlib-node')) as HnswModule & { default?: HnswModule }
        mod = typeof loaded.BruteforceSearch === 'function' ? loaded : loaded.default
        if (!mod || typeof mod.BruteforceSearch !== 'function') return 'hnswlib-node has no BruteforceSearch'
        return true
      } catch (err) {
        return `hnswlib-node not installed or its addon is not built (${(err as Error).message.split('\n')[0]})`
      }
    },
    async build(params: BuildParams) {
      if (!mod) throw new Error('hnswlib-node: available() first')
      dim = params.dim
      index = new mod.BruteforceSearch('ip', dim)
      index.initIndex(params.n)
      const row: number[] = new Array<number>(dim)
      for (let i = 0; i < params.n; i++) {
        const base = i * dim
        for (let j = 0; j < dim; j++) row[j] = params.corpus[base + j]
        index.addPoint(row, i)
      }
    },
    prepare(queries: Float32Array, nq: number, d: number) {
      dim = d
      rowsFor(queries, nq)
    },
    search(queries: Float32Array, nq: number, k: number): SearchHits {
      if (!index) throw new Error('hnswlib-node: build() first')
      const rows = rowsFor(queries, nq)
      const ids = new Float64Array(nq * k)
      for (let i = 0; i < nq; i++) {
        const res = index.searchKnn(rows[i], k)
        const neighbors = res.neighbors
        for (let j = 0; j < neighbors.length; j++) ids[i * k + j] = neighbors[j]
      }
      return { ids }
    },
    dispose() {
      // BruteforceSearch has no explicit free; dropping the reference lets GC release it.
      index = undefined
      prepared = undefined
    },
  }
}
