// lib/text from JS: tokens of known strings (ASCII, NFKC, combining marks, CJK, separators), the
// native featuriser against tokenize(), fixed hash values, the hash bag's forward against a plain
// float64 reference at every SIMD level and awkward dims, its sparse backward against central
// differences of that reference (table, importance, gamma, beta; untouched rows get nothing), the
// lazy optimizers touching only the gradient's rows, safetensors round trip, and bad input.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import t from 'tap'

import { ErrorCodes } from '../lib/errors.js'
import { setSimd } from '../lib/info.js'
import { binding } from '../lib/native/binding.js'
import { Random } from '../lib/random.js'
import {
  featurize,
  HashEmbeddingBag,
  hashRows,
  hashToken,
  LazyAdam,
  normalizeText,
  SparseAdagrad,
  type TextFeatures,
  tokenize,
} from '../lib/text/index.js'
import { rawThrowsCode, throwsCode } from './fixtures/assert.js'

const texts = (s: string) => tokenize(s).map((x) => `${x.kind}:${x.text}`)

t.test('tokens of known strings', async (t) => {
  t.same(texts('Abc, de!'), [
    'trigram:#ab',
    'trigram:abc',
    'trigram:bc#',
    'word:abc',
    'trigram:#de',
    'trigram:de#',
    'word:de',
    'bigram:abc de',
  ])
  t.same(texts('x'), ['trigram:#x#', 'word:x'])
  t.same(
    tokenize('a_b c', { trigrams: false }).map((x) => x.text),
    ['a', 'b', 'a b', 'c', 'b c'],
    'underscore separates',
  )
  // NFKC: the ligature ﬁ, full-width letters, superscript two; lower case; ß stays ß.
  t.same(
    tokenize('ﬁle ＡＢＣ x² Straße', { trigrams: false, bigrams: false }).map((x) => x.text),
    ['file', 'abc', 'x2', 'straße'],
  )
  // Composed and decomposed é give the same tokens; CJK and Devanagari (marks kept) are word
  // characters; emoji, em dash and ideographic space separate.
  t.same(texts('cafe\u0301'), texts('caf\u00e9'))
  t.same(
    tokenize('中文—搜索😀किताब\u3000ok', { trigrams: false, bigrams: false }).map((x) => x.text),
    ['中文', '搜索', 'किताब', 'ok'],
  )
  t.equal(normalizeText('ＡＢＣ—d'), 'abc d')
})

t.test('stable hash values', async (t) => {
  t.equal(hashToken('abc', 'word', 0), 0xfc4cefe79ea8a211n)
  t.equal(hashToken('#ab', 'trigram', 42), 0x62403510d66d539cn)
  t.equal(hashToken('hello wörld', 'bigram', 0x123456789), 0x463fc7948d52f01dn)
  t.equal(hashToken('中文😀', 'word', 7), 0xaf80705328b63691n)
  t.not(hashToken('abc', 'word', 1), hashToken('abc', 'word', 0), 'seeded')
  t.not(hashToken('abc', 'trigram', 0), hashToken('abc', 'word', 0), 'kind hashed')
  // Rows by multiply-shift, exact at the extremes: floor(h * n / 2^32).
  const rng = new Random(8)
  for (const n of [1, 7, 100_000, 2 ** 31 - 1]) {
    for (const h of [0, 1, 0xffffffff, 0x80000000, rng.nextU32(), rng.nextU32()]) {
      const want = Number((BigInt(h) * BigInt(n)) >> 32n)
      t.equal(hashRows(h, h, n, n)[0], want, `row of ${h} in ${n}`)
    }
  }
})

