// Exact top-k (topk, topkAsync, EmbeddingIndex) against a float64 JS reference, at every SIMD level
// this CPU supports, every metric, awkward dimensions and sizes, k above N, ties and filters (index
// mutations, accessors and the checker itself: test/similarity-index.test.ts).
import t from 'tap'

import { EmbeddingIndex, info, setBackend, setSimd, topk, topkAsync, type Metric } from '../lib/index.js'
import { mulberry32, permutation, randomMatrix, type Rng } from './fixtures/random.js'
import { check, reference, sameResults, tolerance } from './fixtures/reference.js'

const METRICS: Metric[] = ['ip', 'cosine', 'l2']
const DIMS = [1, 3, 7, 9, 15, 16, 17, 31, 33, 127, 128, 129, 768]
const NS = [1, 5, 16, 37, 300]
const QS = [1, 5, 13]
const LEVELS = info().simdSupported

// These tests pin SIMD levels, so they run on the CPU backend (native/tests/test_cuda_similarity.cpp
// compares the CUDA search with the CPU's).
setBackend('cpu')
t.teardown(() => {
  setSimd('auto')
  setBackend('auto')
})

/** A corpus with a zero row at index 2 (cosine must score it 0, not NaN). */
function corpusFor(rng: Rng, n: number, dim: number): Float32Array {
  const c = randomMatrix(rng, n, dim)
  if (n > 2) c.fill(0, 2 * dim, 3 * dim)
  return c
}

/** The last q rows of a 13-row block: a view with a non-zero byteOffset when q < 13. */
function queriesView(all: Float32Array, q: number, dim: number): Float32Array {
  return all.subarray((13 - q) * dim)
}

t.test('the SIMD levels to test', async (t) => {
  t.ok(LEVELS.includes('scalar'), 'scalar is always supported')
  t.ok(LEVELS.length >= 1)
})

