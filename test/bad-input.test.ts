// Bad arguments fail with a SimsageError carrying the right stable code, before any native work,
// and a failing add() changes nothing.
import t from 'tap'

import { EmbeddingIndex, ErrorCodes, setSimd, setThreads, topk, topkAsync, type TopkOptions } from '../lib/index.js'
import { rejectsCode, throwsCode } from './fixtures/assert.js'
import { mulberry32, randomMatrix } from './fixtures/random.js'
import { sameResults } from './fixtures/reference.js'

const dim = 4
const rng = mulberry32(17)
const corpus = randomMatrix(rng, 20, dim)
const query = randomMatrix(rng, 2, dim)

const topkCases: [string, () => [Float32Array, Float32Array, TopkOptions], string][] = [
  [
    'Float64Array queries',
    () => [new Float64Array(dim) as unknown as Float32Array, corpus, { dim, k: 1 }],
    ErrorCodes.INVALID_TYPE,
  ],
  [
    'Float64Array corpus',
    () => [query, new Float64Array(20 * dim) as unknown as Float32Array, { dim, k: 1 }],
    ErrorCodes.INVALID_TYPE,
  ],
  [
    'plain array queries',
    () => [[1, 2, 3, 4] as unknown as Float32Array, corpus, { dim, k: 1 }],
    ErrorCodes.INVALID_TYPE,
  ],
  [
    'queries length not a multiple of dim',
    () => [new Float32Array(dim + 1), corpus, { dim, k: 1 }],
    ErrorCodes.DIM_MISMATCH,
  ],
  ['corpus length not a multiple of dim', () => [query, corpus.subarray(1), { dim, k: 1 }], ErrorCodes.DIM_MISMATCH],
  ['dim 0', () => [query, corpus, { dim: 0, k: 1 }], ErrorCodes.DIM_MISMATCH],
  ['dim 2.5', () => [query, corpus, { dim: 2.5, k: 1 }], ErrorCodes.DIM_MISMATCH],
  ['k 0', () => [query, corpus, { dim, k: 0 }], ErrorCodes.INVALID_K],
  ['k -3', () => [query, corpus, { dim, k: -3 }], ErrorCodes.INVALID_K],
  ['k 1.5', () => [query, corpus, { dim, k: 1.5 }], ErrorCodes.INVALID_K],
  ['k NaN', () => [query, corpus, { dim, k: NaN }], ErrorCodes.INVALID_K],
  ['k Infinity', () => [query, corpus, { dim, k: Infinity }], ErrorCodes.INVALID_K],
  ["k '3'", () => [query, corpus, { dim, k: '3' as unknown as number }], ErrorCodes.INVALID_K],
  ['k missing', () => [query, corpus, { dim } as TopkOptions], ErrorCodes.INVALID_K],
  ["metric 'dot'", () => [query, corpus, { dim, k: 1, metric: 'dot' as 'ip' }], ErrorCodes.UNKNOWN_METRIC],
  ["metric 'IP'", () => [query, corpus, { dim, k: 1, metric: 'IP' as 'ip' }], ErrorCodes.UNKNOWN_METRIC],
  [
    'NaN in queries',
    () => [Float32Array.from([1, 2, 3, 4, 5, NaN, 7, 8]), corpus, { dim, k: 1 }],
    ErrorCodes.NON_FINITE,
  ],
  ['Infinity in queries', () => [Float32Array.from([Infinity, 2, 3, 4]), corpus, { dim, k: 1 }], ErrorCodes.NON_FINITE],
  [
    '-Infinity in queries',
    () => [Float32Array.from([1, 2, 3, -Infinity]), corpus, { dim, k: 1 }],
    ErrorCodes.NON_FINITE,
  ],
  ['unknown option key', () => [query, corpus, { dim, k: 1, alow: [1] } as TopkOptions], ErrorCodes.INVALID_ARGUMENT],
  ['threads 0', () => [query, corpus, { dim, k: 1, threads: 0 }], ErrorCodes.INVALID_ARGUMENT],
  ['threads 1000', () => [query, corpus, { dim, k: 1, threads: 1000 }], ErrorCodes.INVALID_ARGUMENT],
  ['threads 1.5', () => [query, corpus, { dim, k: 1, threads: 1.5 }], ErrorCodes.INVALID_ARGUMENT],
  ['exclude shorter than Q', () => [query, corpus, { dim, k: 1, exclude: [[1]] }], ErrorCodes.DIM_MISMATCH],
  ['exclude longer than Q', () => [query, corpus, { dim, k: 1, exclude: [[1], [2], [3]] }], ErrorCodes.DIM_MISMATCH],
  [
    'exclude not an array',
    () => [query, corpus, { dim, k: 1, exclude: new Set([1]) as never }],
    ErrorCodes.INVALID_ARGUMENT,
  ],
  ['negative id in allow', () => [query, corpus, { dim, k: 1, allow: [1, -1] }], ErrorCodes.INVALID_ID],
  ['fractional id in deny', () => [query, corpus, { dim, k: 1, deny: [0.5] }], ErrorCodes.INVALID_ID],
  ['NaN id in exclude', () => [query, corpus, { dim, k: 1, exclude: [[NaN], []] }], ErrorCodes.INVALID_ID],
  ['2**53 in allow', () => [query, corpus, { dim, k: 1, allow: new Set([2 ** 53]) }], ErrorCodes.INVALID_ID],
  [
    'negative BigInt in allow',
    () => [query, corpus, { dim, k: 1, allow: BigInt64Array.of(-1n) }],
    ErrorCodes.INVALID_ID,
  ],
  ['string id in allow', () => [query, corpus, { dim, k: 1, allow: ['1'] as never }], ErrorCodes.INVALID_ID],
  ['options null', () => [query, corpus, null as unknown as TopkOptions], ErrorCodes.INVALID_ARGUMENT],
]

