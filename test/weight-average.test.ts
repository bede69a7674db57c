// lib/nn/average.ts: the weights' moving average against its closed form (bias-corrected, sampled
// every k steps), swap in place and back, and bad input -> stable codes.
import t from 'tap'

import { ErrorCodes } from '../lib/errors.js'
import { Random, WeightAverage } from '../lib/nn/index.js'
import { throwsCode } from './fixtures/assert.js'

/** The closed form: Σ decay^(T−t) (1 − decay) w_t / (1 − decay^T) over the sampled steps. */
function expected(history: Float32Array[], decay: number, every: number): Float64Array {
  const sampled = history.filter((_, i) => i % every === 0)
  const d = decay ** every
  const out = new Float64Array(history[0].length)
  let norm = 0
  sampled.forEach((w, i) => {
    const c = d ** (sampled.length - 1 - i) * (1 - d)
    norm += c
    for (let k = 0; k < w.length; k++) out[k] += c * w[k]
  })
  return out.map((x) => x / norm)
}

for (const [decay, every, steps] of [
  [0.9, 1, 7],
  [0.99, 1, 50],
  [0.95, 4, 13],
  [0.5, 3, 3],
  [0, 2, 6],
] as const) {
  t.test(`decay ${decay}, every ${every}, ${steps} steps: the bias-corrected average`, async (t) => {
    const rng = new Random(steps)
    const a = Float32Array.from({ length: 37 }, () => rng.next() - 0.5)
    const b = Float32Array.from({ length: 5 }, () => rng.next() * 10)
    const avg = new WeightAverage([a, b], { decay, every })
    const hist: [Float32Array[], Float32Array[]] = [[], []]
    for (let s = 0; s < steps; s++) {
      // An "optimizer step" in place, then the update.
      for (const w of [a, b]) for (let k = 0; k < w.length; k++) w[k] += rng.next() - 0.5
      hist[0].push(a.slice())
      hist[1].push(b.slice())
      avg.update()
    }
    const live = [a.slice(), b.slice()]
    avg.swap()
    t.ok(avg.swapped)
    ;[a, b].forEach((w, i) => {
      const want = expected(hist[i], decay, every)
      const worst = Math.max(...Array.from(w, (x, k) => Math.abs(x - want[k]) / Math.max(1, Math.abs(want[k]))))
      t.ok(worst < 1e-5, `weights ${i}: largest relative difference ${worst}`)
      t.ok(
        w.some((x, k) => x !== live[i][k]),
        'the average is not the last weights',
      )
    })
    avg.swap()
    t.notOk(avg.swapped)
    t.same(Array.from(a), Array.from(live[0]), 'swapped back: the trained weights exactly')
    t.same(Array.from(b), Array.from(live[1]))
    // Training goes on from the weights; the average keeps its history.
    for (let k = 0; k < a.length; k++) a[k] += 1
    hist[0].push(a.slice())
    hist[1].push(b.slice())
    avg.update()
    avg.swap()
    const want = expected(hist[0], decay, every)
    const worst = Math.max(...Array.from(a, (x, k) => Math.abs(x - want[k]) / Math.max(1, Math.abs(want[k]))))
    t.ok(worst < 1e-5, `after one more step: largest relative difference ${worst}`)
  })
}

t.test('before any update the average is the weights; decay 0 is the last sampled step', async (t) => {
  const w = Float32Array.of(1, 2, 3)
  const avg = new WeightAverage([w], { decay: 0.9, every: 4 })
  avg.swap()
  t.same(Array.from(w), [1, 2, 3])
  avg.swap()
  const last = new WeightAverage([w], { decay: 0 })
  w.set([4, 5, 6])
  last.update()
  w.set([7, 8, 9])
  last.swap()
  t.same(Array.from(w), [4, 5, 6])
  last.swap()
  // A weight that never changes keeps its exact value in the average (no rounding drift).
  const still = Float32Array.of(0.1, -3.7, 1e-7)
  const moving = Float32Array.of(0)
  const avg2 = new WeightAverage([still, moving], { decay: 0.97, every: 2 })
  for (let s = 0; s < 50; s++) {
    moving[0] += 1
    avg2.update()
  }
  avg2.swap()
  t.same(Array.from(still), Array.from(Float32Array.of(0.1, -3.7, 1e-7)), 'unchanged weights: exactly')
  t.ok(moving[0] > 1 && moving[0] < 50, `the moving one is averaged: ${moving[0]}`)
})

t.test('bad input: coded errors', async (t) => {
  const w = [new Float32Array(3)]
  throwsCode(t, () => new WeightAverage(w, { decay: Number.NaN }), ErrorCodes.NON_FINITE, 'decay NaN')
  for (const decay of [1, -0.1, 2, undefined]) {
    throwsCode(
      t,
      () => new WeightAverage(w, { decay } as { decay: number }),
      ErrorCodes.INVALID_ARGUMENT,
      `decay ${decay}`,
    )
  }
  for (const every of [0, 1.5, -1]) {
    throwsCode(t, () => new WeightAverage(w, { decay: 0.9, every }), ErrorCodes.INVALID_ARGUMENT, `every ${every}`)
  }
  throwsCode(
    t,
    () => new WeightAverage([new Float64Array(3)] as unknown as Float32Array[], { decay: 0.9 }),
    ErrorCodes.INVALID_TYPE,
    'Float64Array',
  )
  const avg = new WeightAverage(w, { decay: 0.9 })
  avg.swap()
  throwsCode(t, () => avg.update(), ErrorCodes.INVALID_ARGUMENT, 'update while the averages are in')
})