t.test('featurize (native) = tokenize (TypeScript)', async (t) => {
  const input = [
    'Fix the CSRF token in FrameworkBundle',
    'ﬁle ＡＢＣ Straße',
    '!!!',
    '中文—搜索 😀 किताब',
    'a \ud800 b',
    '[HttpKernel] Add #[MapQueryString]',
  ]
  for (const opts of [{}, { seed: 2 ** 40 + 17, bigrams: false }, { trigrams: false, words: false }]) {
    const f = featurize(input, opts)
    t.equal(f.count, input.length)
    input.forEach((s, i) => {
      const tok = tokenize(s, opts)
      const from = f.offsets[i]
      const to = f.offsets[i + 1]
      t.same(
        [...f.hashes.subarray(from, to)],
        tok.map((x) => x.hash),
        `hashes of ${JSON.stringify(s)}`,
      )
      t.same(
        [...f.kinds.subarray(from, to)],
        tok.map((x) => ({ trigram: 0, word: 1, bigram: 2 })[x.kind]),
      )
    })
  }
  t.equal(featurize(['!!!']).hashes.length, 0, 'no word characters: no tokens')
  // The raw binding's two input forms (one string per text; the texts joined with offsets) agree.
  const normed = input.map(normalizeText)
  const offsets = Int32Array.from([0, ...normed.map((_, i) => normed.slice(0, i + 1).join('').length)])
  const a = binding().textFeaturize({ texts: normed, seed: 3 })
  const b = binding().textFeaturize({ text: normed.join(''), offsets, seed: 3 })
  t.same([...a.hashes], [...b.hashes], 'texts[] = joined text + offsets')
  t.same([...a.offsets], [...b.offsets])
  rawThrowsCode(
    t,
    () => binding().textFeaturize({ text: 'abc', offsets: Int32Array.of(0, 4), seed: 0 }),
    ErrorCodes.DIM_MISMATCH,
    'offsets past the joined text',
  )
  rawThrowsCode(
    t,
    () => binding().textFeaturize({ text: 'abc', offsets: Int32Array.of(0, 2, 1, 3), seed: 0 }),
    ErrorCodes.INVALID_ARGUMENT,
    'decreasing offsets',
  )
})

/** The bag in float64: y [B, D], s [B, D]. */
function referenceBag(bag: HashEmbeddingBag, f: TextFeatures): { y: Float64Array } {
  const { table, importance, gamma, beta } = bag.tensors()
  const D = bag.dim
  const y = new Float64Array(f.count * D)
  const lanes = new Uint32Array(f.hashes.buffer, f.hashes.byteOffset, f.hashes.length * 2)
  for (let j = 0; j < f.count; j++) {
    const s = new Float64Array(D)
    for (let k = f.offsets[j]; k < f.offsets[j + 1]; k++) {
      const [a, b, q] = hashRows(lanes[2 * k], lanes[2 * k + 1], bag.rows, bag.importanceRows)
      for (let i = 0; i < D; i++)
        s[i] += importance[2 * q] * table[a * D + i] + importance[2 * q + 1] * table[b * D + i]
    }
    let mu = 0
    for (const v of s) mu += v
    mu /= D
    let varr = 0
    for (const v of s) varr += (v - mu) ** 2
    const rs = 1 / Math.sqrt(varr / D + bag.eps)
    for (let i = 0; i < D; i++) y[j * D + i] = (s[i] - mu) * rs * gamma[i] + beta[i]
  }
  return { y }
}

const QUERIES = [
  'Fix the CSRF token in FrameworkBundle',
  'Add a test',
  '[Console] Fix table rendering with wide chars 中文',
  'x',
  '!!!',
  'Revert "Merge branch 5.4 into 6.0"',
]

function randomize(bag: HashEmbeddingBag, seed: number): void {
  const rng = new Random(seed)
  const t = bag.tensors()
  rng.fillNormal(t.importance, 1, 0.3)
  rng.fillNormal(t.gamma, 1, 0.2)
  rng.fillNormal(t.beta, 0, 0.2)
}

t.test('forward = float64 reference at every SIMD level and awkward dims', async (t) => {
  const before = setSimd('auto')
  const levels = (['scalar', 'avx2', 'avx512'] as const).filter((l) => setSimd(l) === l)
  for (const level of levels) {
    setSimd(level)
    for (const dim of [1, 3, 17, 33, 129]) {
      const bag = new HashEmbeddingBag({ rows: 37, dim, importanceRows: 11, initSeed: dim })
      randomize(bag, dim)
      const f = bag.featurize(QUERIES)
      const y = bag.forward(f)
      const { y: ref } = referenceBag(bag, f)
      let err = 0
      for (let i = 0; i < y.length; i++) err = Math.max(err, Math.abs(y[i] - ref[i]))
      t.ok(err < 2e-3, `${level} dim ${dim}: max |y - ref| = ${err}`)
    }
  }
  setSimd(before)
})