t.test('topk and topkAsync reject bad arguments with stable codes', async (t) => {
  for (const [what, args, code] of topkCases) {
    throwsCode(t, () => topk(...args()), code, `topk: ${what}`)
    await rejectsCode(t, () => topkAsync(...args()), code, `topkAsync: ${what}`)
  }
})

t.test('non-finite values in a topk corpus are rejected', async (t) => {
  for (const bad of [NaN, Infinity, -Infinity]) {
    const c = corpus.slice()
    c[2 * dim + 1] = bad
    throwsCode(t, () => topk(query, c, { dim, k: 3 }), ErrorCodes.NON_FINITE, `topk: ${bad} in corpus`)
    await rejectsCode(t, () => topkAsync(query, c, { dim, k: 3 }), ErrorCodes.NON_FINITE, `topkAsync: ${bad} in corpus`)
  }
})

t.test('EmbeddingIndex constructor rejects bad options', async (t) => {
  throwsCode(t, () => new EmbeddingIndex({ dim: 0 }), ErrorCodes.DIM_MISMATCH, 'dim 0')
  throwsCode(t, () => new EmbeddingIndex({ dim: 1.5 }), ErrorCodes.DIM_MISMATCH, 'dim 1.5')
  throwsCode(t, () => new EmbeddingIndex({ dim: NaN }), ErrorCodes.DIM_MISMATCH, 'dim NaN')
  throwsCode(t, () => new EmbeddingIndex({} as never), ErrorCodes.DIM_MISMATCH, 'dim missing')
  throwsCode(
    t,
    () => new EmbeddingIndex({ dim, metric: 'euclid' as 'l2' }),
    ErrorCodes.UNKNOWN_METRIC,
    'unknown metric',
  )
  throwsCode(t, () => new EmbeddingIndex({ dim, metadata: [] as never }), ErrorCodes.INVALID_ARGUMENT, 'array metadata')
  const cyclic: Record<string, unknown> = {}
  cyclic.self = cyclic
  throwsCode(t, () => new EmbeddingIndex({ dim, metadata: cyclic }), ErrorCodes.INVALID_ARGUMENT, 'cyclic metadata')
  throwsCode(t, () => new EmbeddingIndex(null as never), ErrorCodes.INVALID_ARGUMENT, 'null options')
})