for (const level of LEVELS) {
  t.test(`topk matches the reference (simd ${level})`, async (t) => {
    t.equal(setSimd(level), level, `setSimd('${level}') sets it`)
    for (const metric of METRICS) {
      for (const dim of DIMS) {
        const rng = mulberry32(dim * 1009 + METRICS.indexOf(metric))
        const problems: string[] = []
        let searches = 0
        for (const n of NS) {
          const corpus = corpusFor(rng, n, dim)
          const all = randomMatrix(rng, 13, dim)
          for (const q of QS) {
            const queries = queriesView(all, q, dim)
            const ref = reference(queries, corpus, dim, metric)
            for (const k of [1, 10, n + 5]) {
              const res = topk(queries, corpus, { dim, k, metric })
              searches++
              if (res.ran.simd !== level) problems.push(`n ${n} q ${q} k ${k}: ran on ${res.ran.simd}`)
              if (res.ran.backend !== 'cpu') problems.push(`n ${n} q ${q} k ${k}: ran on backend ${res.ran.backend}`)
              problems.push(...check(res, ref, { k, label: `n ${n} q ${q} k ${k}` }))
            }
          }
          const k = 10
          const queries = queriesView(all, 5, dim)
          const a = await topkAsync(queries, corpus, { dim, k, metric })
          if (!sameResults(a, topk(queries, corpus, { dim, k, metric })))
            problems.push(`n ${n}: topkAsync differs from topk`)
        }
        t.same(
          problems.slice(0, 8),
          [],
          `${metric} dim ${dim}: ${searches} searches match (${problems.length} problems)`,
        )
      }
    }
  })

  t.test(`EmbeddingIndex matches the reference (simd ${level})`, async (t) => {
    t.equal(setSimd(level), level)
    for (const metric of METRICS) {
      for (const dim of DIMS) {
        const rng = mulberry32(dim * 7919 + METRICS.indexOf(metric))
        const n = 300
        const corpus = corpusFor(rng, n, dim)
        // Ids unrelated to row order, inserted in a shuffled order over two add() calls.
        const ids = permutation(rng, n).map((p) => p * 3 + 1)
        const order = permutation(rng, n)
        const index = new EmbeddingIndex({ dim, metric })
        for (const part of [order.slice(0, 123), order.slice(123)]) {
          const vecs = new Float32Array(part.length * dim)
          part.forEach((r, i) => {
            vecs.set(corpus.subarray(r * dim, (r + 1) * dim), i * dim)
          })
          index.add(
            part.map((r) => ids[r]),
            vecs,
          )
        }
        t.equal(index.size, n, `${metric} dim ${dim}: size`)
        const queries = queriesView(randomMatrix(rng, 13, dim), 5, dim)
        const ref = reference(queries, corpus, dim, metric)
        const problems: string[] = []
        for (const k of [1, 10, n + 5]) {
          const res = await index.search(queries, k)
          if (res.ran.simd !== level) problems.push(`k ${k}: ran on ${res.ran.simd}`)
          problems.push(...check(res, ref, { k, ids, label: `k ${k}` }))
          if (!sameResults(res, index.searchSync(queries, k))) problems.push(`k ${k}: search and searchSync differ`)
        }
        t.same(problems.slice(0, 8), [], `${metric} dim ${dim}: index search matches (${problems.length} problems)`)
        index.dispose()
      }
    }
  })

  t.test(`ties break toward the smaller id (simd ${level})`, async (t) => {
    setSimd(level)
    for (const metric of METRICS) {
      for (const dim of [1, 7, 16, 17, 33, 129]) {
        const rng = mulberry32(dim * 31 + METRICS.indexOf(metric))
        // Three distinct vectors (scaled apart so their scores cannot tie), each repeated.
        const protos = randomMatrix(rng, 3, dim)
        for (let d = 0; d < dim; d++) protos[dim + d] *= 2
        for (let d = 0; d < dim; d++) protos[2 * dim + d] = protos[d] * -0.5 + 0.25
        const n = 37
        const which = Array.from({ length: n }, () => Math.floor(rng() * 3))
        const corpus = new Float32Array(n * dim)
        which.forEach((w, r) => {
          corpus.set(protos.subarray(w * dim, (w + 1) * dim), r * dim)
        })
        const query = randomMatrix(rng, 1, dim)
        const ref = reference(query, protos, dim, metric)
        const gaps = [0, 1, 2].flatMap((a) =>
          [0, 1, 2].filter((b) => b > a).map((b) => Math.abs(ref.score[a] - ref.score[b])),
        )
        const separated = gaps.every((g) => g > 100 * tolerance(dim, Math.max(...ref.scale, 1)))
        if (!separated) {
          t.comment(`${metric} dim ${dim}: prototype scores too close to order reliably; only ids checked for ties`)
        }
        const better = (a: number, b: number) =>
          metric === 'l2' ? ref.score[a] - ref.score[b] : ref.score[b] - ref.score[a]

        // topk: ids are rows, so within a prototype ids ascend with the row.
        const rows = [...which.keys()].sort((a, b) => better(which[a], which[b]) || a - b)
        const res = topk(query, corpus, { dim, k: n, metric })
        if (separated) t.same([...res.get(0).ids], rows, `${metric} dim ${dim}: topk orders equal vectors by row`)
        const scores = res.get(0).scores
        const ids = res.get(0).ids
        let ok = true
        for (let j = 1; j < n; j++) {
          if (scores[j] === scores[j - 1] && ids[j] < ids[j - 1]) ok = false
          const wa = which[ids[j]]
          const wb = which[ids[j - 1]]
          if (wa === wb && scores[j] !== scores[j - 1]) ok = false
        }
        t.ok(ok, `${metric} dim ${dim}: identical vectors score identically and come out ids ascending`)

        // EmbeddingIndex: ids inserted in descending order; results still ascend within a tie.
        const index = new EmbeddingIndex({ dim, metric })
        const idOf = (r: number) => 1000 - r * 10
        for (let r = 0; r < n; r++) index.add([idOf(r)], corpus.subarray(r * dim, (r + 1) * dim))
        const expected = [...which.keys()]
          .map(idOf)
          .sort((a, b) => better(which[(1000 - a) / 10], which[(1000 - b) / 10]) || a - b)
        const got = (await index.search(query, n)).get(0).ids
        if (separated) t.same([...got], expected, `${metric} dim ${dim}: index orders equal vectors by id`)
        else
          t.same(
            [...got].sort((a, b) => a - b),
            expected.slice().sort((a, b) => a - b),
            `${metric} dim ${dim}: index returns every id`,
          )
        index.dispose()
      }
    }
  })

  t.test(`identical corpus and zero query (simd ${level})`, async (t) => {
    setSimd(level)
    const dim = 17
    const v = randomMatrix(mulberry32(5), 1, dim)
    const n = 40
    const corpus = new Float32Array(n * dim)
    for (let r = 0; r < n; r++) corpus.set(v, r * dim)
    for (const metric of METRICS) {
      const res = topk(randomMatrix(mulberry32(6), 1, dim), corpus, { dim, k: 10, metric })
      t.same([...res.ids], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], `${metric}: all-equal corpus returns rows 0..9`)
      t.equal(new Set(res.scores).size, 1, `${metric}: every score equal`)
    }
    const zero = topk(new Float32Array(dim), randomMatrix(mulberry32(7), n, dim), { dim, k: 5, metric: 'cosine' })
    t.same([...zero.ids], [0, 1, 2, 3, 4], 'cosine with a zero query: every score 0, smallest ids first')
    t.same([...zero.scores], [0, 0, 0, 0, 0])
  })

  t.test(`l2 distances are never negative; every row finds itself (simd ${level})`, async (t) => {
    setSimd(level)
    for (const dim of [3, 17, 128, 768]) {
      const c = randomMatrix(mulberry32(dim), 300, dim)
      for (let i = 0; i < c.length; i++) c[i] *= 100
      const r = topk(c, c, { dim, k: 1, metric: 'l2' })
      t.ok(
        r.scores.every((s) => s >= 0),
        `dim ${dim}: no negative distance`,
      )
      t.same(
        [...r.ids],
        Array.from({ length: 300 }, (_, i) => i),
        `dim ${dim}: row i's nearest is row i`,
      )
    }
  })
}

