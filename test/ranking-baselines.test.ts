// The ranking metrics on hand-computed ranks and the next-item baselines (most popular,
// co-occurrence, transitions) on a hand-made log (split from test/sessions.test.ts).
import { join } from 'node:path'

import t from 'tap'

import {
  cooccurrence,
  ErrorCodes,
  evaluateBaseline,
  loadInteractions,
  mostPopular,
  RankingMetrics,
  rankOf,
  transitionCounts,
} from '../lib/index.js'
import { throwsCode } from './fixtures/assert.js'

const FIX = new URL('./fixtures/sessions/', import.meta.url).pathname

t.test('rankOf and RankingMetrics on hand-computed ranks', async (t) => {
  const s = Float32Array.of(1, 2, 2, 3, 0)
  t.equal(rankOf(s, 1), 1, 'a tie does not count, only strictly higher')
  t.equal(rankOf(s, 2), 1)
  t.equal(rankOf(s, 3), 0)
  t.equal(rankOf(s, 4), 4)
  t.equal(rankOf(Float32Array.of(Number.NaN, 1, 0), 2), 2, 'NaN elsewhere counts as higher')
  throwsCode(t, () => rankOf(Float32Array.of(Number.NaN, 1), 0), ErrorCodes.NON_FINITE, 'NaN true score')
  throwsCode(t, () => rankOf(s, 5), ErrorCodes.INVALID_ARGUMENT, 'true item out of range')
  const m = new RankingMetrics()
  for (const r of [0, 4, 9]) m.add(0, r)
  for (const r of [19, 25]) m.add(7, r)
  const got = m.result()
  const want = {
    recall1: (1 / 3 + 0) / 2,
    recall5: (2 / 3 + 0) / 2,
    recall10: (1 + 0) / 2,
    recall20: (1 + 0.5) / 2,
    mrr: ((1 + 1 / 5 + 1 / 10) / 3 + (1 / 20 + 1 / 26) / 2) / 2,
  }
  for (const k of Object.keys(want) as (keyof typeof want)[]) t.ok(Math.abs(got[k] - want[k]) < 1e-12, `${k} ${got[k]}`)
  t.equal(got.users, 2)
  t.equal(got.actions, 5)
  const m2 = new RankingMetrics()
  t.equal(m2.addScores(3, s, 4), 4)
  m2.merge(m)
  t.equal(m2.result().users, 3)
  t.same(new RankingMetrics().result(), {
    recall1: 0,
    recall5: 0,
    recall10: 0,
    recall20: 0,
    mrr: 0,
    users: 0,
    actions: 0,
  })
  throwsCode(t, () => m.add(0, -1), ErrorCodes.INVALID_ARGUMENT, 'negative rank')
  throwsCode(t, () => m.add(0, 0.5), ErrorCodes.INVALID_ARGUMENT, 'fractional rank')
  throwsCode(t, () => m.addScores(0, new Float64Array(3) as never, 0), ErrorCodes.INVALID_TYPE, 'Float64Array scores')
})

t.test('baselines on a hand-made log', async (t) => {
  const log = await loadInteractions(join(FIX, 'tiny.csv'))
  // Train A: x y z, B: x y, C: x z | w; test D: x y | w z. Items x=0 y=1 z=2 w=3; train pop 3 2 2 1.
  const train = Int32Array.of(0, 1, 2)
  const test = Int32Array.of(3)
  const pop = mostPopular(log, train)
  // D's targets y, w, z: ranks 1 (x), 3 (x y z), 1 (x; y ties).
  const rp = evaluateBaseline(log, test, pop)
  t.same([rp.recall1, rp.recall5, rp.users, rp.actions], [0, 1, 1, 3])
  t.ok(Math.abs(rp.mrr - (1 / 2 + 1 / 4 + 1 / 2) / 3) < 1e-12, `most-popular MRR ${rp.mrr}`)
  // Transitions: x→y 2, y→z 1, x→z 1, z→w 1 (C across sessions). Scores = count + pop/4.
  // After x: y 2.5 → rank 0. After y: z 1.5, x .75, y .5 above w .25 → rank 3. After w (empty row):
  // x .75 above z .5 (y ties) → rank 1.
  const co = cooccurrence(log, train)
  const rc = evaluateBaseline(log, test, co)
  t.ok(Math.abs(rc.recall1 - 1 / 3) < 1e-12, `co-occurrence R@1 ${rc.recall1}`)
  t.ok(Math.abs(rc.mrr - (1 + 1 / 4 + 1 / 2) / 3) < 1e-12, `co-occurrence MRR ${rc.mrr}`)
  const entries = (m: ReturnType<typeof transitionCounts>) => {
    const out: string[] = []
    for (let r = 0; r + 1 < m.rowOffsets.length; r++) {
      for (let e = m.rowOffsets[r]; e < m.rowOffsets[r + 1]; e++)
        out.push(`${log.items[r]}${log.items[m.cols[e]]}${m.counts[e]}`)
    }
    return out
  }
  t.same(entries(co.matrix), ['xy2', 'xz1', 'yz1', 'zw1'])
  t.same(entries(transitionCounts(log, train, false)), ['xy2', 'xz1', 'yz1'], 'within sessions: no z→w')
  // No tie-break: after w (empty row) nothing scores above z → rank 0; after y, z (1) above w → rank 1.
  const bare = evaluateBaseline(log, test, cooccurrence(log, train, { popularityTies: false }))
  t.ok(Math.abs(bare.mrr - (1 + 1 / 2 + 1) / 3) < 1e-12, `no tie-break MRR ${bare.mrr}`)
  // The exact sparse ranks equal rankOf over the dense scores (float32 is exact here).
  const out = new Float32Array(log.numItems)
  for (const scorer of [pop, co, cooccurrence(log, train, { popularityTies: false, acrossSessions: false })]) {
    for (let pos = log.userOffsets[3] + 1; pos < log.userOffsets[4]; pos++) {
      scorer.scores(3, pos, out)
      t.equal(scorer.rank(3, pos, log.item[pos]), rankOf(out, log.item[pos]), `${scorer.name} at ${pos}`)
    }
  }
  throwsCode(t, () => mostPopular(log, Int32Array.of(9)), ErrorCodes.INVALID_ARGUMENT, 'train user out of range')
})