t.test('a failing add() changes nothing', async (t) => {
  const index = new EmbeddingIndex({ dim, metric: 'l2' })
  index.add([1, 2, 3, 4], corpus.subarray(0, 4 * dim))
  const before = index.searchSync(query, 10)
  const row = (i: number) => corpus.subarray(i * dim, (i + 1) * dim)
  const two = (a: number, b: number) => {
    const v = new Float32Array(2 * dim)
    v.set(row(a), 0)
    v.set(row(b), dim)
    return v
  }
  const withBad = (v: Float32Array, at: number, x: number) => {
    const c = v.slice()
    c[at] = x
    return c
  }
  // Each case re-adds id 1 with another vector alongside the bad part, so a partial apply would show.
  const cases: [string, () => void, string][] = [
    ['Float64Array vectors', () => index.add([1, 5], new Float64Array(2 * dim) as never), ErrorCodes.INVALID_TYPE],
    ['length not a multiple of dim', () => index.add([1, 5], two(5, 6).subarray(1)), ErrorCodes.DIM_MISMATCH],
    ['more ids than rows', () => index.add([1, 5, 6], two(5, 6)), ErrorCodes.DIM_MISMATCH],
    ['fewer ids than rows', () => index.add([1], two(5, 6)), ErrorCodes.DIM_MISMATCH],
    ['NaN in the last row', () => index.add([1, 5], withBad(two(5, 6), 2 * dim - 1, NaN)), ErrorCodes.NON_FINITE],
    ['Infinity in the last row', () => index.add([1, 5], withBad(two(5, 6), dim, Infinity)), ErrorCodes.NON_FINITE],
    ['-Infinity in the first row', () => index.add([5, 1], withBad(two(5, 6), 0, -Infinity)), ErrorCodes.NON_FINITE],
    ['negative id', () => index.add([1, -1], two(5, 6)), ErrorCodes.INVALID_ID],
    ['fractional id', () => index.add([1, 2.5], two(5, 6)), ErrorCodes.INVALID_ID],
    ['unsafe id 2**53', () => index.add([1, 2 ** 53], two(5, 6)), ErrorCodes.INVALID_ID],
    ['NaN id', () => index.add([1, NaN], two(5, 6)), ErrorCodes.INVALID_ID],
    ['Infinity id', () => index.add([1, Infinity], two(5, 6)), ErrorCodes.INVALID_ID],
    ['string id', () => index.add([1, '7'] as never, two(5, 6)), ErrorCodes.INVALID_ID],
    ['negative BigInt id', () => index.add(BigInt64Array.of(1n, -5n), two(5, 6)), ErrorCodes.INVALID_ID],
    ['BigInt id 2**53', () => index.add(BigUint64Array.of(1n, 2n ** 53n), two(5, 6)), ErrorCodes.INVALID_ID],
    ['BigInt id 2**64-1', () => index.add(BigUint64Array.of(1n, 2n ** 64n - 1n), two(5, 6)), ErrorCodes.INVALID_ID],
    ['ids not a list', () => index.add(5 as never, row(5)), ErrorCodes.INVALID_TYPE],
  ]
  for (const [what, fn, code] of cases) {
    throwsCode(t, fn, code, `add: ${what}`)
    t.equal(index.size, 4, `add: ${what}: size unchanged`)
    t.ok(sameResults(index.searchSync(query, 10), before), `add: ${what}: search results unchanged`)
  }
  t.notOk(index.has(5) || index.has(6), 'no id of a failed add is present')
  index.dispose()
})

