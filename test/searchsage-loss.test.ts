// OmniSearchSage's pieces: the count-min sketch (never undercounts; error within its bound) and the
// sampled softmax loss (value and every gradient against central differences of a float64
// reference, masking, logQ, Matryoshka prefixes, the capped scale, bad input).
import t from 'tap'

import { CountMinSketch } from '../lib/search/count-min.js'
import { expectedDrawsLogQ, SampledSoftmaxLoss } from '../lib/search/sampled-softmax.js'
import { ErrorCodes } from '../lib/errors.js'
import { Random } from '../lib/random.js'
import { throwsCode } from './fixtures/assert.js'

t.test('count-min: exact when wide, never under, within e·total/width', async (t) => {
  const wide = new CountMinSketch({ width: 1 << 16, depth: 4 })
  const exact = new Map<string, number>()
  const rng = new Random(5)
  for (let i = 0; i < 5000; i++) {
    const k = `key${Math.floor(rng.next() ** 3 * 500)}`
    wide.add(k)
    exact.set(k, (exact.get(k) ?? 0) + 1)
  }
  let off = 0
  for (const [k, v] of exact) off += wide.estimate(k) - v
  t.ok(off <= 2, `wide sketch nearly exact (total overcount ${off})`)
  const narrow = new CountMinSketch({ width: 64, depth: 3, seed: 7 })
  for (const [k, v] of exact) narrow.add(k, v)
  let bad = 0
  for (const [k, v] of exact) {
    const e = narrow.estimate(k)
    t.ok(e >= v, `never undercounts ${k}`)
    if (e - v > (Math.E * narrow.total) / narrow.width) bad++
  }
  t.ok(bad / exact.size < 0.1, `overcount beyond e·total/width for ${bad} of ${exact.size} keys`)
  t.equal(narrow.total, 5000)
  t.equal(narrow.bytes, 64 * 3 * 8)
  t.equal(narrow.estimate('never added') >= 0, true)
  t.equal(new CountMinSketch().frequency('x'), 0)
  // Integer pairs: never undercount; exact when wide; (a, b) and (b, a) are different keys.
  const pairs = new CountMinSketch({ width: 1 << 12, depth: 3, seed: 4 })
  const truth = new Map<string, number>()
  for (let i = 0; i < 3000; i++) {
    const a = Math.floor(rng.next() * 50)
    const b = Math.floor(rng.next() * 50) - 25
    pairs.addPair(a, b)
    truth.set(`${a},${b}`, (truth.get(`${a},${b}`) ?? 0) + 1)
  }
  let pairOver = 0
  for (const [k, v] of truth) {
    const [a, b] = k.split(',').map(Number)
    const e = pairs.estimatePair(a, b)
    t.ok(e >= v, `pair ${k} never undercounted`)
    pairOver += e - v
  }
  t.ok(pairOver / pairs.total < 0.05, `pair overcount ${pairOver} of ${pairs.total}`)
  t.equal(pairs.estimatePair(7, 1000), 0, 'an unseen pair in a sparse sketch')
  throwsCode(t, () => new CountMinSketch({ width: 0 }), ErrorCodes.INVALID_ARGUMENT, 'width 0')
  throwsCode(t, () => new CountMinSketch({ depth: 1.5 }), ErrorCodes.INVALID_ARGUMENT, 'depth 1.5')
  throwsCode(t, () => narrow.add('x', -1), ErrorCodes.INVALID_ARGUMENT, 'negative count')
  throwsCode(t, () => narrow.add('x', Number.NaN), ErrorCodes.INVALID_ARGUMENT, 'NaN count')
})

/** The loss in float64, straight from its definition. */
function reference(
  q: Float64Array,
  c: Float64Array,
  B: number,
  M: number,
  D: number,
  ids: number[],
  logQ: Float64Array | undefined,
  prefixes: number[],
  theta: number,
  cap: number,
  mask?: Uint8Array,
): number {
  const s = Math.min(Math.exp(theta), cap)
  let loss = 0
  for (const m of prefixes) {
    const norm = (x: Float64Array, r: number) => {
      let n = 0
      for (let k = 0; k < m; k++) n += x[r * D + k] ** 2
      return Math.max(Math.sqrt(n), 1e-12)
    }
    for (let r = 0; r < B; r++) {
      const zs: number[] = []
      let pos = 0
      for (let j = 0; j < M; j++) {
        if (j !== r && (ids[j] === ids[r] || mask?.[r * M + j] === 1)) continue
        let dot = 0
        for (let k = 0; k < m; k++) dot += q[r * D + k] * c[j * D + k]
        if (j === r) pos = zs.length
        zs.push((s * dot) / (norm(q, r) * norm(c, j)) - (logQ ? logQ[j] : 0))
      }
      const max = Math.max(...zs)
      const lse = Math.log(zs.reduce((a, v) => a + Math.exp(v - max), 0)) + max
      loss += (lse - zs[pos]) / B
    }
  }
  return loss
}

