/**
 * usearch peer: `exactSearch(dataset, queries, dim, k, MetricKind.IP, threads)`, usearch's
 * brute-force path (no HNSW). Its `threads` argument sizes usearch's own executor (0 would mean
 * all hardware threads, so the runner always passes an explicit count).
 *
 * exactSearch materialises a `2 * nq * n` array of 8-byte (offset, distance) pairs before it
 * partially sorts each query's row, so a 1024-query batch against 1M rows would ask for 16 GiB.
 * The adapter therefore splits a batch into calls of at most `maxScratchBytes` of that scratch;
 * queries are independent, which also lets the runner time a prefix of the batch.
 * usearch's IP "distance" is `1 - dot`, ascending, so its first id is the largest inner product.
 *
 * usearch 2.25's native exactSearch reads `array.buffer` from its start and ignores the typed
 * array's `byteOffset`: a `subarray` not at offset 0 is searched as the buffer's first rows. The
 * adapter therefore hands it only arrays at offset 0 (`atOffsetZero`), copying a chunk otherwise.
 */
import type { BuildParams, SearchHits, SimilarityTool } from './types.js'

type UsearchModule = typeof import('usearch')

/** Upper bound on usearch's per-call scratch (bytes); 1 GiB. */
const maxScratchBytes = 1 << 30

/** Creates the usearch adapter. */
export function usearchTool(): SimilarityTool {
  let mod: UsearchModule | undefined
  let corpus: Float32Array | undefined
  let dim = 0
  let n = 0
  return {
    name: 'usearch exactSearch',
    isSimsage: false,
    batched: false,
    maxThreads: Number.POSITIVE_INFINITY,
    rebuildOn: { threads: false, k: false },
    get describe() {
      const chunk = n > 0 ? chunkQueries(n) : 0
      return (
        'usearch.exactSearch(corpus, queries, dim, k, MetricKind.IP, threads); ' +
        `calls of <= ${chunk} queries (exactSearch allocates 16 bytes x queries x N of scratch per call)`
      )
    },
    async available() {
      try {
        const loaded = (await import('usearch')) as UsearchModule & { default?: UsearchModule }
        mod = typeof loaded.exactSearch === 'function' ? loaded : loaded.default
        if (!mod || typeof mod.exactSearch !== 'function') return 'usearch has no exactSearch export'
        return true
      } catch (err) {
        return `usearch not installed or failed to load (${(err as Error).message.split('\n')[0]})`
      }
    },
    async build(params: BuildParams) {
      // exactSearch takes the raw row-major corpus on every call: nothing to build.
      corpus = atOffsetZero(params.corpus.subarray(0, params.n * params.dim))
      dim = params.dim
      n = params.n
    },
    search(queries: Float32Array, nq: number, k: number, threads: number): SearchHits {
      if (!mod || !corpus) throw new Error('usearch: build() first')
      const chunk = chunkQueries(n)
      const ids = new BigUint64Array(nq * k)
      for (let start = 0; start < nq; start += chunk) {
        const count = Math.min(chunk, nq - start)
        const part = atOffsetZero(queries.subarray(start * dim, (start + count) * dim))
        const res = mod.exactSearch(corpus, part, dim, k, mod.MetricKind.IP, threads)
        ids.set(res.keys, start * k)
      }
      return { ids }
    },
    dispose() {
      corpus = undefined
    },
  }
}

/** Queries per exactSearch call so that its scratch stays under `maxScratchBytes`. */
function chunkQueries(n: number): number {
  return Math.max(1, Math.floor(maxScratchBytes / (16 * n)))
}

/**
 * `a` itself when usearch's exactSearch reads it correctly (it starts its buffer), else a copy:
 * the binding ignores `byteOffset` (see the file comment).
 */
export function atOffsetZero<T extends Float32Array | Int8Array>(a: T): T {
  return a.byteOffset === 0 ? a : (a.slice() as T)
}