t.test('tokenRows', async (t) => {
  const bag = new HashEmbeddingBag({ rows: 1000, dim: 4, importanceRows: 30 })
  const f = bag.featurize(['abc de', 'x'])
  const r = bag.tokenRows(f)
  const lanes = new Uint32Array(f.hashes.buffer, f.hashes.byteOffset, 2 * f.hashes.length)
  t.equal(r.a.length, f.hashes.length)
  for (let k = 0; k < f.hashes.length; k++) {
    t.same([r.a[k], r.b[k], r.importance[k]], hashRows(lanes[2 * k], lanes[2 * k + 1], 1000, 30))
    t.equal(r.segment[k], k < f.offsets[1] ? 0 : 1)
  }
})

t.test('sparse backward = central differences of the reference', async (t) => {
  for (const dim of [3, 17]) {
    const bag = new HashEmbeddingBag({ rows: 29, dim, importanceRows: 7, initSeed: 3 })
    randomize(bag, 5)
    const f = bag.featurize(QUERIES.slice(0, 3))
    bag.forward(f)
    const w = new Random(9).fillNormal(new Float32Array(f.count * dim))
    const g = bag.backward(w)
    const loss = () => {
      const { y } = referenceBag(bag, f)
      let s = 0
      for (let i = 0; i < y.length; i++) s += y[i] * w[i]
      return s
    }
    const fd = (arr: Float32Array, i: number) => {
      const keep = arr[i]
      const h = 1e-2
      arr[i] = keep + h
      const lp = loss()
      arr[i] = keep - h
      const lm = loss()
      arr[i] = keep
      return (lp - lm) / (2 * h)
    }
    const { table, importance, gamma, beta } = bag.tensors()
    const close = (a: number, b: number) => Math.abs(a - b) < 2e-2 * (1 + Math.abs(a))
    let bad = 0
    const touched = new Set(g.table.rows)
    for (let r = 0; r < bag.rows; r++) {
      const u = g.table.rows.indexOf(r)
      for (let i = 0; i < dim; i += 2) {
        const want = fd(table, r * dim + i)
        const got = u >= 0 ? g.table.values[u * dim + i] : 0
        if (!close(want, got)) bad++
        if (!touched.has(r) && Math.abs(want) > 1e-9) bad++
      }
    }
    t.equal(bad, 0, `dim ${dim}: table gradient (touched and untouched rows)`)
    t.same(
      [...g.table.rows],
      [...g.table.rows].sort((a, b) => a - b),
      'rows ascending',
    )
    for (let q = 0; q < bag.importanceRows; q++) {
      const u = g.importance.rows.indexOf(q)
      for (let k = 0; k < 2; k++) {
        const want = fd(importance, 2 * q + k)
        const got = u >= 0 ? g.importance.values[2 * u + k] : 0
        t.ok(close(want, got), `dim ${dim}: importance[${q}, ${k}] ${got} vs ${want}`)
      }
    }
    for (let i = 0; i < dim; i++) {
      t.ok(close(fd(gamma, i), g.gamma[i]), `dim ${dim}: gamma[${i}]`)
      t.ok(close(fd(beta, i), g.beta[i]), `dim ${dim}: beta[${i}]`)
    }
  }
})

t.test('lazy optimizers update only touched rows', async (t) => {
  for (const make of [
    (b: HashEmbeddingBag) => new SparseAdagrad(b, { lr: 0.1 }),
    (b: HashEmbeddingBag) => new LazyAdam(b, { lr: 0.1 }),
  ]) {
    const bag = new HashEmbeddingBag({ rows: 1000, dim: 8, importanceRows: 500 })
    const opt = make(bag)
    const before = bag.tensors().table.slice()
    const impBefore = bag.tensors().importance.slice()
    bag.embed(['hello world'])
    const g = bag.backward(new Random(1).fillNormal(new Float32Array(8)))
    opt.step(g)
    const { table, importance } = bag.tensors()
    const touched = new Set(g.table.rows)
    let changedUntouched = 0
    let changedTouched = 0
    for (let r = 0; r < bag.rows; r++) {
      let changed = false
      for (let i = 0; i < 8; i++) if (table[r * 8 + i] !== before[r * 8 + i]) changed = true
      if (changed && !touched.has(r)) changedUntouched++
      if (changed && touched.has(r)) changedTouched++
    }
    t.equal(changedUntouched, 0, `${opt.constructor.name}: untouched table rows unchanged`)
    t.equal(changedTouched, touched.size, `${opt.constructor.name}: every touched row moved`)
    const itouched = new Set(g.importance.rows)
    let impBad = 0
    for (let q = 0; q < bag.importanceRows; q++) {
      const changed = importance[2 * q] !== impBefore[2 * q] || importance[2 * q + 1] !== impBefore[2 * q + 1]
      if (changed !== itouched.has(q)) impBad++
    }
    t.equal(impBad, 0, `${opt.constructor.name}: importance rows move iff touched`)
    // Adagrad's first step on row r, element 0: w -= lr g / (sqrt(0.1 + g^2) + eps).
    if (opt instanceof SparseAdagrad) {
      const r = g.table.rows[0]
      const gv = g.table.values[0]
      const want = before[r * 8] - (0.1 * gv) / (Math.sqrt(0.1 + gv * gv) + 1e-8)
      t.ok(Math.abs(table[r * 8] - want) < 1e-6, 'adagrad update value')
    } else {
      const r = g.table.rows[0]
      const gv = g.table.values[0]
      // Adam's first step: m̂ = g, v̂ = g², so w -= lr g / (|g| + eps).
      const want = before[r * 8] - (0.1 * gv) / (Math.abs(gv) + 1e-8)
      t.ok(Math.abs(table[r * 8] - want) < 1e-5, 'lazy adam update value')
    }
  }
})

