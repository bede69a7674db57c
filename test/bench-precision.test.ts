// The precision section's helpers of `bench similarity` (issue 12): usearch's exact search at the
// storage types its binding offers (the byteOffset guard, i8 codes), the Fashion-MNIST data of
// `--precision-data fashion`, option parsing and the notes in the text output.
import t from 'tap'

import { loadUsearch, usearchExact, usearchMissing } from '../bench/peers/usearchPrecision.js'
import { fashionDim, fashionPrecisionData } from '../bench/precision-data.js'
import { formatPrecision } from '../bench/format.js'
import { parseSimilarityOptions, type SimilarityReport } from '../bench/similarity.js'
import type { SimsageApi } from '../bench/simsageApi.js'
import * as lib from '../lib/index.js'

/** Exact inner-product top-k of each query, by brute force in float64. */
function bruteTopK(corpus: Float32Array, n: number, dim: number, queries: Float32Array, k: number): number[][] {
  const out: number[][] = []
  for (let q = 0; q < queries.length / dim; q++) {
    const scored = Array.from({ length: n }, (_, i) => {
      let s = 0
      for (let d = 0; d < dim; d++) s += corpus[i * dim + d] * queries[q * dim + d]
      return { i, s }
    })
    scored.sort((a, b) => b.s - a.s)
    out.push(scored.slice(0, k).map((x) => x.i))
  }
  return out
}

/** Deterministic pseudo-random floats in [-1, 1). */
function floats(len: number, seed: number): Float32Array {
  const out = new Float32Array(len)
  let x = seed >>> 0
  for (let i = 0; i < len; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0
    out[i] = x / 2 ** 31 - 1
  }
  return out
}

t.test('usearch exact search: f32 equals brute force, also for queries that are a subarray', async (t) => {
  const mod = await loadUsearch()
  if (typeof mod === 'string') {
    t.skip(mod)
    return
  }
  const n = 300
  const dim = 13
  const k = 5
  const corpus = floats(n * dim, 1)
  const backing = floats(9 * dim, 2)
  const queries = backing.subarray(2 * dim) // 7 queries at a non-zero byteOffset
  const want = bruteTopK(corpus, n, dim, queries, k)
  const us = usearchExact(mod, 'f32', corpus, n, dim)
  t.equal(us.bytesPerVector, 4 * dim)
  const ids = us.search(queries, 7, k, 1)
  for (let q = 0; q < 7; q++) t.same(Array.from(ids.subarray(q * k, (q + 1) * k), Number), want[q], `query ${q}`)
})

t.test('usearch exact search: i8 finds the clear best row and mostly the exact top-k', async (t) => {
  const mod = await loadUsearch()
  if (typeof mod === 'string') {
    t.skip(mod)
    return
  }
  const n = 400
  const dim = 32
  const k = 10
  const corpus = floats(n * dim, 3)
  const queries = new Float32Array(4 * dim)
  for (let q = 0; q < 4; q++) for (let d = 0; d < dim; d++) queries[q * dim + d] = corpus[(17 + 50 * q) * dim + d] * 0.5
  const want = bruteTopK(corpus, n, dim, queries, k)
  const us = usearchExact(mod, 'i8', corpus, n, dim)
  t.equal(us.bytesPerVector, dim)
  const ids = us.search(queries, 4, k, 2)
  let hit = 0
  for (let q = 0; q < 4; q++) {
    t.equal(Number(ids[q * k]), want[q][0], `query ${q}: top-1`)
    const w = new Set(want[q])
    for (let j = 0; j < k; j++) if (w.has(Number(ids[q * k + j]))) hit++
  }
  t.ok(hit / (4 * k) >= 0.8, `i8 recall@${k} ${hit / (4 * k)}`)
})

