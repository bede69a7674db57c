// The HTTP server through fastify.inject: every route, micro-batching = one search per request,
// hot swap and a corrupt file during it, auth, and bad input (malformed JSON, wrong dims, huge k,
// oversized bodies, unknown users and items, a state store that is down) → coded JSON errors.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import t, { type Test } from 'tap'

import { ErrorCodes, SimsageError } from '../lib/errors.js'
import { embed } from '../lib/models/ranking-tower.js'
import { createServer, type SimsageServer } from '../lib/serve/server.js'
import { MemoryStateStore, type StateStore, updateWithRetries } from '../lib/serve/state-store.js'
import { HierTCNStreamer } from '../lib/serve/hiertcn-stream.js'
import type { UserState } from '../lib/serve/user-state.js'
import { DIM, hiertcnSpec, itemIds, makeHierTCN, makeIndex, makeTower, rows, towerSpec } from './fixtures/serve.js'

const dir = mkdtempSync(join(tmpdir(), 'simsage-serve-'))
const TOKEN = 'test-token'
const auth = { authorization: `Bearer ${TOKEN}` }

async function server(extra: Partial<Parameters<typeof createServer>[0]> = {}): Promise<SimsageServer> {
  return createServer({
    index: makeIndex(),
    tower: makeTower(),
    hiertcn: makeHierTCN(),
    token: TOKEN,
    maxK: 50,
    maxQueries: 16,
    bodyLimit: 64 * 1024,
    ...extra,
  })
}

const toArrays = (x: Float32Array, dim: number) =>
  Array.from({ length: x.length / dim }, (_, i) => Array.from(x.subarray(i * dim, (i + 1) * dim)))

function errorOf(
  t: Tap.Test,
  res: { statusCode: number; json(): unknown },
  status: number,
  code: string,
  what: string,
) {
  t.equal(res.statusCode, status, `${what}: status ${status}`)
  t.match(res.json(), { error: { code, message: /\S/ } }, `${what}: ${code}`)
}

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

t.test('events and recommendations: equal a sequential replay, seen items excluded', async (t) => {
  const store = new MemoryStateStore()
  // Two servers ("replicas") over one store, events for 4 users sent to both at once.
  const a = await server({ store })
  const b = await server({ store: { ...wrap(store), close: async () => {} } })
  t.teardown(async () => {
    await b.close()
    await a.close()
  })
  const sent: { user: string; item: string; seq: number }[] = []
  const answers = await Promise.all(
    Array.from({ length: 120 }, (_, i) => {
      const user = `u${i % 4}`
      const item = itemIds[(i * 7) % itemIds.length]
      return (i % 2 ? a : b).app
        .inject({ method: 'POST', url: '/v1/events', headers: auth, payload: { user, item } })
        .then((res) => {
          t.equal(res.statusCode, 200, `event ${i}`)
          sent.push({ user, item, seq: res.json().events })
        })
    }),
  )
  t.equal(answers.length, 120)
  const h = makeHierTCN()
  using streamer = new HierTCNStreamer(h.model, h.items, { maxLength: h.maxLength, slots: 4 })
  for (let u = 0; u < 4; u++) {
    const mine = sent.filter((e) => e.user === `u${u}`).sort((x, y) => x.seq - y.seq)
    t.same(
      mine.map((e) => e.seq),
      Array.from({ length: 30 }, (_, i) => i + 1),
      `u${u}: every event applied once, numbered 1..30`,
    )
    let st: UserState | undefined
    for (const e of mine) [st] = streamer.step([{ state: st, item: streamer.itemIndex(e.item) as number }])
    const res = await a.app.inject({ method: 'GET', url: `/v1/recommend/u${u}?k=5`, headers: auth })
    t.equal(res.statusCode, 200)
    const [want] = await streamer.recommend([st as UserState], 5)
    t.same(res.json().items, want.items, `u${u}: recommendations equal the sequential replay's`)
    t.equal(res.json().events, 30)
    const seen = new Set(mine.map((e) => e.item))
    t.ok(
      res.json().items.every((x: string) => !seen.has(x)),
      `u${u}: no seen item recommended`,
    )
  }
  errorOf(
    t,
    await a.app.inject({ method: 'GET', url: '/v1/recommend/nobody', headers: auth }),
    404,
    ErrorCodes.UNKNOWN_USER,
    'unknown user',
  )
  errorOf(
    t,
    await a.app.inject({ method: 'GET', url: '/v1/recommend/u1?k=5000', headers: auth }),
    400,
    ErrorCodes.INVALID_K,
    'huge k',
  )
  errorOf(
    t,
    await a.app.inject({ method: 'POST', url: '/v1/events', headers: auth, payload: { user: 'u1', item: 'nope' } }),
    400,
    ErrorCodes.INVALID_ARGUMENT,
    'unknown item',
  )
  errorOf(
    t,
    await a.app.inject({ method: 'POST', url: '/v1/events', headers: auth, payload: { user: '', item: 'item1' } }),
    400,
    ErrorCodes.INVALID_ARGUMENT,
    'empty user',
  )
  errorOf(
    t,
    await a.app.inject({ method: 'POST', url: '/v1/events', headers: auth, payload: { item: 'item1' } }),
    400,
    ErrorCodes.INVALID_ARGUMENT,
    'no user',
  )
  t.equal(hiertcnSpec.items, itemIds.length)
})