/** Eligibility predicate for the reference from the same filter options a search takes. */
function eligibility(
  allow?: Iterable<number | bigint>,
  deny?: Iterable<number | bigint>,
  exclude?: (Iterable<number> | undefined | null)[],
) {
  const a = allow && new Set([...allow].map(Number))
  const d = new Set(deny ? [...deny].map(Number) : [])
  const ex = (exclude ?? []).map((e) => new Set(e ?? []))
  return (qi: number, id: number) => (!a || a.has(id)) && !d.has(id) && !(ex[qi]?.has(id) ?? false)
}

t.test('filters: allow, deny, exclude (topk)', async (t) => {
  const rng = mulberry32(1234)
  const dim = 17
  const n = 300
  const corpus = randomMatrix(rng, n, dim)
  const queries = randomMatrix(rng, 3, dim)
  const some = [3, 5, 8, 13, 21, 34, 55, 89, 144, 233]
  const big = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23]
  const cases: {
    name: string
    opts: Parameters<typeof topk>[2]
    allow?: number[]
    deny?: number[]
    exclude?: (number[] | undefined | null)[]
  }[] = [
    { name: 'allow array', opts: { dim, k: 5, allow: some }, allow: some },
    { name: 'allow Set', opts: { dim, k: 5, allow: new Set(some) }, allow: some },
    { name: 'allow Float64Array', opts: { dim, k: 5, allow: Float64Array.from(some) }, allow: some },
    { name: 'allow Int32Array', opts: { dim, k: 5, allow: Int32Array.from(some) }, allow: some },
    { name: 'allow Uint32Array', opts: { dim, k: 5, allow: Uint32Array.from(some) }, allow: some },
    { name: 'allow BigInt64Array', opts: { dim, k: 5, allow: BigInt64Array.from(some.map(BigInt)) }, allow: some },
    { name: 'allow with repeats', opts: { dim, k: 5, allow: [...some, ...some] }, allow: some },
    { name: 'allow fewer than k', opts: { dim, k: 50, allow: some }, allow: some },
    { name: 'allow with unknown ids', opts: { dim, k: 50, allow: [...some, 300, 5000, 2 ** 53 - 1] }, allow: some },
    { name: 'deny array', opts: { dim, k: 20, deny: big }, deny: big },
    { name: 'deny Set', opts: { dim, k: 20, deny: new Set(big) }, deny: big },
    { name: 'deny with unknown ids', opts: { dim, k: 20, deny: [...big, 999, 2 ** 40] }, deny: big },
    {
      name: 'exclude per query',
      opts: { dim, k: 10, exclude: [big, undefined, some] },
      exclude: [big, undefined, some],
    },
    {
      name: 'exclude with null entry',
      opts: { dim, k: 10, exclude: [null, new Set(some), []] },
      exclude: [null, some, []],
    },
    { name: 'allow + deny overlapping', opts: { dim, k: 10, allow: big, deny: some }, allow: big, deny: some },
    {
      name: 'allow + deny + exclude',
      opts: { dim, k: 10, allow: big, deny: [0, 1], exclude: [[2, 3], [20, 21, 22, 23], undefined] },
      allow: big,
      deny: [0, 1],
      exclude: [[2, 3], [20, 21, 22, 23], undefined],
    },
    {
      name: 'exclude empties one query only',
      opts: { dim, k: 10, allow: some, exclude: [some, [], [3]] },
      allow: some,
      exclude: [some, [], [3]],
    },
  ]
  for (const metric of METRICS) {
    const ref = reference(queries, corpus, dim, metric)
    for (const c of cases) {
      const res = topk(queries, corpus, { ...c.opts, metric })
      t.same(
        check(res, ref, { k: c.opts.k, eligible: eligibility(c.allow, c.deny, c.exclude), label: c.name }),
        [],
        `${metric}: ${c.name}`,
      )
    }
    const sample = topk(queries, corpus, { dim, k: 10, metric, exclude: [some, [], [3]], allow: some })
    t.equal(sample.counts[0], 0, `${metric}: a query whose exclude removes everything has count 0`)
    t.equal(sample.counts[1], some.length, `${metric}: the other queries still find their matches`)
  }
})

