// Triplet mining from TypeScript: distances and miners against plain-TS definitions on small
// batches, the loss and its gradient against a JS forward pass and finite differences, and the
// stable error codes of bad input.
import t from 'tap'

import { ErrorCodes } from '../lib/errors.js'
import {
  BatchAllMiner,
  BatchHardMiner,
  DistanceWeightedMiner,
  pairwiseDistances,
  SemiHardMiner,
  TripletMarginMiner,
  tripletLoss,
  Triplets,
  type DistanceMetric,
  type TripletType,
} from '../lib/mining/index.js'
import { throwsCode } from './fixtures/assert.js'
import { mulberry32, randomInt, randomMatrix, type Rng } from './fixtures/random.js'

function labelsFor(rng: Rng, b: number, classes: number): Int32Array {
  const l = new Int32Array(b)
  for (let i = 0; i < b; i++) l[i] = i < classes ? i : randomInt(rng, classes)
  return l
}

function refDistance(e: Float32Array, dim: number, i: number, j: number, metric: DistanceMetric): number {
  let sq = 0,
    dot = 0,
    ni = 0,
    nj = 0
  for (let d = 0; d < dim; d++) {
    const x = e[i * dim + d],
      y = e[j * dim + d]
    sq += (x - y) * (x - y)
    dot += x * y
    ni += x * x
    nj += y * y
  }
  if (metric === 'sqeuclidean') return sq
  if (metric === 'euclidean') return Math.sqrt(sq)
  if (metric === 'dot') return -dot
  if (i === j) return ni > 0 ? 0 : 1
  return ni > 0 && nj > 0 ? Math.min(2, Math.max(0, 1 - dot / Math.sqrt(ni * nj))) : 1
}

type TripletList = number[]
const f32 = Math.fround

function refBatchHard(d: Float32Array, l: Int32Array, b: number): TripletList {
  const out: TripletList = []
  for (let a = 0; a < b; a++) {
    let p = -1,
      n = -1
    for (let j = 0; j < b; j++) {
      if (l[j] === l[a] && j !== a && (p < 0 || d[a * b + j] > d[a * b + p])) p = j
      if (l[j] !== l[a] && (n < 0 || d[a * b + j] < d[a * b + n])) n = j
    }
    if (p >= 0 && n >= 0) out.push(a, p, n)
  }
  return out
}

function refSemiHard(d: Float32Array, l: Int32Array, b: number): TripletList {
  const out: TripletList = []
  for (let a = 0; a < b; a++)
    for (let p = 0; p < b; p++) {
      if (p === a || l[p] !== l[a]) continue
      let n = -1
      for (let j = 0; j < b; j++)
        if (l[j] !== l[a] && d[a * b + j] > d[a * b + p] && (n < 0 || d[a * b + j] < d[a * b + n])) n = j
      if (n >= 0) out.push(a, p, n)
    }
  return out
}

function refFilter(d: Float32Array, l: Int32Array, b: number, keep: (dp: number, dn: number) => boolean): TripletList {
  const out: TripletList = []
  for (let a = 0; a < b; a++)
    for (let p = 0; p < b; p++) {
      if (p === a || l[p] !== l[a]) continue
      for (let n = 0; n < b; n++) if (l[n] !== l[a] && keep(d[a * b + p], d[a * b + n])) out.push(a, p, n)
    }
  return out
}

t.test('pairwiseDistances matches the definitions', async (t) => {
  const rng = mulberry32(1)
  for (const [b, dim] of [
    [1, 3],
    [5, 7],
    [17, 33],
  ]) {
    const e = randomMatrix(rng, b, dim)
    for (const metric of ['sqeuclidean', 'euclidean', 'cosine', 'dot'] as DistanceMetric[]) {
      const m = pairwiseDistances(e, { dim, metric })
      t.equal(m.size, b)
      let worst = 0
      for (let i = 0; i < b; i++)
        for (let j = 0; j < b; j++) worst = Math.max(worst, Math.abs(m.get(i, j) - refDistance(e, dim, i, j, metric)))
      t.ok(worst < 1e-4, `${metric} B=${b} D=${dim}: max error ${worst}`)
    }
  }
})

