// Two `simsage serve` processes sharing one Redis (started here, persistence off): 1,000
// interleaved events for the same users → every event applied exactly once and the final states
// equal a sequential replay; Redis stopped mid-run → 503 + unready, nothing crashes, recovery when
// it returns; a hot swap under concurrent search load with zero failed requests; a corrupt index
// during hot swap keeps the old one; SIGTERM drains in-flight requests and exits 0.
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import t from 'tap'

import { HierTCNStreamer } from '../../lib/serve/hiertcn-stream.js'
import { RedisStateStore } from '../../lib/serve/redis-store.js'
import type { UserState } from '../../lib/serve/user-state.js'
import { loadHierTCN } from '../../lib/train/hiertcn-checkpoint.js'
import { root } from '../fixtures/cli.js'
import { startRedis } from '../fixtures/redis.js'
import { DIM, itemIds, makeIndex, writeArtifacts } from '../fixtures/serve.js'

const TOKEN = 'redis-test-token'
const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }
const dir = mkdtempSync(join(tmpdir(), 'simsage-serve-redis-'))

interface Proc {
  child: ChildProcess
  url: string
  exited: Promise<number | null>
}

async function startServer(args: string[]): Promise<Proc> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(root, 'bin', 'simsage.ts'), 'serve', '--port', '0', '--token', TOKEN, ...args],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  let out = ''
  let err = ''
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString()
  })
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out} ${err}`)), 60_000)
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /on (http:\/\/\S+)/.exec(out)
      if (m) {
        clearTimeout(timer)
        resolve(m[1])
      }
    })
    void exited.then((code) => reject(new Error(`server exited with ${code}: ${out} ${err}`)))
  })
  return { child, url, exited }
}

/** The JSON answers the test reads (any route's). */
interface Answer {
  events: number
  items: string[]
  error: { code: string }
  index: { version: number; size: number }
}

async function post(url: string, body: unknown): Promise<{ status: number; json: Answer; version: string | null }> {
  const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body) })
  return { status: res.status, json: await res.json(), version: res.headers.get('x-simsage-index-version') }
}

async function get(url: string): Promise<{ status: number; json: Answer }> {
  const res = await fetch(url, { headers })
  return { status: res.status, json: await res.json() }
}

/** Polls `fn` every 100 ms until it returns true or `ms` pass. */
async function until(fn: () => Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (await fn()) return true
    await new Promise((r) => setTimeout(r, 100))
  }
  return false
}

t.test('two servers, one Redis', async (t) => {
  const files = await writeArtifacts(dir)
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const a = await startServer(['--index', files.index, '--model', files.model, '--redis', redis.url])
  const b = await startServer(['--index', files.index, '--model', files.model, '--redis', redis.url])
  t.teardown(() => {
    a.child.kill('SIGKILL')
    b.child.kill('SIGKILL')
  })

  await t.test('1,000 interleaved events: each applied once, final states = sequential replay', async (t) => {
    const users = 8
    const sent: { user: string; item: string; seq: number }[] = []
    let next = 0
    const failures: string[] = []
    // 32 requests in flight, alternating servers; user i % 8.
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        for (let i = next++; i < 1000; i = next++) {
          const user = `user${i % users}`
          const item = itemIds[(i * 13 + (i >> 3)) % itemIds.length]
          const r = await post(`${(i % 2 ? a : b).url}/v1/events`, { user, item })
          if (r.status !== 200) failures.push(`${r.status} ${JSON.stringify(r.json)}`)
          else sent.push({ user, item, seq: r.json.events })
        }
      }),
    )
    t.same(failures, [], 'no event failed')
    const { model, items } = await loadHierTCN(join(files.model, 'hiertcn.safetensors'))
    using streamer = new HierTCNStreamer(model, items, { slots: 1 })
    const store = new RedisStateStore(redis.url)
    await store.connect()
    t.teardown(() => store.close())
    for (let u = 0; u < users; u++) {
      const mine = sent.filter((e) => e.user === `user${u}`).sort((x, y) => x.seq - y.seq)
      t.same(
        mine.map((e) => e.seq),
        Array.from({ length: 125 }, (_, i) => i + 1),
        `user${u}: sequence numbers 1..125, none lost or repeated`,
      )
      let st: UserState | undefined
      for (const e of mine) [st] = streamer.step([{ state: st, item: streamer.itemIndex(e.item) as number }])
      const stored = await store.get(`user${u}`)
      t.equal(stored?.version, 125, `user${u}: 125 versions written`)
      const got = streamer.decode(stored?.blob as Uint8Array)
      const want = st as UserState
      t.equal(got.events, 125)
      t.same(Array.from(got.seen), Array.from(want.seen), `user${u}: seen items`)
      t.equal(got.sessionLength, want.sessionLength)
      const diff = Math.max(...Array.from(got.p, (x, i) => Math.abs(x - want.p[i])))
      t.ok(diff < 1e-5, `user${u}: prediction equals the replay's (max diff ${diff})`)
      const rec = await get(`${a.url}/v1/recommend/user${u}?k=5`)
      const [w] = await streamer.recommend([want], 5)
      t.same(rec.json.items, w.items, `user${u}: recommendations equal the replay's`)
    }
  })

  await t.test('RedisStateStore: compare-and-set, versions, TTL per user', async (t) => {
    const store = new RedisStateStore(redis.url, { prefix: 'ttl-test:' })
    await store.connect()
    t.teardown(() => store.close())
    t.equal(await store.compareAndSet('u', 0, Uint8Array.of(1, 2), 1), true)
    t.equal(await store.compareAndSet('u', 0, Uint8Array.of(3), 1), false, 'a stale version is refused')
    t.same(await store.get('u'), { blob: Uint8Array.of(1, 2), version: 1 })
    t.equal(await store.compareAndSet('forever', 0, Uint8Array.of(9), 0), true)
    await new Promise((r) => setTimeout(r, 2100))
    t.equal(await store.get('u'), undefined, 'expired after its TTL')
    t.equal((await store.get('forever'))?.version, 1, 'no TTL: kept')
  })

  await t.test('Redis stops mid-run: 503 + unready, then recovery', async (t) => {
    const load = Array.from({ length: 20 }, (_, i) => post(`${a.url}/v1/events`, { user: `x${i}`, item: itemIds[i] }))
    await redis.stop()
    const statuses = (await Promise.all(load)).map((r) => r.status)
    t.ok(
      statuses.every((s) => s === 200 || s === 503),
      `events around the stop answered 200 or 503: ${statuses.join(',')}`,
    )
    t.ok(await until(async () => (await get(`${a.url}/readyz`)).status === 503, 5000), 'readyz turns unready')
    const r = await post(`${b.url}/v1/events`, { user: 'user1', item: itemIds[0] })
    t.equal(r.status, 503)
    t.equal(r.json.error.code, 'ERR_SIMSAGE_UNAVAILABLE')
    const rec = await get(`${a.url}/v1/recommend/user1`)
    t.equal(rec.status, 503)
    t.equal(rec.json.error.code, 'ERR_SIMSAGE_UNAVAILABLE')
    t.equal((await get(`${a.url}/healthz`)).status, 200, 'alive')
    const s = await post(`${a.url}/v1/search`, { vectors: [Array(DIM).fill(0.1)], k: 3 })
    t.equal(s.status, 200, 'search does not need Redis')
    const metrics = await (await fetch(`${a.url}/metrics`)).text()
    t.match(metrics, /simsage_state_store_errors_total [1-9]/, 'store errors counted')
    await redis.start()
    for (const p of [a, b])
      t.ok(await until(async () => (await get(`${p.url}/readyz`)).status === 200, 10_000), 'ready again')
    const ok = await post(`${b.url}/v1/events`, { user: 'user1', item: itemIds[0] })
    t.equal(ok.status, 200, 'events work again')
    t.equal(ok.json.events, 1, 'a fresh state (persistence was off)')
    t.equal(a.child.exitCode, null, 'server a still running')
    t.equal(b.child.exitCode, null, 'server b still running')
  })

  await t.test(
    'hot swap under concurrent load: zero failed requests; a corrupt file keeps the old index',
    async (t) => {
      const second = join(dir, 'second.simsage')
      const ix = makeIndex(500, 9)
      await ix.save(second)
      ix.dispose()
      const bad = join(dir, 'bad.simsage')
      const bytes = readFileSync(second)
      bytes[bytes.length - 100] ^= 0x55
      writeFileSync(bad, bytes)
      let stop = false
      const statuses = new Map<number, number>()
      const versions = new Set<string | null>()
      const workers = Array.from({ length: 16 }, async (_, w) => {
        while (!stop) {
          const r = await post(`${a.url}/v1/search`, { vectors: [Array(DIM).fill((w % 7) - 3)], k: 10 })
          statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1)
          versions.add(r.version)
        }
      })
      const reloads: number[] = []
      for (const path of [second, bad, files.index, bad, second]) {
        await new Promise((r) => setTimeout(r, 150))
        reloads.push((await post(`${a.url}/admin/reload`, { path })).status)
      }
      await new Promise((r) => setTimeout(r, 150))
      stop = true
      await Promise.all(workers)
      t.same(reloads, [200, 422, 200, 422, 200], 'good files swap in, corrupt ones answer 422')
      t.same([...statuses.keys()], [200], `every search succeeded (${statuses.get(200)} of them)`)
      t.ok(versions.size >= 3, `answers came from several index versions: ${[...versions].join(',')}`)
      const ready = await get(`${a.url}/readyz`)
      t.match(ready.json, { index: { version: 4, size: 500 } })
    },
  )

  await t.test('SIGTERM drains in-flight requests and exits 0', async (t) => {
    const inflight = Array.from({ length: 30 }, (_, i) =>
      post(`${b.url}/v1/search`, { vectors: Array(8).fill(Array(DIM).fill(i / 30)), k: 5 }).then(
        (r) => r.status,
        () => -1,
      ),
    )
    await new Promise((r) => setTimeout(r, 5))
    b.child.kill('SIGTERM')
    const done = await Promise.all(inflight)
    t.equal(await b.exited, 0, 'exit code 0')
    t.ok(done.filter((s) => s === 200).length > 0, `requests sent before SIGTERM completed: ${done.join(',')}`)
    t.ok(
      done.every((s) => s === 200 || s === 503 || s === -1),
      'no request failed otherwise (one arriving after the close began: 503 or refused at connect)',
    )
    a.child.kill('SIGTERM')
    t.equal(await a.exited, 0)
  })
})
