// search() runs off the event loop: timers keep firing during a search over 1,000,000 vectors, while
// searchSync() (the contrast that shows the test can tell) blocks them. So do addAsync() of
// 1,000,000 vectors and EmbeddingIndex.load() of a file that size, against the sync add(). Disposing
// or mutating an index while a search is in flight is safe.
import { join } from 'node:path'

import t from 'tap'

import { EmbeddingIndex, ErrorCodes, type SearchResults } from '../../lib/index.js'
import { mulberry32, randomMatrix } from '../fixtures/random.js'
import { sameResults } from '../fixtures/reference.js'

const N = 1_000_000
const DIM = 32
const INTERVAL_MS = 5
// The async search must take this long, or the tick count would prove nothing.
const MIN_SEARCH_MS = 100

function bigIndex(): EmbeddingIndex {
  const index = new EmbeddingIndex({ dim: DIM })
  const rng = mulberry32(2026)
  const chunk = 250_000
  for (let start = 0; start < N; start += chunk) {
    const ids = Float64Array.from({ length: chunk }, (_, i) => start + i)
    index.add(ids, randomMatrix(rng, chunk, DIM))
  }
  return index
}

/** Runs fn while a setInterval(INTERVAL_MS) counts ticks; returns fn's result, ticks and duration. */
async function withTicker<T>(fn: () => Promise<T> | T): Promise<{ value: T; ticks: number; ms: number }> {
  let ticks = 0
  const timer = setInterval(() => ticks++, INTERVAL_MS)
  // Let the interval arm before starting, so a sync call's ticks are not lost to timer start-up.
  await new Promise((r) => setTimeout(r, 1))
  ticks = 0
  const t0 = performance.now()
  try {
    const value = await fn()
    const ms = performance.now() - t0
    return { value, ticks, ms }
  } finally {
    clearInterval(timer)
  }
}

t.test('the event loop stays responsive during an async search over 1M vectors', async (t) => {
  const index = bigIndex()
  t.equal(index.size, N, 'the index holds 1,000,000 vectors')
  const rng = mulberry32(7)

  // Grow Q until one async search clearly outlasts the timer interval.
  let q = 64
  let run = await withTicker(() => index.search(randomMatrix(rng, q, DIM), 10))
  while (run.ms < MIN_SEARCH_MS && q < 16384) {
    q *= 2
    run = await withTicker(() => index.search(randomMatrix(rng, q, DIM), 10))
  }
  t.ok(run.ms >= MIN_SEARCH_MS, `the search took ${run.ms.toFixed(0)} ms with ${q} queries (>= ${MIN_SEARCH_MS} ms)`)
  t.equal(run.value.length, q, 'and returned every query')
  t.ok(run.ticks >= 3, `a ${INTERVAL_MS} ms timer fired ${run.ticks} times while the search was pending`)

  // Contrast: the same work on the calling thread lets no timer run. The first async search above
  // ran cold (page faults, pool start-up), so the warm sync call may need more queries to last.
  let sq = q
  let queries = randomMatrix(rng, sq, DIM)
  let sync = await withTicker(() => index.searchSync(queries, 10))
  while (sync.ms < INTERVAL_MS * 3 && sq < 65536) {
    sq *= 2
    queries = randomMatrix(rng, sq, DIM)
    sync = await withTicker(() => index.searchSync(queries, 10))
  }
  t.ok(
    sync.ms >= INTERVAL_MS * 3,
    `searchSync took ${sync.ms.toFixed(0)} ms with ${sq} queries, long enough for 3 ticks`,
  )
  t.equal(sync.ticks, 0, 'no timer fired during searchSync (it blocks the loop)')

  // And both give the same answer.
  const asyncAgain = await index.search(queries, 10)
  t.ok(sameResults(asyncAgain, sync.value), 'search and searchSync agree on 1M vectors')
  index.dispose()
})