t.test('miners match plain-TS definitions', async (t) => {
  const rng = mulberry32(2)
  for (const [b, dim, classes] of [
    [2, 3, 2],
    [9, 4, 3],
    [24, 8, 4],
    [40, 5, 2],
  ]) {
    const e = randomMatrix(rng, b, dim)
    const l = labelsFor(rng, b, classes)
    const d = pairwiseDistances(e, { dim }).data
    const what = `B=${b}`
    t.same(Array.from(new BatchHardMiner().mine(e, l, dim).data), refBatchHard(d, l, b), `batch-hard ${what}`)
    t.same(Array.from(new SemiHardMiner().mine(e, Array.from(l), dim).data), refSemiHard(d, l, b), `semi-hard ${what}`)
    const margin = 0.3
    const keep: Record<TripletType, (dp: number, dn: number) => boolean> = {
      all: (dp, dn) => dn < f32(dp + margin),
      hard: (dp, dn) => dn < dp,
      semihard: (dp, dn) => dp <= dn && dn < f32(dp + margin),
      easy: (dp, dn) => dn >= f32(dp + margin),
    }
    let parts = 0
    for (const type of ['all', 'hard', 'semihard', 'easy'] as TripletType[]) {
      const got = new TripletMarginMiner({ margin, type }).mine(e, l, dim)
      t.same(Array.from(got.data), refFilter(d, l, b, keep[type]), `TripletMarginMiner ${type} ${what}`)
      if (type !== 'all') parts += got.length
    }
    const all = refFilter(d, l, b, () => true)
    t.equal(parts, all.length / 3, `easy + semihard + hard = all valid ${what}`)
    const ba = new BatchAllMiner()
    t.same(Array.from(ba.mine(e, l, dim).data), all, `batch-all ${what}`)
    t.equal(ba.count(e, l, dim), all.length / 3, `batch-all count ${what}`)
    const capped = new BatchAllMiner({ maxTriplets: 3 }).mine(e, l, dim)
    t.same(Array.from(capped.data), all.slice(0, 9), `batch-all cap keeps the first triplets ${what}`)
    t.equal(capped.length, Math.min(3, all.length / 3), `batch-all cap: length ${what}`)
    t.equal(capped.total, all.length / 3, `batch-all cap: total counts the uncapped triplets ${what}`)
    t.same(
      Array.from(new BatchAllMiner({ onlyViolating: true, margin }).mine(e, l, dim).data),
      refFilter(d, l, b, keep.all),
      `batch-all onlyViolating ${what}`,
    )
  }
})

t.test('distance-weighted miner: valid, one negative per positive pair, seeded', async (t) => {
  const rng = mulberry32(3)
  const b = 30,
    dim = 6
  const e = randomMatrix(rng, b, dim)
  const l = labelsFor(rng, b, 4)
  let pairs = 0
  for (let a = 0; a < b; a++) for (let p = 0; p < b; p++) if (p !== a && l[p] === l[a]) pairs++
  const m1 = new DistanceWeightedMiner({ seed: 9 })
  const first = m1.mine(e, l, dim)
  t.equal(first.length, pairs)
  t.equal(first.data.length, 3 * pairs)
  for (const { anchor: a, positive: p, negative: n } of first) {
    if (!(a !== p && l[a] === l[p] && l[n] !== l[a])) t.fail(`invalid triplet ${a},${p},${n}`)
  }
  t.same(new DistanceWeightedMiner({ seed: 9 }).mine(e, l, dim).data, first.data, 'same seed, same triplets')
  t.notSame(m1.mine(e, l, dim).data, first.data, 'the next call draws afresh (seed + 1)')
})

