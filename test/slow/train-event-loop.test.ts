// trainRankingInWorker trains off the event loop: a 5 ms timer keeps firing while the worker trains
// on the shipped subset, while the same run through trainRanking on this thread (the contrast that
// shows the test can tell) lets it fire not once.
import { join } from 'node:path'

import t from 'tap'

import {
  Adam,
  loadFashionMnist,
  rankingTower,
  SemiHardMiner,
  trainRanking,
  trainRankingInWorker,
  type TowerSpec,
} from '../../lib/index.js'

const INTERVAL_MS = 5
// Training (not counting the worker's start-up) must take this long, or the tick count would prove nothing.
const MIN_TRAIN_MS = 150

const train = await loadFashionMnist(join(import.meta.dirname, '..', '..', 'data', 'fashion-mnist-small'), 'train')
const spec: TowerSpec = { inputDim: 784, hidden: [128], embeddingDim: 16 }
const budget = { batchSize: 200, seed: 4 }

/** Ticks of a setInterval(INTERVAL_MS) from `begin()` until `fn` settles, and the ms between. */
async function countTicks<T>(
  fn: (begin: () => void) => Promise<T> | T,
): Promise<{ value: T; ticks: number; ms: number }> {
  let ticks = 0
  let t0 = performance.now()
  const timer = setInterval(() => ticks++, INTERVAL_MS)
  // Let the interval arm before starting, so a sync call's ticks are not lost to timer start-up.
  await new Promise((r) => setTimeout(r, 1))
  const begin = () => {
    ticks = 0
    t0 = performance.now()
  }
  begin()
  try {
    const value = await fn(begin)
    return { value, ticks, ms: performance.now() - t0 }
  } finally {
    clearInterval(timer)
  }
}

t.test('the event loop stays responsive while a worker trains', async (t) => {
  // Grow the epochs until training clearly outlasts the timer interval. Ticks are counted from the
  // first step the worker reports, so the worker's start-up (module loading) does not count.
  let epochs = 4
  const inWorker = (n: number) =>
    countTicks((begin) => {
      let first = true
      return trainRankingInWorker({
        x: train.images,
        labels: train.labels,
        tower: spec,
        init: 1,
        optimizer: { kind: 'adam', lr: 1e-3 },
        method: 'semi-hard',
        epochs: n,
        ...budget,
        onProgress: () => first && !(first = false) && begin(),
      })
    })
  let run = await inWorker(epochs)
  while (run.ms < MIN_TRAIN_MS && epochs < 32) {
    epochs *= 2
    run = await inWorker(epochs)
  }
  t.ok(
    run.ms >= MIN_TRAIN_MS,
    `training in the worker took ${run.ms.toFixed(0)} ms for ${epochs} epochs (>= ${MIN_TRAIN_MS} ms)`,
  )
  t.equal(run.value.epochs.length, epochs, 'and ran every epoch')
  const want = Math.max(5, Math.floor(run.ms / INTERVAL_MS / 8))
  t.ok(run.ticks >= want, `a ${INTERVAL_MS} ms timer fired ${run.ticks} times while the worker trained (>= ${want})`)

  // Contrast: the same run on this thread lets no timer fire.
  const sync = await countTicks(() => {
    const model = rankingTower(spec, 1)
    return trainRanking({
      x: train.images,
      labels: train.labels,
      inputDim: spec.inputDim,
      embeddingDim: spec.embeddingDim,
      model,
      optimizer: new Adam(model.parameters(), { lr: 1e-3 }),
      source: { kind: 'miner', miner: new SemiHardMiner({ metric: 'sqeuclidean' }) },
      epochs,
      ...budget,
    })
  })
  t.ok(sync.ms >= INTERVAL_MS * 3, `trainRanking took ${sync.ms.toFixed(0)} ms, long enough for 3 ticks`)
  t.equal(sync.ticks, 0, 'no timer fired during trainRanking (it blocks the loop)')
  t.same(
    sync.value.map((e) => e.loss),
    run.value.epochs.map((e) => e.loss),
    'and both runs agree',
  )
})