t.test('EmbeddingIndex methods reject bad arguments', async (t) => {
  const index = new EmbeddingIndex({ dim })
  index.add([1, 2, 3], corpus.subarray(0, 3 * dim))
  const search = (q: Float32Array, k: number, o?: object) => () => index.searchSync(q, k, o)
  const asyncSearch = (q: Float32Array, k: number, o?: object) => () => index.search(q, k, o)
  const cases: [string, Float32Array, number, object | undefined, string][] = [
    ['query length not a multiple of the index dim', new Float32Array(dim + 2), 1, undefined, ErrorCodes.DIM_MISMATCH],
    ['query shorter than dim', new Float32Array(dim - 1), 1, undefined, ErrorCodes.DIM_MISMATCH],
    ['Float64Array query', new Float64Array(dim) as never, 1, undefined, ErrorCodes.INVALID_TYPE],
    ['k 0', query, 0, undefined, ErrorCodes.INVALID_K],
    ['k -1', query, -1, undefined, ErrorCodes.INVALID_K],
    ['k 1.5', query, 1.5, undefined, ErrorCodes.INVALID_K],
    ['k NaN', query, NaN, undefined, ErrorCodes.INVALID_K],
    ['NaN in query', Float32Array.of(0, NaN, 0, 0), 1, undefined, ErrorCodes.NON_FINITE],
    ['-Infinity in query', Float32Array.of(0, 0, 0, -Infinity), 1, undefined, ErrorCodes.NON_FINITE],
    ['unknown option key', query, 1, { metric: 'l2' }, ErrorCodes.INVALID_ARGUMENT],
    ['options not an object', query, 1, 5 as never, ErrorCodes.INVALID_ARGUMENT],
    ['exclude length != Q', query, 1, { exclude: [[1]] }, ErrorCodes.DIM_MISMATCH],
    ['threads 0', query, 1, { threads: 0 }, ErrorCodes.INVALID_ARGUMENT],
    ['threads 1000', query, 1, { threads: 1000 }, ErrorCodes.INVALID_ARGUMENT],
    ['bad id in allow', query, 1, { allow: [-2] }, ErrorCodes.INVALID_ID],
    ['unsafe id in deny', query, 1, { deny: [2 ** 53] }, ErrorCodes.INVALID_ID],
  ]
  for (const [what, q, k, o, code] of cases) {
    throwsCode(t, search(q, k, o), code, `searchSync: ${what}`)
    await rejectsCode(t, asyncSearch(q, k, o), code, `search: ${what}`)
  }
  throwsCode(t, () => index.remove([-1]), ErrorCodes.INVALID_ID, 'remove: negative id')
  throwsCode(t, () => index.remove([1, 1.5]), ErrorCodes.INVALID_ID, 'remove: fractional id')
  t.equal(index.size, 3, 'a failing remove removes nothing')
  t.ok(index.has(1))
  index.dispose()
})

t.test('a disposed index rejects every use', async (t) => {
  const index = new EmbeddingIndex({ dim })
  index.add([1], corpus.subarray(0, dim))
  t.notOk(index.disposed)
  index.dispose()
  t.ok(index.disposed, 'disposed is true')
  t.doesNotThrow(() => index.dispose(), 'dispose twice is fine')
  t.doesNotThrow(() => index[Symbol.dispose](), 'and Symbol.dispose after dispose')
  const D = ErrorCodes.DISPOSED
  throwsCode(t, () => index.size, D, 'size')
  throwsCode(t, () => index.has(1), D, 'has')
  throwsCode(t, () => index.add([2], corpus.subarray(0, dim)), D, 'add')
  throwsCode(t, () => index.remove([1]), D, 'remove')
  throwsCode(t, () => index.searchSync(query, 1), D, 'searchSync')
  await rejectsCode(t, () => index.search(query, 1), D, 'search')
  await rejectsCode(t, () => index.save(`${t.testdir()}/x.idx`), D, 'save')
})

t.test('`using` disposes at the end of the block', async (t) => {
  let kept: EmbeddingIndex | undefined
  {
    using index = new EmbeddingIndex({ dim })
    index.add([1], corpus.subarray(0, dim))
    kept = index
    t.equal(index.size, 1, 'usable inside the block')
  }
  t.ok(kept.disposed, 'disposed after the block')
  throwsCode(t, () => kept.size, ErrorCodes.DISPOSED, 'size after the block')
})

t.test('global settings reject bad values', async (t) => {
  for (const bad of [0, -1, 1.5, 257, 1000, NaN, '2']) {
    throwsCode(t, () => setThreads(bad as number), ErrorCodes.INVALID_ARGUMENT, `setThreads(${String(bad)})`)
  }
  for (const bad of ['sse4', 'AVX2', '', undefined]) {
    throwsCode(t, () => setSimd(bad as never), ErrorCodes.INVALID_ARGUMENT, `setSimd(${String(bad)})`)
  }
})