t.test('filters that remove everything give counts 0 and full padding', async (t) => {
  const rng = mulberry32(77)
  const dim = 9
  const n = 40
  const corpus = randomMatrix(rng, n, dim)
  const queries = randomMatrix(rng, 4, dim)
  const all = Array.from({ length: n }, (_, i) => i)
  const cases = {
    'allow []': { allow: [] },
    'allow new Set()': { allow: new Set<number>() },
    'allow of unknown ids only': { allow: [40, 41, 1e6] },
    'deny everything': { deny: all },
    'exclude everything': { exclude: [all, all, all, all] },
    'allow and deny disjoint': { allow: [1, 2], deny: [1, 2] },
  }
  for (const metric of METRICS) {
    for (const [name, opts] of Object.entries(cases)) {
      const res = topk(queries, corpus, { dim, k: 7, metric, ...opts })
      t.same([...res.counts], [0, 0, 0, 0], `${metric} ${name}: counts 0`)
      t.ok(
        res.ids.every((id) => id === -1),
        `${metric} ${name}: ids all -1`,
      )
      t.ok(
        res.scores.every((s) => Number.isNaN(s)),
        `${metric} ${name}: scores all NaN`,
      )
      t.same([...res.get(2).ids], [], `${metric} ${name}: get() is empty`)
    }
  }
  const index = new EmbeddingIndex({ dim })
  index.add(
    all.map((i) => i + 100),
    corpus,
  )
  const res = await index.search(queries, 3, { allow: all })
  t.same([...res.counts], [0, 0, 0, 0], 'index: allow of ids not in the index admits nothing')
  t.ok(res.ids.every((id) => id === -1) && res.scores.every(Number.isNaN), 'index: full padding')
  index.dispose()
})

t.test('filters on an EmbeddingIndex use its ids', async (t) => {
  const rng = mulberry32(4321)
  const dim = 31
  const n = 200
  const corpus = randomMatrix(rng, n, dim)
  const ids = permutation(rng, n).map((p) => p * 5 + 2)
  const queries = randomMatrix(rng, 2, dim)
  for (const metric of METRICS) {
    const index = new EmbeddingIndex({ dim, metric })
    index.add(ids, corpus)
    const ref = reference(queries, corpus, dim, metric)
    const allow = ids.filter((_, i) => i % 3 === 0)
    const deny = ids.filter((_, i) => i % 7 === 0)
    const exclude = [ids.slice(0, 30), ids.slice(100, 150)]
    const res = await index.search(queries, 15, { allow: new Set(allow), deny, exclude })
    t.same(
      check(res, ref, { k: 15, ids, eligible: eligibility(allow, deny, exclude) }),
      [],
      `${metric}: allow + deny + exclude`,
    )
    const rows = [...res.ids]
    t.ok(
      rows.every((id) => id === -1 || allow.includes(id)),
      `${metric}: only allowed ids`,
    )
    index.dispose()
  }
})
