// User state through the server (fastify.inject): events from two "replicas" over one store equal a
// sequential replay, recommendations exclude seen items, unknown users and items, a store that is
// down (503, unready, recovery), and updateWithRetries under racing writers.
import t from 'tap'

import { ErrorCodes, SimsageError } from '../lib/errors.js'
import { HierTCNStreamer } from '../lib/serve/hiertcn-stream.js'
import { MemoryStateStore, type StateStore, updateWithRetries } from '../lib/serve/state-store.js'
import type { UserState } from '../lib/serve/user-state.js'
import { auth, errorOf, hiertcnSpec, itemIds, makeHierTCN, server } from './fixtures/serve.js'

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
  t.ok(await store.compareAndSet('brief', 0, Uint8Array.of(1), 1), 'a state with a 1 s TTL')
  await new Promise((r) => setTimeout(r, 1100))
  t.equal(await store.get('brief'), undefined, 'expired')
  t.equal((await store.get('u'))?.version, 50, 'no TTL: kept')
})

t.test('a damaged state fails only its own user, even when batched with others', async (t) => {
  const store = new MemoryStateStore()
  const s = await server({ store })
  t.teardown(() => s.close())
  const ev = (user: string) =>
    s.app.inject({ method: 'POST', url: '/v1/events', headers: auth, payload: { user, item: 'item2' } })
  for (const u of ['a', 'b', 'c']) t.equal((await ev(u)).statusCode, 200)
  // Damage b's TCN state inside an otherwise well-formed blob (its CRC catches it at restore).
  const cur = await store.get('b')
  if (!cur) throw new Error('no state for b')
  const bad = cur.blob.slice()
  bad[bad.length - 6] ^= 0xff
  t.ok(await store.compareAndSet('b', cur.version, bad, 0))
  const [a, b, c] = await Promise.all(['a', 'b', 'c'].map(ev))
  t.equal(a.statusCode, 200, 'a')
  t.equal(c.statusCode, 200, 'c')
  errorOf(t, b, 422, ErrorCodes.CORRUPT_FILE, 'the damaged user')
  t.equal((await ev('a')).json().events, 3)
})
