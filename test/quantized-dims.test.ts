// i8 storage with per-dimension scales (`i8Scales: 'dimension'`): scores at every widening SIMD level
// against a float64 reference on the stored values (scales learned from the first add, codes
// saturated), saturation counted, exact re-ranking, recall above per-vector scales on data whose
// dimensions differ in range, the index file (version 4, flag bit 2, the scale block; damage is
// CORRUPT_FILE), and the coded errors. native/tests/test_quant_dims.cpp checks the kernels exactly.
import { createHash } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

import t from 'tap'

import { EmbeddingIndex, ErrorCodes, info, type Metric, setSimd } from '../lib/index.js'
import { mulberry32 } from './fixtures/random.js'

const METRICS: Metric[] = ['ip', 'cosine', 'l2']
const DIMS = [1, 3, 17, 33, 129]

t.teardown(() => {
  setSimd('auto')
})

/** rows x dim values, dimension d scaled by 0.05 + 3 (d % 7) / 7 (ranges ~60x apart). */
function skewed(rng: () => number, rows: number, dim: number): Float32Array {
  const v = new Float32Array(rows * dim)
  for (let i = 0; i < v.length; i++) {
    const g = Math.sqrt(-2 * Math.log(rng() + 1e-12)) * Math.cos(2 * Math.PI * rng())
    v[i] = g * (0.05 + (3 * ((i % dim) % 7)) / 7)
  }
  return v
}

function unit(v: Float32Array): Float32Array {
  let s = 0
  for (const x of v) s += x * x
  const k = s > 0 ? 1 / Math.sqrt(s) : 0
  return v.map((x) => x * k)
}

/**
 * What the index stores (similarity.h): s_d = f32(max |x_d| / 127) over the first add's rows
 * (cosine: unit rows; a dimension zero everywhere takes the largest), c = clamp(round(x / s_d)),
 * row factor r (ip / l2: 1; cosine: 1 / |s c|), decoded f32(r c) s_d.
 */
function stored(first: Float32Array, rows: Float32Array, dim: number, m: Metric): Float64Array {
  const prep = (v: Float32Array) => {
    if (m !== 'cosine') return v
    const out = new Float32Array(v.length)
    for (let i = 0; i < v.length; i += dim) out.set(unit(v.subarray(i, i + dim)), i)
    return out
  }
  const f = prep(first)
  const s = new Float32Array(dim)
  for (let d = 0; d < dim; d++) {
    let a = 0
    for (let i = d; i < f.length; i += dim) a = Math.max(a, Math.abs(f[i]))
    s[d] = a / 127
  }
  const top = Math.max(...s) || 1 / 127
  for (let d = 0; d < dim; d++) if (s[d] === 0) s[d] = top
  const x = prep(rows)
  const out = new Float64Array(x.length)
  for (let i = 0; i < x.length; i += dim) {
    const c = new Float64Array(dim)
    let ss = 0
    for (let d = 0; d < dim; d++) {
      c[d] = Math.max(-127, Math.min(127, Math.round(x[i + d] / s[d])))
      ss += (c[d] * s[d]) ** 2
    }
    const r = m === 'cosine' ? (ss > 0 ? Math.fround(1 / Math.sqrt(ss)) : 0) : 1
    for (let d = 0; d < dim; d++) out[i + d] = Math.fround(r * c[d]) * s[d]
  }
  return out
}

function score(q: Float32Array, x: ArrayLike<number>, m: Metric): number {
  let dot = 0
  let qn = 0
  let l2 = 0
  for (let d = 0; d < q.length; d++) {
    dot += q[d] * x[d]
    qn += q[d] * q[d]
    l2 += (q[d] - x[d]) ** 2
  }
  return m === 'ip' ? dot : m === 'cosine' ? (qn > 0 ? dot / Math.sqrt(qn) : 0) : l2
}

t.test('widening kernels score the stored values at every level', async (t) => {
  const rng = mulberry32(21)
  const levels = info().simdSupported
  for (const dim of DIMS) {
    for (const metric of METRICS) {
      const n = 45
      const first = skewed(rng, 30, dim)
      const rest = skewed(rng, n - 30, dim)
      const index = new EmbeddingIndex({ dim, metric, storage: 'i8', i8Scales: 'dimension' })
      index.add(
        Array.from({ length: 30 }, (_, i) => i),
        first,
      )
      index.add(
        Array.from({ length: n - 30 }, (_, i) => 30 + i),
        rest,
      )
      const all = new Float32Array(n * dim)
      all.set(first)
      all.set(rest, 30 * dim)
      const dec = stored(first, all, dim, metric)
      const q = skewed(rng, 3, dim)
      for (const level of levels) {
        // AVX-512 with VNNI rounds the query too (i8-vnni); the native test checks that path exactly.
        setSimd(level)
        const res = index.searchSync(q, 5)
        if (res.ran.kernel !== 'i8-widen') continue
        let worst = 0
        for (let i = 0; i < 3; i++) {
          const qi = q.subarray(i * dim, (i + 1) * dim)
          for (let j = 0; j < res.counts[i]; j++) {
            const id = res.ids[i * 5 + j]
            const e = score(qi, dec.subarray(id * dim, (id + 1) * dim), metric)
            worst = Math.max(worst, Math.abs(e - res.scores[i * 5 + j]) / (1 + Math.abs(e)))
          }
        }
        t.ok(worst < 1e-5 * (dim + 8), `dim ${dim} ${metric} ${level}: stored-value scores (${worst.toExponential(2)})`)
      }
      index.dispose()
    }
  }
})

