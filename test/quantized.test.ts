// Reduced-precision EmbeddingIndex storage (bf16, f16, i8): bf16 scores at every SIMD level against
// a float64 reference on the stored (rounded) values at awkward dims; f16 / i8 close to the f32
// index; exact re-ranking equal to the f32 index; stats; the index file (storage saved, version 1
// files still load, a bad storage code is CORRUPT_FILE); and the coded errors. The native tests
// (native/tests/test_quant.cpp) check every storage type exactly on its stored values.
import { createHash } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

import t from 'tap'

import { EmbeddingIndex, ErrorCodes, info, type Metric, type Storage, setSimd } from '../lib/index.js'
import { mulberry32, randomMatrix } from './fixtures/random.js'

const METRICS: Metric[] = ['ip', 'cosine', 'l2']
const DIMS = [1, 3, 15, 16, 17, 33, 129]
const LEVELS = info().simdSupported

t.teardown(() => {
  setSimd('auto')
})

/** bf16 rounding (nearest even) of a float32, as the index stores it. */
function bf16(x: number): number {
  const f = new Float32Array([x])
  const u = new Uint32Array(f.buffer)
  u[0] = ((u[0] + 0x7fff + ((u[0] >>> 16) & 1)) >>> 16) << 16
  return f[0]
}

/** The score the index computes from stored row x: ip <q, x>, cosine <q/|q|, x>, l2 |q - x|^2. */
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

function unit(v: Float32Array): Float32Array {
  let s = 0
  for (const x of v) s += x * x
  const k = s > 0 ? 1 / Math.sqrt(s) : 0
  return v.map((x) => x * k)
}

/**
 * The bf16-dpbf16 fast path's score (similarity.h): the query (cosine: the unit query) rounded to
 * bf16, dotted with the stored row; l2 adds |q|^2 of the unrounded query and |x|^2 (clamped at 0).
 */
function dpbf16Score(q: Float32Array, x: ArrayLike<number>, m: Metric): number {
  const qq = m === 'cosine' ? unit(q) : q
  let dot = 0
  let qn = 0
  let xn = 0
  for (let d = 0; d < q.length; d++) {
    dot += bf16(qq[d]) * x[d]
    qn += q[d] * q[d]
    xn += x[d] * x[d]
  }
  return m === 'l2' ? Math.max(0, qn - 2 * dot + xn) : dot
}

t.test('bf16 scores equal float64 on the stored values at every SIMD level', async (t) => {
  const rng = mulberry32(12)
  const n = 70
  const problems: string[] = []
  for (const dim of DIMS) {
    for (const metric of METRICS) {
      const corpus = randomMatrix(rng, n, dim)
      const queries = randomMatrix(rng, 3, dim)
      const index = new EmbeddingIndex({ dim, metric, storage: 'bf16' })
      index.add(
        Array.from({ length: n }, (_, i) => i),
        corpus,
      )
      const stored = Array.from({ length: n }, (_, r) => {
        const row = corpus.subarray(r * dim, (r + 1) * dim)
        return Array.from(metric === 'cosine' ? unit(row) : row, bf16)
      })
      for (const level of LEVELS) {
        setSimd(level)
        const res = index.searchSync(queries, 5)
        // AVX-512 on a CPU with AVX512_BF16 takes the vdpbf16ps path, which rounds the query too.
        const fast = res.ran.kernel === 'bf16-dpbf16'
        if (res.ran.kernel !== 'bf16-widen' && !(fast && level === 'avx512')) problems.push(`kernel ${res.ran.kernel}`)
        if (res.ran.simd !== level) problems.push(`ran on ${res.ran.simd}`)
        const ref = fast ? dpbf16Score : score
        for (let i = 0; i < 3; i++) {
          const q = queries.subarray(i * dim, (i + 1) * dim)
          const exact = stored.map((x, r) => ({ r, s: ref(q, x, metric) }))
          exact.sort((a, b) => (metric === 'l2' ? a.s - b.s : b.s - a.s) || a.r - b.r)
          const got = res.get(i)
          for (let j = 0; j < 5; j++) {
            const want = exact[j].s
            const own = ref(q, stored[got.ids[j]], metric)
            const tol = 2e-6 * (dim + 8) * (metric === 'l2' ? 4 : 1) * (1 + Math.abs(want))
            if (Math.abs(got.scores[j] - want) > tol || Math.abs(got.scores[j] - own) > tol) {
              problems.push(`dim ${dim} ${metric} ${level} q${i} slot ${j}: ${got.scores[j]} vs ${want}`)
            }
          }
        }
      }
      index.dispose()
    }
  }
  setSimd('auto')
  t.same(problems.slice(0, 10), [], 'no mismatches')
})

