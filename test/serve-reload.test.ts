// Index hot swap through the server: POST /admin/reload (auth, searches in flight during the swap,
// a corrupt or missing file keeps the old index, versions in headers and metrics) and --watch.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import t from 'tap'

import { ErrorCodes } from '../lib/errors.js'
import { auth, DIM, errorOf, makeIndex, server } from './fixtures/serve.js'

const dir = mkdtempSync(join(tmpdir(), 'simsage-serve-reload-'))

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
  const bytes = readFileSync(second)
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
