// EmbeddingIndex.addAsync: same validation, error codes and all-or-nothing semantics as add(), and
// the same index afterwards.
import t from 'tap'

import { EmbeddingIndex, ErrorCodes, SimsageError } from '../lib/index.js'
import { mulberry32, randomMatrix } from './fixtures/random.js'
import { sameResults } from './fixtures/reference.js'

const dim = 8

t.test('addAsync builds the same index as add', async (t) => {
  for (const metric of ['ip', 'cosine', 'l2'] as const) {
    const rng = mulberry32(3)
    const vectors = randomMatrix(rng, 500, dim)
    const ids = Array.from({ length: 500 }, (_, i) => 1000 + i * 3)
    const a = new EmbeddingIndex({ dim, metric })
    const b = new EmbeddingIndex({ dim, metric })
    a.add(ids, vectors)
    await b.addAsync(BigInt64Array.from(ids, BigInt), vectors)
    const q = randomMatrix(rng, 5, dim)
    t.equal(b.size, 500, `${metric}: size`)
    t.ok(sameResults(a.searchSync(q, 7), b.searchSync(q, 7)), `${metric}: same results`)
    a.dispose()
    b.dispose()
  }
})

t.test('addAsync rejects what add throws on, with the same code, and changes nothing', async (t) => {
  const index = new EmbeddingIndex({ dim })
  await index.addAsync([1, 2], randomMatrix(mulberry32(4), 2, dim))
  const nan = new Float32Array(2 * dim)
  nan[dim + 3] = NaN
  const cases: [string, unknown, unknown, string][] = [
    ['a negative id', [5, -1], new Float32Array(2 * dim), ErrorCodes.INVALID_ID],
    ['a fractional id', [5, 1.5], new Float32Array(2 * dim), ErrorCodes.INVALID_ID],
    ['NaN in the vectors', [5, 6], nan, ErrorCodes.NON_FINITE],
    ['too few rows', [5, 6], new Float32Array(dim), ErrorCodes.DIM_MISMATCH],
    ['a length not a multiple of dim', [5], new Float32Array(dim + 1), ErrorCodes.DIM_MISMATCH],
    ['a Float64Array', [5], new Float64Array(dim), ErrorCodes.INVALID_TYPE],
    ['ids that are not an array', 5, new Float32Array(dim), ErrorCodes.INVALID_TYPE],
  ]
  for (const [what, ids, vectors, code] of cases) {
    let syncCode: string | undefined
    try {
      index.add(ids as number[], vectors as Float32Array)
    } catch (e) {
      syncCode = (e as SimsageError).code
    }
    t.equal(syncCode, code, `add: ${what} -> ${code}`)
    await t.rejects(
      index.addAsync(ids as number[], vectors as Float32Array),
      { code, constructor: SimsageError },
      `addAsync: ${what} -> ${code}`,
    )
    t.equal(index.size, 2, `${what}: nothing was added`)
    t.notOk(index.has(5), `${what}: id 5 absent`)
  }
  index.dispose()
  await t.rejects(index.addAsync([1], new Float32Array(dim)), { code: ErrorCodes.DISPOSED }, 'a disposed index rejects')
})

t.test('addAsync and searches: each search sees the index before or after the whole batch', async (t) => {
  const rng = mulberry32(6)
  const index = new EmbeddingIndex({ dim })
  index.add([0], randomMatrix(rng, 1, dim))
  const n = 100_000
  const q = randomMatrix(rng, 4, dim)
  const pending = index.addAsync(
    Float64Array.from({ length: n }, (_, i) => i + 1),
    randomMatrix(rng, n, dim),
  )
  const during = await index.search(q, 5)
  await pending
  t.ok(
    [1, Math.min(5, n + 1)].includes(during.counts[0]),
    `a search during the add saw ${during.counts[0]} candidates (1 before, 5 after)`,
  )
  t.equal(index.size, n + 1, 'all added')
  index.dispose()
})