t.test('dispose() during an in-flight search', async (t) => {
  const index = bigIndex()
  // 256 queries take ~100 ms here; dispose 10 ms in, while the native search is running.
  const queries = randomMatrix(mulberry32(8), 256, DIM)
  const expected = index.searchSync(queries, 10)
  const pending = index.search(queries, 10)
  let settled = false
  void pending.then(
    () => (settled = true),
    () => (settled = true),
  )
  await new Promise((r) => setTimeout(r, 10))
  t.notOk(settled, 'the search was still pending when dispose() ran')
  index.dispose()
  t.ok(index.disposed)
  const res = await pending
  t.ok(sameResults(res, expected), 'the search still resolves with the right results')
  t.throws(() => index.size, { code: ErrorCodes.DISPOSED }, 'further use errors')
  await t.rejects(index.search(queries, 10), { code: ErrorCodes.DISPOSED }, 'a new search rejects')
})

t.test('a mutation during an in-flight search: the search sees one whole state', async (t) => {
  const dim = 16
  const n = 200_000
  const index = new EmbeddingIndex({ dim })
  const rng = mulberry32(9)
  index.add(
    Float64Array.from({ length: n }, (_, i) => i),
    randomMatrix(rng, n, dim),
  )
  const queries = randomMatrix(rng, 32, dim)
  const before = index.searchSync(queries, 10)
  // Remove every id the searches found, so before and after differ in every row.
  const found = [...new Set(before.ids)]
  const pending = index.search(queries, 10)
  const removed = index.remove(found)
  t.equal(removed, found.length, 'remove ran while the search was in flight')
  const after = index.searchSync(queries, 10)
  const res: SearchResults = await pending
  t.ok(
    sameResults(res, before) || sameResults(res, after),
    'the in-flight search matches the state before or after the remove',
  )
  t.notOk(sameResults(before, after), 'the two states really differ')
  index.dispose()
})

t.test('the event loop stays responsive during addAsync and load of 1M vectors; add blocks it', async (t) => {
  const dim = 16
  const rng = mulberry32(2027)
  const ids = Float64Array.from({ length: N }, (_, i) => i)
  const vectors = randomMatrix(rng, N, dim)

  // Contrast first: the sync add of the same batch lets no timer run.
  const syncIndex = new EmbeddingIndex({ dim, metric: 'cosine' })
  const sync = await withTicker(() => syncIndex.add(ids, vectors))
  t.ok(sync.ms >= INTERVAL_MS * 3, `add() took ${sync.ms.toFixed(0)} ms, long enough for 3 ticks`)
  t.equal(sync.ticks, 0, 'no timer fired during add() (it blocks the loop)')

  const asyncIndex = new EmbeddingIndex({ dim, metric: 'cosine' })
  const run = await withTicker(() => asyncIndex.addAsync(ids, vectors))
  t.equal(asyncIndex.size, N, 'addAsync stored 1,000,000 vectors')
  // A ticker that fires freely fires ~ms / 5 times; ask for a quarter of that (and at least 3), so a
  // loaded machine does not make the test flaky but a blocked loop (0 ticks) fails it.
  const want = Math.max(3, Math.floor(run.ms / INTERVAL_MS / 4))
  t.ok(
    run.ticks >= want,
    `a ${INTERVAL_MS} ms timer fired ${run.ticks} times during the ${run.ms.toFixed(0)} ms addAsync (>= ${want})`,
  )
  const queries = randomMatrix(rng, 16, dim)
  t.ok(
    sameResults(asyncIndex.searchSync(queries, 10), syncIndex.searchSync(queries, 10)),
    'add and addAsync built the same index',
  )

  const path = join(t.testdir(), 'big.ssg')
  await asyncIndex.save(path)
  const load = await withTicker(() => EmbeddingIndex.load(path))
  const loaded = load.value
  t.equal(loaded.size, N, 'load restored 1,000,000 vectors')
  const wantLoad = Math.max(3, Math.floor(load.ms / INTERVAL_MS / 4))
  t.ok(
    load.ticks >= wantLoad,
    `the timer fired ${load.ticks} times during the ${load.ms.toFixed(0)} ms load (>= ${wantLoad})`,
  )
  t.ok(
    sameResults(loaded.searchSync(queries, 10), syncIndex.searchSync(queries, 10)),
    'the loaded index answers the same',
  )
  for (const index of [syncIndex, asyncIndex, loaded]) index.dispose()
})
