// Shards: an index split by id over three servers, a ShardRouter merging their top-k → exactly one
// index's answer (ids and scores, ties included, with filters), for every metric; mergeTopK alone.
import t from 'tap'

import { createRouterServer } from '../lib/serve/router-server.js'
import { createServer, type SimsageServer } from '../lib/serve/server.js'
import { mergeTopK, ShardRouter, shardOf } from '../lib/serve/shards.js'
import { EmbeddingIndex } from '../lib/similarity/embedding-index.js'
import type { Metric } from '../lib/similarity/types.js'
import { rows, toArrays } from './fixtures/serve.js'

const DIM = 5
const N = 90

t.test('mergeTopK: order, ties to the smaller id, short lists', async (t) => {
  const a = { ids: [4, 9], scores: [0.9, 0.5] }
  const b = { ids: [2, 7, 8], scores: [0.9, 0.5, 0.1] }
  t.same(mergeTopK([a, b], 4, 'ip'), { ids: [2, 4, 7, 9], scores: [0.9, 0.9, 0.5, 0.5] })
  t.same(mergeTopK([a, b], 10, 'cosine').ids, [2, 4, 7, 9, 8])
  t.same(
    mergeTopK(
      [
        { ids: [3, 1], scores: [0.1, 0.2] },
        { ids: [0], scores: [0.2] },
      ],
      3,
      'l2',
    ).ids,
    [3, 0, 1],
  )
  t.same(mergeTopK([], 3, 'ip'), { ids: [], scores: [] })
})

for (const metric of ['ip', 'cosine', 'l2'] as Metric[]) {
  t.test(`three shards behind a router = one index (${metric})`, async (t) => {
    // Every vector appears 3 times under ids i, i + 30, i + 60: ties that cross shards.
    const base = rows(30, DIM, 3)
    const vectors = new Float32Array(N * DIM)
    for (let c = 0; c < 3; c++) vectors.set(base, c * 30 * DIM)
    const ids = Float64Array.from({ length: N }, (_, i) => i)
    const whole = new EmbeddingIndex({ dim: DIM, metric })
    whole.add(ids, vectors)
    t.teardown(() => whole.dispose())
    const servers: SimsageServer[] = []
    const urls: string[] = []
    for (let s = 0; s < 3; s++) {
      const part = new EmbeddingIndex({ dim: DIM, metric })
      const mine = Array.from(ids).filter((id) => shardOf(id, 3) === s)
      const v = new Float32Array(mine.length * DIM)
      mine.forEach((id, j) => {
        v.set(vectors.subarray(id * DIM, (id + 1) * DIM), j * DIM)
      })
      part.add(mine, v)
      const server = await createServer({ index: part, token: 'shard-token' })
      servers.push(server)
      urls.push(await server.listen(0))
    }
    t.teardown(async () => {
      for (const s of servers) await s.close()
    })
    const router = new ShardRouter(urls, { token: 'shard-token' })
    const q = rows(6, DIM, 11)
    q.set(base.subarray(0, DIM), 0) // a query equal to a stored vector: exact ties at the top
    const exclude = [[0, 30], null, [5], null, null, [1, 2, 3]]
    for (const opts of [{}, { exclude }, { allow: [1, 2, 31, 32, 61, 62, 40], deny: [62] }]) {
      for (const k of [1, 4, 10, 100]) {
        const got = await router.search({ vectors: toArrays(q, DIM), k, ...opts })
        const want = await whole.search(q, k, opts)
        for (let i = 0; i < 6; i++) {
          const w = want.get(i)
          t.same(got.results[i].ids, Array.from(w.ids), `${JSON.stringify(opts).slice(0, 20)} k ${k} query ${i}: ids`)
          t.same(got.results[i].scores, Array.from(w.scores), `k ${k} query ${i}: scores`)
        }
      }
    }
    await t.rejects(new ShardRouter(urls).search({ vectors: toArrays(q, DIM), k: 3 }), {
      code: 'ERR_SIMSAGE_UNAUTHORIZED',
    })
  })
}

t.test('the router server: merged search, readiness follows the shards, a shard down is 503', async (t) => {
  const vectors = rows(40, DIM, 8)
  const whole = new EmbeddingIndex({ dim: DIM, metric: 'cosine' })
  whole.add(
    Array.from({ length: 40 }, (_, i) => i),
    vectors,
  )
  t.teardown(() => whole.dispose())
  const shards: SimsageServer[] = []
  const urls: string[] = []
  for (let s = 0; s < 2; s++) {
    const part = new EmbeddingIndex({ dim: DIM, metric: 'cosine' })
    const mine = Array.from({ length: 40 }, (_, i) => i).filter((id) => shardOf(id, 2) === s)
    const v = new Float32Array(mine.length * DIM)
    mine.forEach((id, j) => {
      v.set(vectors.subarray(id * DIM, (id + 1) * DIM), j * DIM)
    })
    part.add(mine, v)
    const server = await createServer({ index: part })
    shards.push(server)
    urls.push(await server.listen(0))
  }
  t.teardown(async () => {
    for (const s of shards) await s.close()
  })
  const router = await createRouterServer({ shards: urls, token: 'router-token', maxK: 20 })
  t.teardown(() => router.close())
  const headers = { authorization: 'Bearer router-token' }
  const q = rows(3, DIM, 2)
  const res = await router.app.inject({
    method: 'POST',
    url: '/v1/search',
    headers,
    payload: { vectors: toArrays(q, DIM), k: 7 },
  })
  t.equal(res.statusCode, 200)
  const want = await whole.search(q, 7)
  for (let i = 0; i < 3; i++) t.same(res.json().results[i].ids, Array.from(want.get(i).ids), `query ${i}`)
  t.equal(res.headers['x-simsage-index-version'], '1,1')
  t.equal((await router.app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200)
  const noAuth = await router.app.inject({ method: 'POST', url: '/v1/search', payload: { vectors: toArrays(q, DIM) } })
  t.equal(noAuth.json().error.code, 'ERR_SIMSAGE_UNAUTHORIZED')
  const bigK = await router.app.inject({
    method: 'POST',
    url: '/v1/search',
    headers,
    payload: { vectors: toArrays(q, DIM), k: 21 },
  })
  t.equal(bigK.json().error.code, 'ERR_SIMSAGE_INVALID_K')
  await shards[1].close()
  const ready = await router.app.inject({ method: 'GET', url: '/readyz' })
  t.equal(ready.statusCode, 503)
  const down = await router.app.inject({
    method: 'POST',
    url: '/v1/search',
    headers,
    payload: { vectors: toArrays(q, DIM) },
  })
  t.equal(down.statusCode, 503)
  t.equal(down.json().error.code, 'ERR_SIMSAGE_UNAVAILABLE')
})