t.test('f16 and i8 stay close to f32; rerank over the whole index is exact', async (t) => {
  const rng = mulberry32(3)
  const dim = 48
  const n = 300
  const corpus = randomMatrix(rng, n, dim)
  const queries = randomMatrix(rng, 7, dim)
  const ids = Array.from({ length: n }, (_, i) => 10 + 3 * i)
  for (const metric of METRICS) {
    const exact = new EmbeddingIndex({ dim, metric })
    exact.add(ids, corpus)
    const want = exact.searchSync(queries, 10)
    for (const storage of ['bf16', 'f16', 'i8'] as Storage[]) {
      const index = new EmbeddingIndex({ dim, metric, storage, keepF32: true })
      index.add(ids, corpus)
      const approx = index.searchSync(queries, 10)
      // score error: |q| |x - dec(x)|, relative error 2^-9 (bf16), 2^-12 (f16), 1/254 of max|x| per value (i8)
      const rel = storage === 'bf16' ? 2 ** -8 : storage === 'f16' ? 2 ** -11 : Math.sqrt(dim) / 127
      const bound = metric === 'l2' ? 4 * rel * dim * 4 : rel * (metric === 'cosine' ? 1 : dim) * 2
      let worst = 0
      for (let j = 0; j < approx.scores.length; j++)
        worst = Math.max(worst, Math.abs(approx.scores[j] - want.scores[j]))
      t.ok(worst < bound, `${storage} ${metric}: ranked scores within ${bound.toFixed(3)} of f32 (${worst.toFixed(4)})`)
      const rr = await index.search(queries, 10, { rerank: n })
      t.equal(rr.ran.reranked, true, `${storage} ${metric}: ran.reranked`)
      t.same([...rr.ids], [...want.ids], `${storage} ${metric}: reranked ids equal the f32 index's`)
      let sd = 0
      for (let j = 0; j < rr.scores.length; j++) sd = Math.max(sd, Math.abs(rr.scores[j] - want.scores[j]))
      t.ok(sd < 1e-5, `${storage} ${metric}: reranked scores equal (${sd})`)
      index.dispose()
    }
    exact.dispose()
  }
})

t.test('fast paths: only at avx512, same results on 1 and 2 threads, rerank exact', async (t) => {
  const rng = mulberry32(19)
  const dim = 33
  const n = 700
  const corpus = randomMatrix(rng, n, dim)
  const queries = randomMatrix(rng, 40, dim)
  const ids = Array.from({ length: n }, (_, i) => i)
  const f32 = new EmbeddingIndex({ dim, metric: 'ip' })
  f32.add(ids, corpus)
  const exact = f32.searchSync(queries, 5)
  for (const storage of ['bf16', 'i8'] as Storage[]) {
    const fast = storage === 'bf16' ? 'bf16-dpbf16' : 'i8-vnni'
    const index = new EmbeddingIndex({ dim, metric: 'ip', storage, keepF32: true })
    index.add(ids, corpus)
    for (const level of LEVELS) {
      setSimd(level)
      const one = index.searchSync(queries, 5, { threads: 1 })
      const two = index.searchSync(queries, 5, { threads: 2 })
      const kernel = one.ran.kernel
      t.ok(
        kernel === `${storage}-widen` || (level === 'avx512' && kernel === fast),
        `${storage} at ${level}: kernel ${kernel}`,
      )
      t.same([...two.ids], [...one.ids], `${storage} at ${level}: 1 and 2 threads agree (ids)`)
      t.same([...two.scores], [...one.scores], `${storage} at ${level}: 1 and 2 threads agree (scores)`)
      const rr = index.searchSync(queries, 5, { rerank: n })
      t.same([...rr.ids], [...exact.ids], `${storage} at ${level}: rerank over everything is the f32 top-k`)
    }
    setSimd('auto')
    index.dispose()
  }
  f32.dispose()
})