t.test('tripletLoss: forward and finite-difference gradient', async (t) => {
  const rng = mulberry32(4)
  const b = 8,
    dim = 5
  const e = randomMatrix(rng, b, dim)
  const l = labelsFor(rng, b, 3)
  const trip = new BatchAllMiner().mine(e, l, dim)
  for (const distance of ['squared', 'euclidean'] as const)
    for (const softMargin of [false, true]) {
      const margin = 0.5
      const r = tripletLoss(e, trip, { dim, margin, distance, softMargin })
      let sum = 0,
        active = 0
      for (let i = 0; i < trip.length; i++) {
        const { anchor, positive, negative } = trip.get(i)
        let dp = refDistance(e, dim, anchor, positive, 'sqeuclidean')
        let dn = refDistance(e, dim, anchor, negative, 'sqeuclidean')
        if (distance === 'euclidean') (dp = Math.sqrt(dp)), (dn = Math.sqrt(dn))
        const li = softMargin ? Math.log1p(Math.exp(dp - dn)) : Math.max(0, margin + dp - dn)
        sum += li
        if (li > 0) active++
      }
      const what = `${distance}${softMargin ? ' soft' : ''}`
      t.ok(Math.abs(r.loss - sum / trip.length) < 1e-6, `${what}: loss`)
      t.equal(
        tripletLoss(e, trip.data, { dim, margin, distance, softMargin }).loss,
        r.loss,
        `${what}: the flat array gives the same loss`,
      )
      t.equal(r.active, active, `${what}: active`)
      let worst = 0
      for (let i = 0; i < b * dim; i++) {
        const x = e[i]
        const ep = new Float32Array(e),
          em = new Float32Array(e)
        ep[i] = x + 1e-2
        em[i] = x - 1e-2
        const h = ep[i] - em[i] // the step float32 actually took
        const num =
          (tripletLoss(ep, trip, { dim, margin, distance, softMargin }).loss -
            tripletLoss(em, trip, { dim, margin, distance, softMargin }).loss) /
          h
        worst = Math.max(worst, Math.abs(num - r.grad[i]) / (1e-3 + Math.abs(num)))
      }
      t.ok(worst < 2e-2, `${what}: gradient vs central differences, worst relative error ${worst}`)
    }
  const none = tripletLoss(e, new Int32Array(0), { dim })
  t.equal(none.loss, 0)
  t.equal(none.active, 0)
  t.equal(tripletLoss(e, new Triplets(new Int32Array(0)), { dim }).loss, 0, 'no triplets: loss 0')
})

t.test('Triplets: flat (a, p, n) rows with an accessor', async (t) => {
  const tr = new Triplets(Int32Array.from([0, 1, 2, 3, 4, 5]), 7)
  t.equal(tr.length, 2)
  t.equal(tr.total, 7)
  t.same(tr.get(1), { anchor: 3, positive: 4, negative: 5 })
  t.same(
    [...tr],
    [
      { anchor: 0, positive: 1, negative: 2 },
      { anchor: 3, positive: 4, negative: 5 },
    ],
    'iterates in order',
  )
  t.equal(new Triplets(new Int32Array(3)).total, 1, 'total defaults to length')
  throwsCode(t, () => tr.get(2), ErrorCodes.INVALID_ARGUMENT, 'get past the end')
  throwsCode(t, () => tr.get(-1), ErrorCodes.INVALID_ARGUMENT, 'negative index')
  throwsCode(t, () => new Triplets(new Int32Array(4)), ErrorCodes.DIM_MISMATCH, 'length not a multiple of 3')
  throwsCode(t, () => new Triplets([0, 1, 2] as unknown as Int32Array), ErrorCodes.INVALID_TYPE, 'not an Int32Array')
})

