// Mining batch after batch: miners reuse their distance matrix without changing any result, the
// triplets a call returned stay valid after the next call, the distance matrix is exactly
// symmetric, and a repeated call does not page-fault a fresh B x B matrix in (a fault count, not a
// timing).
import t from 'tap'

import {
  BatchAllMiner,
  BatchHardMiner,
  DistanceWeightedMiner,
  pairwiseDistances,
  SemiHardMiner,
  TripletMarginMiner,
  type TripletMiner,
} from '../lib/mining/index.js'
import { mulberry32, randomMatrix } from './fixtures/random.js'

const dim = 16

function batch(b: number, seed: number): { e: Float32Array; l: Int32Array } {
  const e = randomMatrix(mulberry32(seed), b, dim)
  const l = new Int32Array(b).map((_, i) => Math.floor(i / 4))
  return { e, l }
}

const makers: [string, () => TripletMiner][] = [
  ['batch-hard', () => new BatchHardMiner()],
  ['semi-hard', () => new SemiHardMiner({ metric: 'cosine' })],
  ['batch-all', () => new BatchAllMiner({ onlyViolating: true, maxTriplets: 5000 })],
  ['margin semihard', () => new TripletMarginMiner({ type: 'semihard', margin: 0.5 })],
  ['distance-weighted', () => new DistanceWeightedMiner({ seed: 3 })],
]

t.test('a reused miner returns what fresh miners return, across batch sizes', async (t) => {
  for (const [name, make] of makers) {
    const reused = make()
    const sizes = [300, 40, 300, 129]
    const kept: Int32Array[] = []
    const copies: Int32Array[] = []
    for (let k = 0; k < sizes.length; k++) {
      const { e, l } = batch(sizes[k], 10 + k)
      const got = reused.mine(e, l, dim).data
      // A fresh miner of the same kind, advanced to the same call (distance-weighted seeds by call).
      const fresh = make()
      for (let j = 0; j < k; j++) {
        const prev = batch(sizes[j], 10 + j)
        fresh.mine(prev.e, prev.l, dim)
      }
      t.same(got, fresh.mine(e, l, dim).data, `${name}: call ${k} (B = ${sizes[k]})`)
      kept.push(got)
      copies.push(got.slice())
    }
    for (let k = 0; k < kept.length; k++) t.same(kept[k], copies[k], `${name}: call ${k}'s triplets still intact`)
  }
})

t.test('pairwise distances are exactly symmetric with a zero diagonal', async (t) => {
  for (const b of [1, 17, 255, 256, 257, 600]) {
    const { e } = batch(b, b)
    for (const metric of ['sqeuclidean', 'euclidean', 'cosine', 'dot'] as const) {
      const d = pairwiseDistances(e, { dim, metric }).data
      let asym = 0,
        diag = 0
      for (let i = 0; i < b; i++) {
        if (metric !== 'dot' && metric !== 'cosine' && d[i * b + i] !== 0) diag++
        for (let j = 0; j < i; j++) if (d[i * b + j] !== d[j * b + i]) asym++
      }
      t.equal(asym, 0, `B = ${b} ${metric}: symmetric`)
      t.equal(diag, 0, `B = ${b} ${metric}: zero diagonal`)
    }
  }
})

t.test('a miner called again does not fault a fresh distance matrix in', async (t) => {
  const b = 2048 // a 16 MB matrix: 4096 pages when allocated per call
  const { e, l } = batch(b, 7)
  const miner = new BatchHardMiner()
  miner.mine(e, l, dim)
  miner.mine(e, l, dim)
  const f0 = process.resourceUsage().minorPageFault
  for (let i = 0; i < 4; i++) miner.mine(e, l, dim)
  const perCall = (process.resourceUsage().minorPageFault - f0) / 4
  t.ok(perCall < 512, `${perCall} minor page faults per call (a fresh matrix would be about 4096)`)
})
