// Deep Ranking's online triplet sampler: with fixed seeds, the reservoir's inclusion probabilities and
// the query / positive / negative draw frequencies match the intended distributions. Tolerance:
// each empirical frequency within 4.5 binomial standard errors, sqrt(p (1 - p) / N), of its target
// (a false alarm about once in 150,000 comparisons).
import t from 'tap'

import { TripletSampler } from '../lib/mining/sampler.js'

const within = (t: Tap.Test, got: number, p: number, n: number, what: string) => {
  const se = Math.sqrt((p * (1 - p)) / n)
  t.ok(
    Math.abs(got - p) <= 4.5 * se + 1e-12,
    `${what}: ${got.toFixed(4)} vs ${p.toFixed(4)} (±${(4.5 * se).toFixed(4)})`,
  )
}

// Exact inclusion probabilities of weighted sampling without replacement (successive draws ∝ w),
// which is what A-Res keeps: enumerate every ordered draw of m items.
function inclusion(w: number[], m: number): number[] {
  const p = new Array(w.length).fill(0)
  const rec = (chosen: number[], prob: number) => {
    if (chosen.length === m) {
      for (const i of chosen) p[i] += prob
      return
    }
    const rest = w.reduce((s, x, i) => (chosen.includes(i) ? s : s + x), 0)
    w.forEach((x, i) => {
      if (!chosen.includes(i)) rec([...chosen, i], (prob * x) / rest)
    })
  }
  rec([], 1)
  return p
}

t.test('reservoir keeps a weighted sample without replacement (inclusion probabilities)', async (t) => {
  const weights = [1, 2, 3, 4, 10]
  const labels = [0, 0, 0, 0, 0, 1, 1]
  const exact = inclusion(weights, 2)
  const trials = 20000
  const hits = new Array(5).fill(0)
  let wrongSize = 0
  for (let s = 0; s < trials; s++) {
    const sampler = new TripletSampler({
      labels,
      bufferSize: 2,
      seed: s + 1,
      totalRelevance: (i) => (i < 5 ? weights[i] : 1),
    })
    sampler.offerAll()
    const buf = sampler.buffer(0)
    if (buf.length !== 2) wrongSize++
    for (const i of buf) hits[i]++
  }
  t.equal(wrongSize, 0, 'the buffer always holds exactly bufferSize items')
  for (let i = 0; i < 5; i++) within(t, hits[i] / trials, exact[i], trials, `item ${i} (weight ${weights[i]})`)
  t.ok(exact[4] > 0.75 && exact[0] < 0.15, 'the test distinguishes weights (exact probabilities are far apart)')
})

t.test('query ∝ r_i, positive ∝ min(T_p, r_qp), negatives out of class at the configured rate', async (t) => {
  // Two categories of 4; everything fits in the buffers, so draws see all items.
  const labels = [0, 0, 0, 0, 1, 1, 1, 1]
  const pair = [0, 0.5, 1, 5] // relevance of item 0 to items 0..3 (symmetric within class 0)
  const rel = (i: number, j: number): number => {
    if (labels[i] !== labels[j] || i === j) return 0
    if (i === 0) return pair[j]
    if (j === 0) return pair[i]
    return 1
  }
  const sampler = new TripletSampler({
    labels,
    bufferSize: 10,
    relevance: rel,
    positiveThreshold: 2,
    relevanceMargin: -Infinity,
    outOfClassFraction: 0.3,
    seed: 7,
  })
  sampler.offerAll()
  const totals = labels.map((_, i) => labels.reduce((s, _l, j) => s + rel(i, j), 0))
  const sumTotals = totals.reduce((a, b) => a + b, 0)
  const N = 120000
  const tr = sampler.sample(N)
  const qCount = new Array(8).fill(0)
  const posOf0 = new Array(8).fill(0)
  let q0 = 0,
    outOfClass = 0,
    badPos = 0,
    badNeg = 0
  for (let k = 0; k < N; k++) {
    const q = tr[3 * k],
      p = tr[3 * k + 1],
      n = tr[3 * k + 2]
    if (labels[p] !== labels[q] || p === q) badPos++
    qCount[q]++
    if (q === 0) {
      q0++
      posOf0[p]++
    }
    if (labels[n] !== labels[q]) outOfClass++
    else if (n === q || n === p) badNeg++
  }
  t.equal(badPos, 0, 'every positive comes from the query buffer and differs from the query')
  t.equal(badNeg, 0, 'no in-class negative equals the query or the positive')
  for (let i = 0; i < 8; i++) within(t, qCount[i] / N, totals[i] / sumTotals, N, `query ${i}`)
  const pw = pair.map((r, j) => (j === 0 ? 0 : Math.min(2, r))) // min(T_p = 2, r_0j); j = 0 is the query
  const pwSum = pw.reduce((a, b) => a + b, 0)
  for (let j = 1; j < 4; j++) within(t, posOf0[j] / q0, pw[j] / pwSum, q0, `positive ${j} of query 0`)
  within(t, outOfClass / N, 0.3, N, 'out-of-class negatives')
})