t.test(
  '--precision-data: fashion embeds both splits to unit 64-d rows (projection, tower); a missing directory is a reason',
  async (t) => {
    const api = lib as unknown as SimsageApi
    const data = await fashionPrecisionData(api, lib.fashionMnistSmallPath, 42, { kind: 'projection' })
    if (typeof data === 'string') throw new Error(data)
    t.equal(data.dim, fashionDim)
    t.equal(data.corpus.length, data.n * fashionDim)
    t.equal(data.queries.length, data.nQueries * fashionDim)
    t.equal(data.recallQueries, data.nQueries)
    for (const [rows, m] of [
      [data.corpus, data.n],
      [data.queries, data.nQueries],
    ] as const) {
      for (const i of [0, m - 1]) {
        let s = 0
        for (let c = 0; c < fashionDim; c++) s += rows[i * fashionDim + c] ** 2
        t.ok(Math.abs(s - 1) < 1e-5, `row ${i} has unit norm (${s})`)
      }
    }
    const again = await fashionPrecisionData(api, lib.fashionMnistSmallPath, 42, { kind: 'projection' })
    t.same(typeof again !== 'string' && again.corpus.subarray(0, 64), data.corpus.subarray(0, 64), 'seeded: same rows')
    const tower = await fashionPrecisionData(api, lib.fashionMnistSmallPath, 42, { kind: 'tower', epochs: 1 })
    if (typeof tower === 'string') throw new Error(tower)
    t.match(tower.label, /ranking tower 784-512-256-64 trained 1 epochs/)
    t.equal(tower.corpus.length, data.n * fashionDim)
    let s = 0
    for (let c = 0; c < fashionDim; c++) s += tower.queries[c] ** 2
    t.ok(Math.abs(s - 1) < 1e-4, `tower rows have unit norm (${s})`)
    const missing = await fashionPrecisionData(api, '/nonexistent/fashion', 42)
    t.type(missing, 'string')
    t.match(missing as string, /Fashion-MNIST not loaded from \/nonexistent\/fashion/)
  },
)

t.test('option parsing and the notes of the text output', async (t) => {
  const o = parseSimilarityOptions({ precision: 'i8', precisionData: 'fashion', fashionDir: '/x' })
  t.same(o.precision, ['f32', 'i8'])
  t.same(parseSimilarityOptions({ precision: 'i8-dim,bf16' }).precision, ['f32', 'bf16', 'i8-dim'], 'i8-dim parses')
  t.equal(o.precisionData, 'fashion')
  t.equal(o.fashionDir, '/x')
  t.equal(parseSimilarityOptions({}).precisionData, 'random')
  t.throws(() => parseSimilarityOptions({ precisionData: 'mnist' }), /--precision-data/)
  t.same(o.fashionEmbedding, { kind: 'tower', epochs: 3 })
  t.same(parseSimilarityOptions({ fashionEmbed: 'projection' }).fashionEmbedding, { kind: 'projection' })
  t.same(parseSimilarityOptions({ fashionEpochs: '2' }).fashionEmbedding, { kind: 'tower', epochs: 2 })
  t.throws(() => parseSimilarityOptions({ fashionEmbed: 'pca' }), /--fashion-embed/)
  t.throws(() => parseSimilarityOptions({ fashionEpochs: '0' }), /--fashion-epochs/)
  const report = {
    options: o,
    precision: {
      data: 'd',
      n: 2,
      dim: 3,
      summaries: [],
      cells: [],
      notes: [usearchMissing.bf16],
      peer: {
        name: 'usearch exactSearch',
        summaries: [{ storage: 'i8', bytesPerVector: 3, recall: 0.5 }],
        cells: [
          { storage: 'i8', threads: 1, queries: 4, queriesTimed: 2, k: 1, queriesPerSec: 10, simsageOverPeer: 3 },
        ],
      },
    },
  } as unknown as SimilarityReport
  const text = formatPrecision(report)
  t.match(text, /note: usearch 2\.25's Node binding has no bf16 exact search/)
  t.match(text, /\| i8 \| 3 \| 0\.5000 \| 1 \| 4 \(timed on 2\) \| 10\.0 \| 3\.00 \|/)
})
