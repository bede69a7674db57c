// An index whose file is larger than 2 GiB (Node's limit for one fs write, and readFile's limit)
// saves and loads: 4,190,000 vectors of dim 128, a 2.03 GiB file. The vectors are a constant per
// block of rows (Float32Array.fill, no per-element loop), so the check after loading is exact.
// Memory: the index (2.0 GiB) plus one copy while saving; the file is deleted at the end.
// Skipped when SIMSAGE_SKIP_LARGE=1 (e.g. a machine without ~6 GiB to spare).
import { rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import t from 'tap'

import { EmbeddingIndex } from '../../lib/index.js'

const DIM = 128
const N = 4_190_000
const BLOCK = 1 << 16
/** Value of every coordinate of the rows of block b: 1..7, largest first at block 6. */
const blockValue = (b: number) => (b % 7) + 1

t.test(
  'save and load an index whose file exceeds 2 GiB',
  { skip: process.env.SIMSAGE_SKIP_LARGE === '1' },
  async (t) => {
    const dir = join(tmpdir(), `simsage-2gib-${process.pid}`)
    const path = join(dir, 'big.ssg')
    t.teardown(() => rmSync(dir, { recursive: true, force: true }))
    const { mkdirSync } = await import('node:fs')
    mkdirSync(dir, { recursive: true })

    let peak = process.memoryUsage().rss
    const sample = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss)
    }, 50)
    t.teardown(() => clearInterval(sample))
    const t0 = performance.now()

    const index = new EmbeddingIndex({ dim: DIM, metric: 'ip', metadata: { test: '2gib' } })
    {
      // One add of all rows (the store then allocates exactly N rows, no growth copies).
      const vectors = new Float32Array(N * DIM)
      const ids = new Float64Array(N)
      for (let b = 0; b * BLOCK < N; b++) {
        const lo = b * BLOCK
        const hi = Math.min(N, lo + BLOCK)
        vectors.fill(blockValue(b), lo * DIM, hi * DIM)
      }
      for (let i = 0; i < N; i++) ids[i] = i * 3 + 1
      await index.addAsync(ids, vectors)
    }
    t.equal(index.size, N)
    const tBuilt = performance.now()

    await index.save(path)
    const tSaved = performance.now()
    const bytes = statSync(path).size
    t.ok(bytes > 2 ** 31, `the file is ${(bytes / 2 ** 30).toFixed(3)} GiB`)
    index.dispose()

    const loaded = await EmbeddingIndex.load(path)
    const tLoaded = performance.now()
    t.equal(loaded.size, N, 'every row is back')
    t.same(loaded.metadata, { test: '2gib' }, 'metadata is back')
    t.ok(loaded.has(1) && loaded.has((N - 1) * 3 + 1) && !loaded.has(0), 'ids are back')
    const q = new Float32Array(DIM)
    q[0] = 1
    const res = await loaded.search(q, 2)
    t.same(Array.from(res.get(0).ids), [6 * BLOCK * 3 + 1, (6 * BLOCK + 1) * 3 + 1], 'the best rows are block 6')
    t.same(Array.from(res.get(0).scores), [7, 7], 'with their stored values')
    loaded.dispose()
    rmSync(path)
    clearInterval(sample)
    const s = (a: number, b: number) => ((b - a) / 1000).toFixed(1)
    t.comment(
      `build ${s(t0, tBuilt)} s, save ${s(tBuilt, tSaved)} s, load ${s(tSaved, tLoaded)} s; ` +
        `peak RSS ${(peak / 2 ** 30).toFixed(2)} GiB`,
    )
  },
)