t.test('T_r keeps only triplets with r(q,p) - r(q,n) >= T_r', async (t) => {
  const labels = Array.from({ length: 40 }, (_, i) => i % 4)
  const sampler = new TripletSampler({ labels, bufferSize: 6, outOfClassFraction: 0.5, seed: 3 })
  sampler.offerAll()
  const tr = sampler.sample(5000)
  let bad = 0
  for (let k = 0; k < 5000; k++) {
    const [q, p, n] = [tr[3 * k], tr[3 * k + 1], tr[3 * k + 2]]
    if (labels[q] !== labels[p] || labels[q] === labels[n]) bad++
  }
  t.equal(bad, 0, 'with label relevance, every kept triplet has an in-class positive and an out-of-class negative')
  for (let c = 0; c < 4; c++) t.equal(sampler.buffer(c).length, 6, `buffer ${c} full`)
})

t.test('seeded runs repeat exactly', async (t) => {
  const labels = Array.from({ length: 100 }, (_, i) => i % 5)
  const run = (seed: number) => {
    const s = new TripletSampler({ labels, bufferSize: 8, seed })
    s.offerAll()
    return Array.from(s.sample(200))
  }
  t.same(run(11), run(11))
  t.not(run(11).join(), run(12).join())
})

t.test('bad input', async (t) => {
  t.throws(
    () => new TripletSampler({ labels: [0, 0, 0], bufferSize: 4 }),
    { code: 'ERR_SIMSAGE_INVALID_ARGUMENT' },
    'one category',
  )
  t.throws(
    () => new TripletSampler({ labels: [0, 1], bufferSize: 1 }),
    { code: 'ERR_SIMSAGE_INVALID_ARGUMENT' },
    'buffer of 1',
  )
  t.throws(() => new TripletSampler({ labels: [0, 1], bufferSize: 2, relevance: { matrix: new Float32Array(3) } }), {
    code: 'ERR_SIMSAGE_DIM_MISMATCH',
  })
  const s = new TripletSampler({ labels: [0, 0, 1, 1], bufferSize: 2, totalRelevance: () => NaN })
  t.throws(() => s.offer(0), { code: 'ERR_SIMSAGE_NON_FINITE' })
  t.throws(() => s.offer(9), { code: 'ERR_SIMSAGE_INVALID_ID' })
  const empty = new TripletSampler({ labels: [0, 0, 1, 1], bufferSize: 2 })
  t.throws(() => empty.sample(1), { code: 'ERR_SIMSAGE_INVALID_ARGUMENT' }, 'nothing offered yet')
  const noNeg = new TripletSampler({
    labels: [0, 0, 0, 1],
    bufferSize: 4,
    outOfClassFraction: 0,
    maxAttemptsPerTriplet: 50,
  })
  noNeg.offerAll()
  t.throws(
    () => noNeg.sample(3),
    { code: 'ERR_SIMSAGE_INVALID_ARGUMENT' },
    'no triplet can satisfy T_r: a clear error, not a hang',
  )
})
