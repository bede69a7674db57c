// Threads 1 and 2 give bit-identical results at every SIMD level, for topk, topkAsync and an
// EmbeddingIndex (sync and async), on a corpus large enough (100,003 rows) for the work to split.
import t from 'tap'

import { EmbeddingIndex, info, setSimd, topk, topkAsync, type Metric, type SearchResults } from '../../lib/index.js'
import { mulberry32, randomMatrix } from '../fixtures/random.js'
import { check, reference, sameResults } from '../fixtures/reference.js'

const METRICS: Metric[] = ['ip', 'cosine', 'l2']

t.teardown(() => {
  setSimd('auto')
})

for (const level of info().simdSupported) {
  t.test(`threads 1 and 2 give identical results (simd ${level})`, async (t) => {
    setSimd(level)
    const rng = mulberry32(99)
    const dim = 33
    const n = 100_003
    const corpus = randomMatrix(rng, n, dim)
    const queries = randomMatrix(rng, 13, dim)
    // Workers join a job dynamically, so a call asked for 2 threads may finish on 1; retry until one
    // demonstrably ran on 2, so the comparison is not vacuous.
    const onTwo = async (run: () => SearchResults | Promise<SearchResults>, like: SearchResults) => {
      let identical = true
      for (let i = 0; i < 20; i++) {
        const r = await run()
        identical &&= sameResults(r, like)
        if (r.ran.threads === 2) return { identical, sawTwo: true }
      }
      return { identical, sawTwo: false }
    }
    for (const metric of METRICS) {
      const one = topk(queries, corpus, { dim, k: 10, metric, threads: 1 })
      t.equal(one.ran.threads, 1, `${metric}: threads 1 ran on 1 thread`)
      t.same(check(one, reference(queries, corpus, dim, metric), { k: 10 }), [], `${metric}: and is correct`)
      let r = await onTwo(() => topk(queries, corpus, { dim, k: 10, metric, threads: 2 }), one)
      t.ok(r.sawTwo, `${metric}: a threads-2 topk ran on 2 threads`)
      t.ok(r.identical, `${metric}: topk bit-identical across thread counts`)
      r = await onTwo(() => topkAsync(queries, corpus, { dim, k: 10, metric, threads: 2 }), one)
      t.ok(r.sawTwo && r.identical, `${metric}: topkAsync on 2 threads bit-identical`)

      const index = new EmbeddingIndex({ dim, metric })
      index.add(
        Float64Array.from({ length: n }, (_, i) => n - i),
        corpus,
      )
      const a = index.searchSync(queries, 10, { threads: 1 })
      t.equal(a.ran.threads, 1)
      r = await onTwo(() => index.search(queries, 10, { threads: 2 }), a)
      t.ok(r.sawTwo, `${metric}: a threads-2 index search ran on 2 threads`)
      t.ok(r.identical, `${metric}: index bit-identical across thread counts and sync/async`)
      index.dispose()
    }
  })
}