t.test('stats: storage, bytes per vector, encoding throughput', async (t) => {
  const rng = mulberry32(4)
  const dim = 17
  const corpus = randomMatrix(rng, 40, dim)
  const ids = Array.from({ length: 40 }, (_, i) => i)
  const expect: Record<Storage, number> = { f32: 68, bf16: 36, f16: 34, i8: 24 }
  for (const storage of ['f32', 'bf16', 'f16', 'i8'] as Storage[]) {
    const index = new EmbeddingIndex({ dim, metric: 'ip', storage })
    index.add(ids, corpus)
    const s = index.stats
    t.equal(s.storage, storage, `${storage}: storage`)
    t.equal(s.bytesPerVector, expect[storage], `${storage}: bytes per vector`)
    t.equal(s.rows, 40, `${storage}: rows`)
    t.ok(s.heldBytes >= 40 * s.bytesPerVector, `${storage}: held bytes cover the vectors`)
    if (storage === 'f32') t.equal(s.quantizedRows, 0, 'f32 encodes nothing')
    else t.ok(s.quantizedRows === 40 && s.quantizeRowsPerSecond > 0, `${storage}: encoding throughput reported`)
    index.dispose()
  }
  const kept = new EmbeddingIndex({ dim, metric: 'l2', storage: 'i8', keepF32: true })
  t.equal(kept.stats.bytesPerVector, 20 + 4 + 4 + 68, 'i8 l2 with f32 copies')
  t.equal(kept.keepF32, true)
  kept.dispose()
})

t.test('bad input', async (t) => {
  const E = ErrorCodes
  t.throws(
    () => new EmbeddingIndex({ dim: 4, storage: 'f8' as Storage }),
    { code: E.INVALID_ARGUMENT },
    'unknown storage',
  )
  t.throws(
    () => new EmbeddingIndex({ dim: 4, storage: 'i8', keepF32: 1 as unknown as boolean }),
    { code: E.INVALID_ARGUMENT },
    'keepF32 not a boolean',
  )
  const f16 = new EmbeddingIndex({ dim: 2, storage: 'f16' })
  t.throws(() => f16.add([1, 2], new Float32Array([1, 2, 70000, 0])), { code: E.NON_FINITE }, 'f16 overflow')
  t.equal(f16.size, 0, 'nothing added')
  t.throws(() => f16.add([1], new Float32Array([Number.NaN, 0])), { code: E.NON_FINITE }, 'NaN')
  f16.add([1], new Float32Array([65504, -65504]))
  t.throws(
    () => f16.searchSync(new Float32Array(2), 1, { rerank: 4 }),
    { code: E.INVALID_ARGUMENT },
    'rerank needs keepF32',
  )
  t.throws(
    () => f16.searchSync(new Float32Array(2), 1, { rerank: -1 }),
    { code: E.INVALID_ARGUMENT },
    'negative rerank',
  )
  t.throws(() => f16.searchSync(new Float32Array(2), 1, { rerank: 1.5 }), { code: E.INVALID_ARGUMENT }, 'fractional')
  f16.dispose()
  const f32 = new EmbeddingIndex({ dim: 2 })
  f32.add([1], new Float32Array([1, 2]))
  t.equal(f32.searchSync(new Float32Array([1, 0]), 1, { rerank: 4 }).ran.reranked, false, 'f32 ignores rerank')
  f32.dispose()
})

const resign = (b: Buffer) => {
  createHash('sha256')
    .update(b.subarray(0, b.length - 32))
    .digest()
    .copy(b, b.length - 32)
  return b
}