t.test('sampled softmax: loss and gradients against a float64 reference', async (t) => {
  const rng = new Random(11)
  const cases = [
    { B: 4, M: 9, D: 5, prefixes: undefined, logQ: false, dup: false },
    { B: 5, M: 12, D: 8, prefixes: [2, 4, 8], logQ: true, dup: true },
    { B: 1, M: 1, D: 3, prefixes: undefined, logQ: false, dup: false },
    { B: 6, M: 6, D: 7, prefixes: [3, 7], logQ: true, dup: true },
    { B: 5, M: 11, D: 6, prefixes: [6], logQ: true, dup: false, masked: true },
  ]
  for (const cs of cases) {
    const { B, M, D } = cs
    const q = Float32Array.from({ length: B * D }, () => rng.next() * 2 - 1)
    const c = Float32Array.from({ length: M * D }, () => rng.next() * 2 - 1)
    const ids = Array.from({ length: M }, (_, j) => j)
    if (cs.dup) {
      ids[1] = ids[0] // two queries with one positive entity
      ids[M - 1] = ids[2] // a random negative that is query 2's positive
    }
    const logQ = cs.logQ ? Float32Array.from({ length: M }, () => Math.log(0.01 + rng.next())) : undefined
    // A pair mask: some candidates are known positives of some queries (never a query's own).
    const mask =
      'masked' in cs
        ? Uint8Array.from({ length: B * M }, (_, i) => (i % M !== Math.floor(i / M) && i % 3 === 0 ? 1 : 0))
        : undefined
    const loss = new SampledSoftmaxLoss(D, { prefixes: cs.prefixes, initialTemperature: 0.5 })
    const prefixes = cs.prefixes ?? [D]
    const theta = loss.logScale.data[0]
    const ref = (qq: Float64Array, cc: Float64Array, th = theta) =>
      reference(qq, cc, B, M, D, ids, logQ ? Float64Array.from(logQ) : undefined, prefixes, th, 100, mask)
    const q64 = Float64Array.from(q)
    const c64 = Float64Array.from(c)
    const out = loss.step(q, c, B, M, ids, logQ, mask)
    const want = ref(q64, c64)
    const name = `B ${B} M ${M} D ${D} prefixes ${prefixes}`
    t.ok(Math.abs(out.loss - want) < 1e-5 * Math.max(1, Math.abs(want)), `${name}: loss ${out.loss} vs ${want}`)
    const h = 1e-6
    const check = (what: string, x: Float64Array, analytic: Float32Array, f: () => number) => {
      let worst = 0
      for (let i = 0; i < x.length; i++) {
        const keep = x[i]
        x[i] = keep + h
        const lp = f()
        x[i] = keep - h
        const lm = f()
        x[i] = keep
        const num = (lp - lm) / (2 * h)
        worst = Math.max(worst, Math.abs(num - analytic[i]) / (1e-3 + Math.abs(num)))
      }
      t.ok(worst < 2e-3, `${name}: d${what} relative error ${worst.toExponential(2)}`)
    }
    check('q', q64, out.dq, () => ref(q64, c64))
    check('c', c64, out.dc, () => ref(q64, c64))
    const th = Float64Array.of(theta)
    check('theta', th, loss.logScale.grad, () => ref(q64, c64, th[0]))
  }
})

t.test('sampled softmax: the capped scale stops its gradient; logQ helper; bad input', async (t) => {
  const loss = new SampledSoftmaxLoss(4, { initialTemperature: 0.001, maxScale: 100 })
  t.equal(loss.scale, 100, 'capped at maxScale')
  const q = Float32Array.from({ length: 8 }, (_, i) => Math.sin(i + 1))
  const c = Float32Array.from({ length: 12 }, (_, i) => Math.cos(i + 1))
  loss.step(q, c, 2, 3, [0, 1, 2])
  t.equal(loss.logScale.grad[0], 0, 'no gradient into θ while capped')
  const fixed = new SampledSoftmaxLoss(4, { learnTemperature: false })
  t.same(fixed.parameters(), [], 'a fixed temperature is not a parameter')
  t.ok(Math.abs(fixed.scale - 1 / 0.07) < 1e-4, 'initial scale 1/0.07')
  const lq = expectedDrawsLogQ([0.5, 0], 4, 10, 100)
  t.ok(Math.abs(lq[0] - Math.log(2 + 0.1)) < 1e-6 && Math.abs(lq[1] - Math.log(0.1)) < 1e-6, 'log(B p + R/N)')

  throwsCode(t, () => new SampledSoftmaxLoss(0), ErrorCodes.INVALID_ARGUMENT, 'dim 0')
  throwsCode(
    t,
    () => new SampledSoftmaxLoss(4, { prefixes: [4, 2] }),
    ErrorCodes.INVALID_ARGUMENT,
    'decreasing prefixes',
  )
  throwsCode(t, () => new SampledSoftmaxLoss(4, { prefixes: [5] }), ErrorCodes.INVALID_ARGUMENT, 'prefix > dim')
  throwsCode(
    t,
    () => new SampledSoftmaxLoss(4, { initialTemperature: 0 }),
    ErrorCodes.INVALID_ARGUMENT,
    'temperature 0',
  )
  throwsCode(t, () => loss.step(q, c, 3, 3, [0, 1, 2]), ErrorCodes.DIM_MISMATCH, 'q too short for the batch')
  throwsCode(t, () => loss.step(q, c, 2, 1, [0]), ErrorCodes.INVALID_ARGUMENT, 'fewer candidates than queries')
  throwsCode(t, () => loss.step(q, c, 2, 3, [0, 1]), ErrorCodes.DIM_MISMATCH, 'ids too short')
  throwsCode(t, () => loss.step(q, c, 2, 3, [0, 1, 2], new Float32Array(2)), ErrorCodes.DIM_MISMATCH, 'logQ too short')
  throwsCode(
    t,
    () => loss.step(q, c, 2, 3, [0, 1, 2], undefined, new Uint8Array(5)),
    ErrorCodes.DIM_MISMATCH,
    'mask too short',
  )
  throwsCode(
    t,
    () => loss.step(Float64Array.from(q) as unknown as Float32Array, c, 2, 3, [0, 1, 2]),
    ErrorCodes.INVALID_TYPE,
    'Float64Array',
  )
  const nan = q.slice()
  nan[3] = Number.NaN
  throwsCode(t, () => loss.step(nan, c, 2, 3, [0, 1, 2]), ErrorCodes.NON_FINITE, 'NaN in q')
})
