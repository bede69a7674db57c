// The HTTP server through fastify.inject: health, readiness and metrics, search (results, filters,
// micro-batched = one search per request, bad input → coded errors, auth), embed (tower, cache,
// no model).
import t from 'tap'

import { ErrorCodes } from '../lib/errors.js'
import { embed } from '../lib/models/ranking-tower.js'
import { createServer } from '../lib/serve/server.js'
import { auth, DIM, errorOf, makeIndex, makeTower, rows, server, TOKEN, toArrays, towerSpec } from './fixtures/serve.js'

t.test('health, readiness, metrics, version header', async (t) => {
  const s = await server()
  t.teardown(() => s.close())
  for (const url of ['/healthz', '/readyz', '/metrics']) {
    const res = await s.app.inject({ method: 'GET', url })
    t.equal(res.statusCode, 200, url)
    t.equal(res.headers['x-simsage-index-version'], '1', `${url}: version header`)
  }
  const ready = await s.app.inject({ method: 'GET', url: '/readyz' })
  t.match(ready.json(), { status: 'ready', index: { version: 1, size: 60 }, store: 'memory' })
  const m = (await s.app.inject({ method: 'GET', url: '/metrics' })).body
  for (const name of [
    'simsage_http_request_duration_seconds_bucket{le="0.001",route="/healthz"',
    'simsage_index_vectors 60',
    'simsage_index_version 1',
    'simsage_state_store_errors_total 0',
    'simsage_embedding_cache_hit_ratio',
    'simsage_batch_rows',
  ]) {
    t.ok(m.includes(name), `metrics have ${name}`)
  }
  const nf = await s.app.inject({ method: 'GET', url: '/nope' })
  errorOf(t, nf, 404, ErrorCodes.NOT_FOUND, 'unknown route')
  t.equal(nf.headers['x-simsage-index-version'], '1', 'error answers carry the version too')
})

t.test('search: results equal EmbeddingIndex.search, filters, batched = one per request', async (t) => {
  const q = rows(12, DIM, 9)
  const ref = makeIndex()
  t.teardown(() => ref.dispose())
  const want = await ref.search(q, 5, { exclude: [[0, 1], null, ...Array(10).fill(undefined)] })
  for (const batching of [true, false]) {
    const s = await server({ batching })
    t.teardown(() => s.close())
    // 12 concurrent requests of one query each (the first two with excludes), k 3..5.
    const answers = await Promise.all(
      toArrays(q, DIM).map((v, i) =>
        s.app.inject({
          method: 'POST',
          url: '/v1/search',
          headers: auth,
          payload: { vectors: [v], k: 3 + (i % 3), exclude: i === 0 ? [[0, 1]] : undefined },
        }),
      ),
    )
    answers.forEach((res, i) => {
      t.equal(res.statusCode, 200, `batching ${batching}: query ${i}`)
      const k = 3 + (i % 3)
      const m = want.get(i)
      t.same(res.json().results[0].ids, Array.from(m.ids.subarray(0, k)), `batching ${batching}: query ${i} ids`)
      t.equal(res.headers['x-simsage-index-version'], '1')
    })
    const metrics = (await s.app.inject({ method: 'GET', url: '/metrics' })).body
    const count = Number(/simsage_batch_rows_count\{batcher="search"\} (\d+)/.exec(metrics)?.[1])
    if (batching) t.ok(count < 12, `batching merged 12 requests into ${count} batches`)
    else t.equal(count, 12, 'without batching: one search per request')
  }
  const s = await server()
  t.teardown(() => s.close())
  const allow = await s.app.inject({
    method: 'POST',
    url: '/v1/search',
    headers: auth,
    payload: { vectors: toArrays(q.subarray(0, 2 * DIM), DIM), k: 10, allow: [3, 4, 5], deny: [4] },
  })
  t.same(
    allow.json().results.map((r: { ids: number[] }) => [...r.ids].sort()),
    [
      [3, 5],
      [3, 5],
    ],
    'allow and deny',
  )
})