t.test('the index file keeps the storage; version 1 files still load', async (t) => {
  const dir = t.testdir()
  const rng = mulberry32(8)
  const dim = 13
  const corpus = randomMatrix(rng, 50, dim)
  const ids = Array.from({ length: 50 }, (_, i) => 7 * i)
  const queries = randomMatrix(rng, 4, dim)
  for (const storage of ['bf16', 'f16', 'i8'] as Storage[]) {
    for (const metric of METRICS) {
      for (const keepF32 of [false, true]) {
        const index = new EmbeddingIndex({ dim, metric, storage, keepF32 })
        index.add(ids, corpus)
        const path = join(dir, `${storage}-${metric}-${keepF32}.idx`)
        await index.save(path)
        const loaded = await EmbeddingIndex.load(path)
        t.equal(loaded.storage, storage)
        t.equal(loaded.keepF32, keepF32)
        // Version 3 writes the codes: the vectors take the storage's bytes (+ i8 scale, + f32 copies).
        const rec = dim * (storage === 'i8' ? 1 : 2) + (storage === 'i8' ? 4 : 0) + (keepF32 ? 4 * dim : 0)
        const file = readFileSync(path)
        const metaLen = file.readUInt32LE(32)
        t.equal(file.length, Math.ceil((64 + metaLen) / 64) * 64 + 50 * (rec + 8) + 32, `${storage} file size`)
        const a = index.searchSync(queries, 6)
        const b = loaded.searchSync(queries, 6)
        let sd = 0
        for (let j = 0; j < a.scores.length; j++) sd = Math.max(sd, Math.abs(a.scores[j] - b.scores[j]))
        t.ok(
          [...a.ids].join() === [...b.ids].join() && sd === 0,
          `${storage} ${metric} keepF32 ${keepF32}: the loaded index searches the same (${sd})`,
        )
        index.dispose()
        loaded.dispose()
      }
    }
  }
  // A version 1 file: what the previous writer produced (no storage field, bytes 36.. zero).
  const f32 = new EmbeddingIndex({ dim, metric: 'l2' })
  f32.add(ids, corpus)
  const v2 = join(dir, 'f32.idx')
  await f32.save(v2)
  const buf = readFileSync(v2)
  t.equal(buf.readUInt32LE(8), 4, 'written as version 4')
  // An f32 index's file has the version 2 layout: as version 2 with a reduced storage code (and the
  // keep-f32 flag) it is what the version 2 writer produced for a reduced-precision index (f32
  // values), and loads by encoding them: the same as a fresh index built from those values.
  for (const [code, storage] of [
    [1, 'bf16'],
    [3, 'i8'],
  ] as [number, Storage][]) {
    const two = Buffer.from(buf)
    two.writeUInt32LE(2, 8)
    two.writeUInt32LE(code, 36)
    two.writeUInt32LE(2, 20)
    writeFileSync(join(dir, `v2-${storage}.idx`), resign(two))
    const fromV2 = await EmbeddingIndex.load(join(dir, `v2-${storage}.idx`))
    const fresh = new EmbeddingIndex({ dim, metric: 'l2', storage, keepF32: true })
    fresh.add(ids, corpus)
    t.equal(fromV2.storage, storage, `a version 2 ${storage} file loads as ${storage}`)
    t.same(fromV2.searchSync(queries, 5).scores, fresh.searchSync(queries, 5).scores, 'and searches as a fresh index')
    fromV2.dispose()
    fresh.dispose()
  }
  // Damaged codes (re-signed, so only the record checks catch them): CORRUPT_FILE.
  for (const storage of ['bf16', 'i8'] as Storage[]) {
    const src = join(dir, `${storage}-ip-false.idx`)
    const b = Buffer.from(readFileSync(src))
    const at = Math.ceil((64 + b.readUInt32LE(32)) / 64) * 64
    if (storage === 'bf16')
      b.writeUInt16LE(0x7fc0, at) // NaN
    else b.writeInt8(-128, at)
    writeFileSync(join(dir, `bad-${storage}.idx`), resign(b))
    await t.rejects(
      EmbeddingIndex.load(join(dir, `bad-${storage}.idx`)),
      { code: ErrorCodes.CORRUPT_FILE },
      `${storage}: an invalid code`,
    )
  }
  buf.writeUInt32LE(1, 8)
  const v1 = join(dir, 'v1.idx')
  writeFileSync(v1, resign(buf))
  const old = await EmbeddingIndex.load(v1)
  t.equal(old.storage, 'f32', 'a version 1 file loads as f32')
  t.same([...old.searchSync(queries, 5).ids], [...f32.searchSync(queries, 5).ids], 'and searches the same')
  old.dispose()
  // A bad storage code, unknown flags, a truncated file.
  const bad = Buffer.from(readFileSync(v2))
  bad.writeUInt32LE(4, 36)
  writeFileSync(join(dir, 'bad.idx'), resign(bad))
  await t.rejects(EmbeddingIndex.load(join(dir, 'bad.idx')), { code: ErrorCodes.CORRUPT_FILE }, 'bad storage code')
  const flags = Buffer.from(readFileSync(v2))
  flags.writeUInt32LE(4, 20)
  writeFileSync(join(dir, 'flags.idx'), resign(flags))
  await t.rejects(EmbeddingIndex.load(join(dir, 'flags.idx')), { code: ErrorCodes.CORRUPT_FILE }, 'unknown flags')
  writeFileSync(join(dir, 'short.idx'), readFileSync(v2).subarray(0, 200))
  await t.rejects(EmbeddingIndex.load(join(dir, 'short.idx')), { code: ErrorCodes.CORRUPT_FILE }, 'truncated')
  f32.dispose()
})
