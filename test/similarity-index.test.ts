// EmbeddingIndex mutations (add, replace, remove; removed ids never returned), the SearchResults
// accessors, and a check that the float64 reference checker rejects wrong results (split from
// test/similarity.test.ts).
import t from 'tap'

import { EmbeddingIndex, topk, type Metric, type SearchResults } from '../lib/index.js'
import { mulberry32, randomMatrix } from './fixtures/random.js'
import { check, reference, tolerance } from './fixtures/reference.js'

const METRICS: Metric[] = ['ip', 'cosine', 'l2']

t.test('EmbeddingIndex: add, replace, remove, has, size', async (t) => {
  const dim = 16
  const rng = mulberry32(2024)
  const v = randomMatrix(rng, 6, dim)
  const row = (i: number) => v.subarray(i * dim, (i + 1) * dim)
  const index = new EmbeddingIndex({ dim, metric: 'l2' })
  t.equal(index.size, 0, 'starts empty')
  t.notOk(index.has(1))
  const empty = await index.search(row(0), 3)
  t.same([...empty.counts], [0], 'searching an empty index finds nothing')
  t.ok(
    empty.ids.every((id) => id === -1),
    'and pads',
  )

  // A repeated id in one call keeps its last vector.
  const batch = new Float32Array(3 * dim)
  batch.set(row(0), 0)
  batch.set(row(1), dim)
  batch.set(row(2), 2 * dim)
  index.add([7, 8, 7], batch)
  t.equal(index.size, 2, 'a repeated id counts once')
  t.ok(index.has(7) && index.has(8))
  let r = index.searchSync(row(2), 1)
  // l2 is computed as |q|^2 + |x|^2 - 2 q.x, so a self-distance is 0 only up to rounding.
  const near0 = (s: number) => s >= 0 && s <= tolerance(dim, 2 * dim)
  t.same([...r.get(0).ids], [7], 'id 7 holds the last of its vectors')
  t.ok(near0(r.get(0).scores[0]), 'at distance ~0')
  r = index.searchSync(row(0), 2)
  t.notOk(near0(r.get(0).scores[0]), 'the first vector of id 7 was dropped')

  // Re-adding an id replaces its vector.
  index.add([8], row(3))
  t.equal(index.size, 2, 'replacing keeps the size')
  r = index.searchSync(row(3), 1)
  t.same([...r.get(0).ids], [8], 'replaced vector is found')
  t.ok(near0(r.get(0).scores[0]), 'at distance ~0')
  r = index.searchSync(row(1), 2)
  t.notOk(near0(r.get(0).scores[0]), 'the old vector of id 8 is gone')

  // Large ids round-trip exactly.
  const hi = Number.MAX_SAFE_INTEGER
  index.add(new BigUint64Array([BigInt(hi)]), row(4))
  t.ok(index.has(hi), 'the largest safe id is stored')
  r = index.searchSync(row(4), 1)
  t.equal(r.get(0).ids[0], hi, 'and returned exactly')

  t.equal(index.remove([8, 12345, 8]), 1, 'remove counts only ids that were present, once')
  t.notOk(index.has(8))
  t.equal(index.size, 2)
  t.equal(index.remove([]), 0, 'removing nothing')
  t.equal(index.remove([8]), 0, 'removing twice removes nothing')
})