t.test('search: bad input answers coded errors', async (t) => {
  const s = await server()
  t.teardown(() => s.close())
  const post = (payload: unknown, headers: Record<string, string> = auth) =>
    s.app.inject({
      method: 'POST',
      url: '/v1/search',
      headers: { 'content-type': 'application/json', ...headers },
      payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
    })
  const v = Array(DIM).fill(0.5)
  errorOf(t, await post('{"vectors": [[1,2'), 400, ErrorCodes.MALFORMED_INPUT, 'malformed JSON')
  errorOf(t, await post({ vectors: [[1, 2, 3]] }), 400, ErrorCodes.DIM_MISMATCH, 'wrong dimension')
  errorOf(t, await post({ vectors: [v], k: 51 }), 400, ErrorCodes.INVALID_K, 'k over the limit')
  errorOf(t, await post({ vectors: [v], k: 1e12 }), 400, ErrorCodes.INVALID_K, 'huge k')
  errorOf(t, await post({ vectors: [v], k: 0 }), 400, ErrorCodes.INVALID_ARGUMENT, 'k 0')
  errorOf(t, await post({ vectors: Array(17).fill(v) }), 413, ErrorCodes.TOO_LARGE, 'too many queries')
  errorOf(t, await post({ vectors: [] }), 400, ErrorCodes.INVALID_ARGUMENT, 'no queries')
  errorOf(t, await post({ vectors: [v], exclude: [[1], [2]] }), 400, ErrorCodes.DIM_MISMATCH, 'exclude per query')
  errorOf(t, await post({ vectors: [v], allow: [-1] }), 400, ErrorCodes.INVALID_ARGUMENT, 'negative id')
  errorOf(t, await post({ vectors: [['a', 1]] }), 400, ErrorCodes.INVALID_ARGUMENT, 'not numbers')
  errorOf(t, await post({ k: 3 }), 400, ErrorCodes.INVALID_ARGUMENT, 'no vectors')
  errorOf(t, await post({ text: ['red shoes'] }), 501, ErrorCodes.NO_QUERY_TOWER, 'text query')
  errorOf(
    t,
    await post({ vectors: Array(2000).fill(Array(DIM).fill(0.123456789)) }),
    413,
    ErrorCodes.TOO_LARGE,
    'oversized body',
  )
  errorOf(t, await post({ vectors: [v] }, {}), 401, ErrorCodes.UNAUTHORIZED, 'no token')
  errorOf(
    t,
    await post({ vectors: [v] }, { authorization: 'Bearer wrong' }),
    401,
    ErrorCodes.UNAUTHORIZED,
    'wrong token',
  )
  errorOf(
    t,
    await post({ vectors: [v] }, { authorization: `Bearer ${TOKEN}x` }),
    401,
    ErrorCodes.UNAUTHORIZED,
    'longer token',
  )
  const ok = await post({ vectors: [v] })
  t.equal(ok.statusCode, 200, 'the server still answers after every error')
})

t.test('embed: the tower, the cache, no model', async (t) => {
  const s = await server()
  t.teardown(() => s.close())
  const x = rows(3, towerSpec.inputDim, 4)
  const tower = makeTower()
  const want = embed(tower.model, x, towerSpec.inputDim, DIM)
  for (let round = 0; round < 2; round++) {
    const res = await s.app.inject({
      method: 'POST',
      url: '/v1/embed',
      headers: auth,
      payload: { inputs: toArrays(x, towerSpec.inputDim) },
    })
    t.equal(res.statusCode, 200)
    const got = res.json().embeddings.flat()
    t.ok(
      got.every((g: number, i: number) => Math.abs(g - want[i]) < 1e-5),
      `round ${round}: embeddings equal the tower's`,
    )
  }
  const m = (await s.app.inject({ method: 'GET', url: '/metrics' })).body
  t.match(m, /simsage_embedding_cache_lookups_total\{result="hit"\} 3/, 'second round hit the cache')
  t.match(m, /simsage_embedding_cache_hit_ratio 0\.5/)
  errorOf(
    t,
    await s.app.inject({ method: 'POST', url: '/v1/embed', headers: auth, payload: { inputs: [[1, 2]] } }),
    400,
    ErrorCodes.DIM_MISMATCH,
    'wrong input width',
  )
  const bare = await createServer({ index: makeIndex() })
  t.teardown(() => bare.close())
  errorOf(
    t,
    await bare.app.inject({ method: 'POST', url: '/v1/embed', payload: { inputs: [[1]] } }),
    501,
    ErrorCodes.NO_MODEL,
    'no tower',
  )
  errorOf(
    t,
    await bare.app.inject({ method: 'POST', url: '/v1/events', payload: { user: 'u', item: 'x' } }),
    501,
    ErrorCodes.NO_MODEL,
    'no HierTCN',
  )
  errorOf(
    t,
    await bare.app.inject({ method: 'POST', url: '/admin/reload' }),
    401,
    ErrorCodes.UNAUTHORIZED,
    'admin without a server token',
  )
})