t.test('lazy Adam leaves rows alone on steps that do not touch them', async (t) => {
  const bag = new HashEmbeddingBag({ rows: 100_000, dim: 4 })
  const opt = new LazyAdam(bag, { lr: 0.1 })
  const dy = new Random(2).fillNormal(new Float32Array(4))
  bag.embed(['alpha'])
  const g1 = bag.backward(dy)
  opt.step(g1)
  const after1 = bag.tensors().table.slice()
  bag.embed(['omega'])
  const g2 = bag.backward(dy)
  opt.step(g2)
  const second = new Set(g2.table.rows)
  const onlyFirst = [...g1.table.rows].filter((r) => !second.has(r))
  t.ok(onlyFirst.length > 0, 'some rows only in the first step')
  const table = bag.tensors().table
  let moved = 0
  for (const r of onlyFirst) for (let i = 0; i < 4; i++) if (table[r * 4 + i] !== after1[r * 4 + i]) moved++
  t.equal(moved, 0, 'rows of step 1 only keep their values in step 2 (a dense Adam would move them)')
  t.equal(opt.steps, 2)
})

t.test('results do not depend on the thread count', async (t) => {
  const one = new HashEmbeddingBag({ rows: 2000, dim: 24, threads: 1 })
  const two = new HashEmbeddingBag({ rows: 2000, dim: 24, threads: 2 })
  const many = Array.from({ length: 300 }, (_, i) => `${QUERIES[i % QUERIES.length]} ${i}`)
  t.same([...two.embed(many)], [...one.embed(many)], 'forward')
  const dy = new Random(3).fillNormal(new Float32Array(300 * 24))
  const g1 = one.backward(dy)
  const g2 = two.backward(dy)
  t.same([...g2.table.values], [...g1.table.values], 'table gradient')
  t.same([...g2.importance.values], [...g1.importance.values], 'importance gradient')
  t.same([...g2.gamma], [...g1.gamma], 'gamma gradient')
})

t.test('training lowers a loss', async (t) => {
  // Pull two queries' embeddings toward fixed targets with LazyAdam.
  const bag = new HashEmbeddingBag({ rows: 5000, dim: 16 })
  const opt = new LazyAdam(bag, { lr: 0.05 })
  const target = new Random(4).fillNormal(new Float32Array(32))
  const lossAt = () => {
    const y = bag.embed(['symfony console', 'http kernel cache'])
    let s = 0
    for (let i = 0; i < 32; i++) s += (y[i] - target[i]) ** 2
    return s
  }
  const first = lossAt()
  for (let it = 0; it < 50; it++) {
    const y = bag.embed(['symfony console', 'http kernel cache'])
    const dy = new Float32Array(32)
    for (let i = 0; i < 32; i++) dy[i] = 2 * (y[i] - target[i])
    opt.step(bag.backward(dy))
  }
  t.ok(lossAt() < first * 0.5, `loss ${first} -> ${lossAt()}`)
})

