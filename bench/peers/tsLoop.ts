/**
 * Plain TypeScript peer: what a user writes without a library. One query at a time, a scalar
 * dot product per corpus row (float64 accumulator over the float32 arrays), and a k-entry
 * min-heap of the best scores. Single-threaded (threads = 2 cells n/a).
 */
import type { BuildParams, SearchHits, SimilarityTool } from './types.js'

/** Creates the plain-loop adapter. */
export function tsLoopTool(): SimilarityTool {
  let corpus: Float32Array | undefined
  let n = 0
  let dim = 0
  return {
    name: 'plain TS loop',
    isSimsage: false,
    batched: false,
    maxThreads: 1,
    rebuildOn: { threads: false, k: false },
    describe: 'for each query: for each row: scalar dot product; k-entry min-heap (single-threaded)',
    async available() {
      return true
    },
    async build(params: BuildParams) {
      corpus = params.corpus
      n = params.n
      dim = params.dim
    },
    search(queries: Float32Array, nq: number, k: number): SearchHits {
      if (!corpus) throw new Error('ts loop: build() first')
      const ids = new Float64Array(nq * k).fill(-1)
      for (let qi = 0; qi < nq; qi++) {
        searchOne(corpus, n, dim, queries, qi * dim, k, ids, qi * k)
      }
      return { ids }
    },
    dispose() {
      corpus = undefined
    },
  }
}

/** Top-k of one query (at `qOff` in `queries`) into `outIds[outOff ..]`, best first. */
function searchOne(
  corpus: Float32Array,
  n: number,
  dim: number,
  queries: Float32Array,
  qOff: number,
  k: number,
  outIds: Float64Array,
  outOff: number,
): void {
  // Min-heap on score: heapScores[0] is the worst of the current best k.
  const heapScores = new Float64Array(k)
  const heapIds = new Int32Array(k)
  let size = 0
  for (let i = 0; i < n; i++) {
    const base = i * dim
    let s = 0
    for (let j = 0; j < dim; j++) s += queries[qOff + j] * corpus[base + j]
    if (size < k) {
      let c = size++
      while (c > 0) {
        const p = (c - 1) >> 1
        if (heapScores[p] <= s) break
        heapScores[c] = heapScores[p]
        heapIds[c] = heapIds[p]
        c = p
      }
      heapScores[c] = s
      heapIds[c] = i
    } else if (s > heapScores[0]) {
      let c = 0
      for (;;) {
        const l = 2 * c + 1
        if (l >= k) break
        const r = l + 1
        const m = r < k && heapScores[r] < heapScores[l] ? r : l
        if (heapScores[m] >= s) break
        heapScores[c] = heapScores[m]
        heapIds[c] = heapIds[m]
        c = m
      }
      heapScores[c] = s
      heapIds[c] = i
    }
  }
  // Pop ascending into the output from the back so the best ends up first.
  for (let pos = size - 1; pos >= 0; pos--) {
    outIds[outOff + pos] = heapIds[0]
    const lastScore = heapScores[size - 1]
    const lastId = heapIds[size - 1]
    size--
    let c = 0
    for (;;) {
      const l = 2 * c + 1
      if (l >= size) break
      const r = l + 1
      const m = r < size && heapScores[r] < heapScores[l] ? r : l
      if (heapScores[m] >= lastScore) break
      heapScores[c] = heapScores[m]
      heapIds[c] = heapIds[m]
      c = m
    }
    heapScores[c] = lastScore
    heapIds[c] = lastId
  }
}