t.test('removed ids are never returned', async (t) => {
  const rng = mulberry32(555)
  const dim = 33
  const n = 500
  const corpus = randomMatrix(rng, n, dim)
  const ids = Array.from({ length: n }, (_, i) => i * 2)
  const queries = randomMatrix(rng, 5, dim)
  for (const metric of METRICS) {
    const index = new EmbeddingIndex({ dim, metric })
    index.add(ids, corpus)
    const removed = ids.filter((_, i) => i % 3 !== 1)
    t.equal(index.remove(removed), removed.length, `${metric}: remove returns the count`)
    t.equal(index.size, n - removed.length)
    const gone = new Set(removed)
    const res = await index.search(queries, n)
    const ref = reference(queries, corpus, dim, metric)
    t.same(
      check(res, ref, { k: n, rows: index.size, ids, eligible: (_, id) => !gone.has(id) }),
      [],
      `${metric}: results are the survivors, ranked`,
    )
    t.ok(
      [...res.ids].every((id) => !gone.has(id)),
      `${metric}: no removed id`,
    )
    t.ok(
      removed.every((id) => !index.has(id)) && ids.filter((id) => !gone.has(id)).every((id) => index.has(id)),
      `${metric}: has() agrees`,
    )
    // Removing then re-adding restores them.
    const back = removed.slice(0, 50)
    const vecs = new Float32Array(back.length * dim)
    back.forEach((id, i) => {
      vecs.set(corpus.subarray((id / 2) * dim, (id / 2 + 1) * dim), i * dim)
    })
    index.add(back, vecs)
    const back2 = new Set(back)
    const res2 = index.searchSync(queries, 40)
    t.same(
      check(res2, ref, { k: 40, ids, eligible: (_, id) => !gone.has(id) || back2.has(id) }),
      [],
      `${metric}: re-added ids come back`,
    )
    index.dispose()
  }
})

t.test('SearchResults accessors', async (t) => {
  const dim = 3
  const res: SearchResults = topk(randomMatrix(mulberry32(1), 2, dim), randomMatrix(mulberry32(2), 4, dim), {
    dim,
    k: 6,
  })
  t.equal(res.length, 2)
  t.equal(res.k, 4, 'k is clamped to the corpus rows')
  t.equal(res.ids.length, 8)
  t.ok(res.ids instanceof Float64Array && res.scores instanceof Float32Array && res.counts instanceof Int32Array)
  t.same([...res.counts], [4, 4])
  t.equal(res.get(1).ids.length, 4, 'get() trims to counts')
  t.same([...res.get(1).ids], [...res.ids.subarray(4, 8)])
  const rows = [...res]
  t.equal(rows.length, 2, 'iterates one Matches per query')
  for (const bad of [-1, 2, 1.5, NaN]) {
    t.throws(() => res.get(bad), { code: 'ERR_SIMSAGE_INVALID_ARGUMENT' }, `get(${bad}) is out of range`)
  }
})

t.test('the reference checker rejects wrong results (so the tests above can fail)', async (t) => {
  const dim = 129
  const corpus = randomMatrix(mulberry32(8), 50, dim)
  const queries = randomMatrix(mulberry32(9), 2, dim)
  const ref = reference(queries, corpus, dim, 'ip')
  const good = topk(queries, corpus, { dim, k: 60 })
  t.same(check(good, ref, { k: 60 }), [], 'a correct result passes')
  const tamper = (f: (r: SearchResults) => void) => {
    const r = topk(queries, corpus, { dim, k: 60 })
    f(r)
    return check(r, ref, { k: 60 }).length
  }
  t.ok(tamper((r) => r.ids.copyWithin(0, 1, 2)) > 0, 'a duplicated id')
  t.ok(tamper((r) => ([r.ids[3], r.ids[4]] = [r.ids[4], r.ids[3]])) > 0, 'two ids swapped')
  t.ok(tamper((r) => (r.scores[7] *= 1.01)) > 0, 'a score off by 1%')
  t.ok(tamper((r) => (r.ids[55] = 0)) > 0, 'padding overwritten')
  t.ok(tamper((r) => (r.counts[1] = 49)) > 0, 'a wrong count')
  t.ok(check(good, ref, { k: 60, eligible: (_, id) => id !== good.ids[0] }).length > 0, 'an ineligible id')
  // A dot product that dropped one term of 129 (a tail bug) is caught.
  const short = corpus.slice()
  for (let r = 0; r < 50; r++) short[r * dim + dim - 1] = 0
  t.ok(check(topk(queries, short, { dim, k: 10 }), ref, { k: 10 }).length > 0, 'a missing last dimension')
})