t.test('saturation, stats, exact re-ranking and recall against per-vector scales', async (t) => {
  const rng = mulberry32(5)
  const dim = 24
  const n = 3000
  const corpus = skewed(rng, n, dim)
  const ids = Array.from({ length: n }, (_, i) => i)
  const q = skewed(rng, 40, dim)
  const exact = new EmbeddingIndex({ dim })
  exact.add(ids, corpus)
  const want = exact.searchSync(q, 10)
  const recall = (got: Float64Array) => {
    let hit = 0
    for (let i = 0; i < 40; i++) {
      const w = new Set(want.ids.subarray(i * 10, i * 10 + 10))
      for (let j = 0; j < 10; j++) if (w.has(got[i * 10 + j])) hit++
    }
    return hit / 400
  }
  const byDim = new EmbeddingIndex({ dim, storage: 'i8', i8Scales: 'dimension', keepF32: true })
  const byVec = new EmbeddingIndex({ dim, storage: 'i8', i8Scales: 'vector' })
  byDim.add(ids, corpus)
  byVec.add(ids, corpus)
  t.equal(byDim.i8Scales, 'dimension')
  t.match(byDim.stats, { storage: 'i8', i8Scales: 'dimension', saturatedValues: 0, bytesPerVector: dim + 4 + 4 * dim })
  const rd = recall(byDim.searchSync(q, 10).ids)
  const rv = recall(byVec.searchSync(q, 10).ids)
  t.ok(rd > rv, `per-dimension recall ${rd} above per-vector ${rv} when dimension ranges differ`)
  t.same([...byDim.searchSync(q, 10, { rerank: n }).ids], [...want.ids], 'rerank over the corpus: exact ids')
  // A later row far outside the learned range saturates, and is counted.
  const big = corpus.slice(0, dim).map((x) => x * 1000)
  byDim.add([n], big)
  t.ok(byDim.stats.saturatedValues >= dim - 2, `saturated ${byDim.stats.saturatedValues}`)
  t.equal(new EmbeddingIndex({ dim: 2, storage: 'bf16', i8Scales: 'dimension' }).i8Scales, 'vector', 'i8 only')
  t.throws(
    () => new EmbeddingIndex({ dim: 2, storage: 'i8', i8Scales: 'row' as never }),
    { code: ErrorCodes.INVALID_ARGUMENT },
    'unknown i8Scales',
  )
  for (const ix of [exact, byDim, byVec]) ix.dispose()
})

const resign = (b: Buffer) => {
  createHash('sha256')
    .update(b.subarray(0, b.length - 32))
    .digest()
    .copy(b, b.length - 32)
  return b
}

t.test('the index file keeps the per-dimension scales', async (t) => {
  const dir = t.testdir()
  const rng = mulberry32(9)
  const dim = 13
  const corpus = skewed(rng, 50, dim)
  const ids = Array.from({ length: 50 }, (_, i) => 3 * i)
  const q = skewed(rng, 4, dim)
  for (const metric of METRICS) {
    for (const keepF32 of [false, true]) {
      const index = new EmbeddingIndex({ dim, metric, storage: 'i8', i8Scales: 'dimension', keepF32 })
      index.add(ids.slice(0, 20), corpus.subarray(0, 20 * dim))
      index.add(ids.slice(20), corpus.subarray(20 * dim))
      const path = join(dir, `${metric}-${keepF32}.idx`)
      await index.save(path)
      const file = readFileSync(path)
      t.equal(file.readUInt32LE(8), 4, 'version 4')
      t.equal(file.readUInt32LE(20) & 4, 4, 'flag bit 2')
      const rec = dim + 4 + (keepF32 ? 4 * dim : 0)
      const at = Math.ceil((64 + file.readUInt32LE(32)) / 64) * 64
      t.equal(file.length, at + Math.ceil((dim * 4) / 64) * 64 + 50 * (rec + 8) + 32, 'file size')
      const loaded = await EmbeddingIndex.load(path)
      t.equal(loaded.i8Scales, 'dimension')
      const a = index.searchSync(q, 6)
      const b = loaded.searchSync(q, 6)
      t.ok([...a.ids].join() === [...b.ids].join() && [...a.scores].join() === [...b.scores].join(), 'same search')
      // Adding after the load uses the saved scales: the same codes as the original index.
      const extra = skewed(rng, 2, dim)
      index.add([1000, 1001], extra)
      loaded.add([1000, 1001], extra)
      t.same([...loaded.searchSync(q, 6).scores], [...index.searchSync(q, 6).scores], 'later adds encode alike')
      index.dispose()
      loaded.dispose()
    }
  }
  const src = readFileSync(join(dir, 'ip-false.idx'))
  const at = Math.ceil((64 + src.readUInt32LE(32)) / 64) * 64
  for (const [what, damage] of [
    ['a NaN scale', (b: Buffer) => b.writeFloatLE(Number.NaN, at)],
    ['a zero scale', (b: Buffer) => b.writeFloatLE(0, at + 4)],
    ['the flag on bf16 storage', (b: Buffer) => b.writeUInt32LE(1, 36)],
    ['the flag in a version 3 file', (b: Buffer) => b.writeUInt32LE(3, 8)],
  ] as [string, (b: Buffer) => void][]) {
    const b = Buffer.from(src)
    damage(b)
    const p = join(dir, 'bad.idx')
    writeFileSync(p, resign(b))
    await t.rejects(EmbeddingIndex.load(p), { code: ErrorCodes.CORRUPT_FILE }, what)
  }
})