t.test('safetensors round trip', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'simsage-text-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const bag = new HashEmbeddingBag({ rows: 300, dim: 5, featurize: { seed: 77, bigrams: false } })
  randomize(bag, 2)
  const path = join(dir, 'bag.safetensors')
  await bag.save(path)
  const back = await HashEmbeddingBag.load(path)
  t.same(back.featurizeOptions, { seed: 77, trigrams: true, words: true, bigrams: false })
  t.same([...back.embed(QUERIES)], [...bag.embed(QUERIES)])
})

t.test('bad input -> coded errors', async (t) => {
  const bag = new HashEmbeddingBag({ rows: 50, dim: 4 })
  throwsCode(t, () => featurize(['ok', '']), ErrorCodes.INVALID_ARGUMENT, 'empty text')
  throwsCode(t, () => featurize(['ok', '  \n']), ErrorCodes.INVALID_ARGUMENT, 'whitespace text')
  throwsCode(t, () => featurize(['ok', 3 as unknown as string]), ErrorCodes.INVALID_ARGUMENT, 'non-string')
  throwsCode(t, () => featurize('abc' as unknown as string[]), ErrorCodes.INVALID_ARGUMENT, 'not an array')
  throwsCode(t, () => featurize(['a'], { seed: -1 }), ErrorCodes.INVALID_ARGUMENT, 'bad seed')
  throwsCode(t, () => tokenize(''), ErrorCodes.INVALID_ARGUMENT, 'tokenize empty')
  throwsCode(t, () => new HashEmbeddingBag({ dim: 0 }), ErrorCodes.DIM_MISMATCH, 'dim 0')
  throwsCode(t, () => new HashEmbeddingBag({ rows: 1.5, dim: 2 }), ErrorCodes.DIM_MISMATCH, 'fractional rows')
  throwsCode(t, () => new HashEmbeddingBag({ dim: 2, eps: Number.NaN }), ErrorCodes.NON_FINITE, 'eps NaN')
  throwsCode(t, () => bag.backward(new Float32Array(4)), ErrorCodes.INVALID_ARGUMENT, 'backward first')
  const f = bag.featurize(['a b', 'c'])
  throwsCode(t, () => bag.forward({ ...f, count: 3 }), ErrorCodes.DIM_MISMATCH, 'count vs offsets')
  throwsCode(t, () => bag.forward(featurize(['a b'], { seed: 9 })), ErrorCodes.INVALID_ARGUMENT, 'other seed')
  throwsCode(t, () => bag.forward({ ...f, hashes: f.hashes.subarray(1) }), ErrorCodes.DIM_MISMATCH, 'hashes short')
  const badOff = Int32Array.from(f.offsets)
  badOff[1] = badOff[2] + 1
  throwsCode(t, () => bag.forward({ ...f, offsets: badOff }), ErrorCodes.INVALID_ARGUMENT, 'offsets decreasing')
  bag.forward(f)
  throwsCode(t, () => bag.backward(new Float32Array(7)), ErrorCodes.DIM_MISMATCH, 'dy wrong length')
  throwsCode(t, () => bag.backward(new Float32Array(8).fill(Number.NaN)), ErrorCodes.NON_FINITE, 'dy NaN')
  bag.tensors().importance[0] = Number.NaN
  throwsCode(t, () => bag.forward(f), ErrorCodes.NON_FINITE, 'importance NaN')
  throwsCode(t, () => new SparseAdagrad(bag, { lr: Number.NaN }), ErrorCodes.NON_FINITE, 'lr NaN')
  const opt = new SparseAdagrad(bag)
  const grads = {
    table: { rows: Int32Array.of(3, 1), values: new Float32Array(8) },
    importance: { rows: new Int32Array(0), values: new Float32Array(0) },
    gamma: new Float32Array(4),
    beta: new Float32Array(4),
  }
  throwsCode(t, () => opt.step(grads), ErrorCodes.INVALID_ARGUMENT, 'unsorted rows')
  grads.table.rows = Int32Array.of(1, 50)
  throwsCode(t, () => opt.step(grads), ErrorCodes.INVALID_ARGUMENT, 'row out of range')
  bag.dispose()
  throwsCode(t, () => bag.embed(['a']), ErrorCodes.DISPOSED, 'disposed embed')
  throwsCode(t, () => bag.forward(f), ErrorCodes.DISPOSED, 'disposed forward')
  throwsCode(t, () => opt.step(grads), ErrorCodes.DISPOSED, 'disposed optimizer step')
})