/** A store view over `inner` (another "replica"'s client of the same store). */
function wrap(inner: StateStore): StateStore {
  return {
    kind: inner.kind,
    get: (u) => inner.get(u),
    compareAndSet: (u, v, b, ttl) => inner.compareAndSet(u, v, b, ttl),
    ready: () => inner.ready(),
    close: () => inner.close(),
  }
}

t.test('a state store that is down: 503 with a code, unready, no crash, then recovery', async (t) => {
  const inner = new MemoryStateStore()
  let down = false
  const fail = () => new SimsageError(ErrorCodes.UNAVAILABLE, 'store down')
  const store: StateStore = {
    kind: 'flaky',
    get: async (u) => {
      if (down) throw fail()
      return inner.get(u)
    },
    compareAndSet: async (u, v, b, ttl) => {
      if (down) throw fail()
      return inner.compareAndSet(u, v, b, ttl)
    },
    ready: () => !down,
    close: async () => {},
  }
  const s = await server({ store })
  t.teardown(() => s.close())
  const ev = () =>
    s.app.inject({ method: 'POST', url: '/v1/events', headers: auth, payload: { user: 'x', item: 'item3' } })
  t.equal((await ev()).statusCode, 200)
  down = true
  errorOf(t, await ev(), 503, ErrorCodes.UNAVAILABLE, 'event while down')
  errorOf(
    t,
    await s.app.inject({ method: 'GET', url: '/v1/recommend/x', headers: auth }),
    503,
    ErrorCodes.UNAVAILABLE,
    'recommend while down',
  )
  errorOf(t, await s.app.inject({ method: 'GET', url: '/readyz' }), 503, ErrorCodes.UNAVAILABLE, 'readyz while down')
  t.equal((await s.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200, 'still alive')
  t.match((await s.app.inject({ method: 'GET', url: '/metrics' })).body, /simsage_state_store_errors_total 2/)
  down = false
  t.equal((await ev()).statusCode, 200, 'recovered')
  t.equal((await s.app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200)
  t.equal((await s.app.inject({ method: 'GET', url: '/v1/recommend/x', headers: auth })).json().events, 2)
})

t.test('hot swap: reload, a corrupt file keeps the old index, auth', async (t) => {
  const first = join(dir, 'first.simsage')
  const second = join(dir, 'second.simsage')
  const a = makeIndex(60, 1)
  await a.save(first)
  a.dispose()
  const b = makeIndex(80, 5)
  await b.save(second)
  b.dispose()
  const s = await server({ index: first })
  t.teardown(() => s.close())
  const v = Array(DIM).fill(0.25)
  const search = () =>
    s.app.inject({ method: 'POST', url: '/v1/search', headers: auth, payload: { vectors: [v], k: 3 } })
  errorOf(
    t,
    await s.app.inject({ method: 'POST', url: '/admin/reload', payload: { path: second } }),
    401,
    ErrorCodes.UNAUTHORIZED,
    'reload without a token',
  )
  // Searches in flight during the swap all succeed.
  const during = Array.from({ length: 20 }, () => search())
  const res = await s.app.inject({ method: 'POST', url: '/admin/reload', headers: auth, payload: { path: second } })
  t.equal(res.statusCode, 200)
  t.match(res.json(), { version: 2, size: 80 })
  for (const r of await Promise.all(during)) t.equal(r.statusCode, 200, 'a search during the swap')
  const after = await search()
  t.equal(after.headers['x-simsage-index-version'], '2')
  t.equal(after.json().version, 2)
  // A damaged file: 422, the old index keeps serving.
  const bad = join(dir, 'bad.simsage')
  const bytes = (await import('node:fs')).readFileSync(second)
  bytes[bytes.length - 40] ^= 0xff
  writeFileSync(bad, bytes)
  errorOf(
    t,
    await s.app.inject({ method: 'POST', url: '/admin/reload', headers: auth, payload: { path: bad } }),
    422,
    ErrorCodes.CORRUPT_FILE,
    'corrupt index',
  )
  errorOf(
    t,
    await s.app.inject({ method: 'POST', url: '/admin/reload', headers: auth, payload: { path: join(dir, 'none') } }),
    404,
    ErrorCodes.NOT_FOUND,
    'missing index',
  )
  const still = await search()
  t.equal(still.statusCode, 200)
  t.equal(still.headers['x-simsage-index-version'], '2', 'the old index still serves')
  // Reload with no body: the current file again.
  const again = await s.app.inject({ method: 'POST', url: '/admin/reload', headers: auth })
  t.match(again.json(), { version: 3, size: 80 })
  const m = (await s.app.inject({ method: 'GET', url: '/metrics' })).body
  t.match(m, /simsage_index_version 3/)
  t.match(m, /simsage_index_reloads_total\{result="failed"\} 2/)
})

t.test('updateWithRetries: racing writers never lose an update', async (t) => {
  const store = new MemoryStateStore()
  const bump = () =>
    updateWithRetries(
      store,
      'u',
      async (cur) => {
        await new Promise((r) => setImmediate(r))
        const n = cur ? cur[0] : 0
        return { blob: Uint8Array.of(n + 1), value: n + 1 }
      },
      { ttlSeconds: 0, attempts: 1000 },
    )
  const results = await Promise.all(Array.from({ length: 50 }, bump))
  t.same(
    results.map((r) => r.value).sort((x, y) => x - y),
    Array.from({ length: 50 }, (_, i) => i + 1),
  )
  t.equal((await store.get('u'))?.version, 50)
  t.equal(await store.compareAndSet('u', 3, Uint8Array.of(0), 0), false, 'a stale version is refused')
})

t.test('file watch: saving a new index over the served file swaps it in', async (t) => {
  const wdir = mkdtempSync(join(tmpdir(), 'simsage-serve-watch-'))
  const path = join(wdir, 'index.simsage')
  const a = makeIndex(60, 1)
  await a.save(path)
  a.dispose()
  const s = await server({ index: path, watch: true })
  t.teardown(() => s.close())
  const b = makeIndex(70, 2)
  await b.save(path)
  b.dispose()
  const end = Date.now() + 10_000
  while (s.holder.current.version === 1 && Date.now() < end) await new Promise((r) => setTimeout(r, 50))
  t.equal(s.holder.current.version, 2, 'reloaded')
  t.equal(s.holder.current.index.size, 70)
  // A damaged write: the watch's reload fails and the served index stays.
  writeFileSync(path, Buffer.from('not an index'))
  const until = Date.now() + 10_000
  let failed = false
  while (!failed && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 50))
    failed = /simsage_index_reloads_total\{result="failed"\} [1-9]/.test(await s.metrics.registry.metrics())
  }
  t.ok(failed, 'the failed reload is counted')
  t.equal(s.holder.current.version, 2, 'the old index keeps serving')
})
