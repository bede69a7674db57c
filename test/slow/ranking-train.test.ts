// Deep Ranking training on the shipped Fashion-MNIST subset: deterministic training that improves
// on an untrained tower, checkpoints that round-trip, and the Deep Ranking sampler as triplet source.
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

import t from 'tap'

import {
  Adam,
  embed,
  labelTriplets,
  loadFashionMnist,
  loadTower,
  rankingTower,
  saveTower,
  scheduledLr,
  SemiHardMiner,
  similarityPrecision,
  trainRanking,
} from '../../lib/index.js'

const subset = join(import.meta.dirname, '..', '..', 'data', 'fashion-mnist-small')

t.test('training is deterministic, beats the untrained tower, and checkpoints round-trip', async (t) => {
  const train = await loadFashionMnist(subset, 'train')
  const test = await loadFashionMnist(subset, 'test')
  const spec = { inputDim: 784, hidden: [64], embeddingDim: 16 }
  const triplets = labelTriplets(test.labels, 5000, 9)
  const precisionOf = (model: ReturnType<typeof rankingTower>) =>
    similarityPrecision(embed(model, test.images, 784, 16), 16, triplets)
  const run = () => {
    const model = rankingTower(spec, 3)
    const before = precisionOf(model)
    const hist = trainRanking({
      x: train.images,
      labels: train.labels,
      inputDim: 784,
      embeddingDim: 16,
      model,
      optimizer: new Adam(model.parameters(), { lr: 1e-3 }),
      source: { kind: 'miner', miner: new SemiHardMiner() },
      epochs: 3,
      batchSize: 200,
      seed: 5,
    })
    return { model, before, hist }
  }
  const a = run()
  const b = run()
  t.same(
    a.hist.map((h) => h.loss),
    b.hist.map((h) => h.loss),
    'same seed, same losses',
  )
  t.ok(a.hist[2].loss < a.hist[0].loss, `loss falls: ${a.hist.map((h) => h.loss.toFixed(4)).join(' -> ')}`)
  const after = precisionOf(a.model)
  t.ok(after > a.before + 0.05, `similarity precision ${a.before.toFixed(3)} -> ${after.toFixed(3)}`)
  const dir = t.testdir({})
  const path = join(dir, 'tower.safetensors')
  await saveTower(path, a.model, spec, { note: 'test' })
  const loaded = await loadTower(path)
  t.same(loaded.spec, spec)
  t.same(
    Array.from(embed(loaded.model, test.images.subarray(0, 784 * 5), 784, 16)),
    Array.from(embed(a.model, test.images.subarray(0, 784 * 5), 784, 16)),
    'same embeddings after load',
  )
  writeFileSync(path, readFileSync(path).subarray(0, 100))
  await t.rejects(loadTower(path), { code: 'ERR_SIMSAGE_CORRUPT_FILE' }, 'truncated checkpoint')
  t.throws(
    () =>
      trainRanking({
        x: train.images,
        labels: train.labels.subarray(1),
        inputDim: 784,
        embeddingDim: 16,
        model: a.model,
        optimizer: new Adam(a.model.parameters()),
        source: { kind: 'miner', miner: new SemiHardMiner() },
        epochs: 1,
        batchSize: 64,
      }),
    { code: 'ERR_SIMSAGE_DIM_MISMATCH' },
    'labels length',
  )
})

t.test('the Deep Ranking sampler trains too', async (t) => {
  const train = await loadFashionMnist(subset, 'train')
  const model = rankingTower({ inputDim: 784, hidden: [32], embeddingDim: 8 }, 1)
  const hist = trainRanking({
    x: train.images,
    labels: train.labels,
    inputDim: 784,
    embeddingDim: 8,
    model,
    optimizer: new Adam(model.parameters()),
    source: { kind: 'sampler', bufferSize: 64 },
    epochs: 2,
    batchSize: 120,
    seed: 2,
  })
  t.equal(hist.length, 2)
  t.ok(
    hist.every((h) => h.triplets > 0 && Number.isFinite(h.loss)),
    'triplets drawn and finite losses',
  )
})

t.test('the cosine learning-rate schedule sets lr before every step; constant leaves it', async (t) => {
  const train = await loadFashionMnist(subset, 'train')
  const n = 600
  const x = train.images.subarray(0, n * 784)
  const labels = train.labels.subarray(0, n)
  const run = (lrSchedule?: 'constant' | 'cosine') => {
    const model = rankingTower({ inputDim: 784, hidden: [8], embeddingDim: 4 }, 1)
    const adam = new Adam(model.parameters(), { lr: 0.01 })
    const seen: number[] = []
    const step = adam.step.bind(adam)
    adam.step = () => {
      seen.push(adam.lr)
      step()
    }
    trainRanking({
      x,
      labels,
      inputDim: 784,
      embeddingDim: 4,
      model,
      optimizer: adam,
      source: { kind: 'miner', miner: new SemiHardMiner() },
      epochs: 2,
      batchSize: 100,
      seed: 2,
      lrSchedule,
    })
    return seen
  }
  const cos = run('cosine')
  t.equal(cos.length, 12, '2 epochs x 6 steps (every step had triplets)')
  t.equal(cos[0], 0.01, 'starts at the optimizer lr')
  for (let i = 0; i < cos.length; i++) {
    t.ok(Math.abs(cos[i] - (0.01 * (1 + Math.cos((Math.PI * i) / 12))) / 2) < 1e-12, `step ${i}: ${cos[i]}`)
  }
  t.ok(cos[11] < 0.0003, 'ends near 0')
  t.same(run('constant'), new Array(12).fill(0.01), 'constant keeps lr')
  t.equal(scheduledLr('cosine', 1, 6, 12), 0.5, 'half way: half')
  t.equal(scheduledLr('constant', 1, 6, 12), 1)
  t.throws(() => run('step' as 'cosine'), { code: 'ERR_SIMSAGE_INVALID_ARGUMENT' }, 'unknown schedule')
})