t.test('bad input fails with stable codes', async (t) => {
  const rng = mulberry32(5)
  const dim = 4
  const e = randomMatrix(rng, 6, dim)
  const l = [0, 0, 1, 1, 2, 2]
  const miners = [
    new BatchAllMiner(),
    new BatchHardMiner(),
    new SemiHardMiner(),
    new DistanceWeightedMiner(),
    new TripletMarginMiner(),
  ]
  const nan = new Float32Array(e)
  nan[5] = NaN
  for (const m of miners) {
    const name = m.constructor.name
    throwsCode(t, () => m.mine(e, [0, 1, 1], dim), ErrorCodes.DIM_MISMATCH, `${name}: labels length`)
    throwsCode(t, () => m.mine(e, [1, 1, 1, 1, 1, 1], dim), ErrorCodes.INVALID_ARGUMENT, `${name}: one class`)
    throwsCode(t, () => m.mine(nan, l, dim), ErrorCodes.NON_FINITE, `${name}: NaN`)
    throwsCode(t, () => m.mine(new Float32Array(0), [], dim), ErrorCodes.INVALID_ARGUMENT, `${name}: empty batch`)
  }
  throwsCode(t, () => new TripletMarginMiner({ margin: -1 }), ErrorCodes.INVALID_ARGUMENT, 'negative margin (miner)')
  throwsCode(t, () => new BatchAllMiner({ margin: -0.1 }), ErrorCodes.INVALID_ARGUMENT, 'negative margin (batch-all)')
  throwsCode(
    t,
    () => tripletLoss(e, [0, 1, 2], { dim, margin: -1 }),
    ErrorCodes.INVALID_ARGUMENT,
    'negative margin (loss)',
  )
  throwsCode(t, () => tripletLoss(e, [0, 1, 6], { dim }), ErrorCodes.INVALID_ARGUMENT, 'triplet index out of range')
  throwsCode(t, () => tripletLoss(nan, [0, 1, 2], { dim }), ErrorCodes.NON_FINITE, 'NaN (loss)')
  throwsCode(t, () => tripletLoss(new Float32Array(0), [], { dim }), ErrorCodes.INVALID_ARGUMENT, 'empty batch (loss)')
  throwsCode(t, () => pairwiseDistances(nan, { dim }), ErrorCodes.NON_FINITE, 'NaN (distances)')
  throwsCode(
    t,
    () => pairwiseDistances(e, { dim, metric: 'l1' as DistanceMetric }),
    ErrorCodes.UNKNOWN_METRIC,
    'unknown metric',
  )
  throwsCode(t, () => pairwiseDistances(e, { dim: 5 }), ErrorCodes.DIM_MISMATCH, 'length not a multiple of dim')
  throwsCode(
    t,
    () => new TripletMarginMiner({ type: 'medium' as TripletType }),
    ErrorCodes.INVALID_ARGUMENT,
    'unknown type',
  )
})

t.test('miners and the loss report the backend that ran', async (t) => {
  const { info } = await import('../lib/info.js')
  const active = info().backendActive
  const rng = mulberry32(41)
  const b = 12
  const dim = 5
  const e = randomMatrix(rng, b, dim)
  const l = labelsFor(rng, b, 3)
  const hard = new BatchHardMiner().mine(e, l, dim)
  t.same(hard.ran, { backend: active }, 'batch-hard')
  t.same(new SemiHardMiner().mine(e, l, dim).ran, { backend: active }, 'semi-hard')
  t.same(new BatchAllMiner().mine(e, l, dim).ran, { backend: active }, 'batch-all')
  t.same(new DistanceWeightedMiner().mine(e, l, dim).ran, { backend: 'cpu' }, 'distance-weighted: CPU only')
  t.same(tripletLoss(e, hard, { dim }).ran, { backend: active }, 'loss')
  t.same(pairwiseDistances(e, { dim }).ran, { backend: active }, 'pairwise')
  t.equal(new Triplets(new Int32Array(3)).ran, undefined, 'built by hand: unknown')
})
