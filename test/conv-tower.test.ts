// lib/models conv towers: shapes and unit rows, checkpoint round trips, a checkpoint of another
// tower type -> ERR_SIMSAGE_STATE_MISMATCH, seeded augmentation, one Adam step lowering the triplet
// loss on a tiny batch, and trainRanking with every miner and the Deep Ranking sampler.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import t from 'tap'

import { ImageAugmenter } from '../lib/data/augment.js'
import { ErrorCodes } from '../lib/errors.js'
import { encodeSafetensors } from '../lib/io/safetensors.js'
import { ConvTower, type ConvTowerSpec, defaultConvTowerSpec } from '../lib/models/conv-tower.js'
import { loadAnyTower, loadConvTower, saveConvTower } from '../lib/models/conv-tower-checkpoint.js'
import { loadTower, rankingTower, saveTower } from '../lib/models/ranking-tower.js'
import { tripletLoss } from '../lib/mining/loss.js'
import { Adam, Random } from '../lib/nn/index.js'
import { rankingModels } from '../lib/train/methods.js'
import { trainRanking } from '../lib/train/ranking.js'
import { rejectsCode, throwsCode } from './fixtures/assert.js'

const tiny = (type: 'conv' | 'multiscale'): ConvTowerSpec => ({
  type,
  channels: 1,
  height: 12,
  width: 12,
  widths: [4, 8],
  groups: 2,
  shallowWidth: 4,
  embeddingDim: 8,
})

function images(n: number, dim: number, seed: number): { x: Float32Array; labels: Int32Array } {
  // Two classes of blobs: class c is bright in its half (left or right) plus noise.
  const rng = new Random(seed)
  const x = new Float32Array(n * dim)
  const labels = new Int32Array(n)
  const side = Math.sqrt(dim)
  for (let i = 0; i < n; i++) {
    labels[i] = i % 3
    for (let p = 0; p < dim; p++) {
      const col = p % side
      const row = Math.floor(p / side)
      const on = labels[i] === 0 ? col < side / 2 : labels[i] === 1 ? col >= side / 2 : row < side / 2
      x[i * dim + p] = (on ? 0.8 : 0.1) + 0.1 * rng.next()
    }
  }
  return { x, labels }
}

t.test('shapes: 28 x 28 default towers give unit 64-d rows; parameters are named', async (t) => {
  for (const type of ['conv', 'multiscale'] as const) {
    const m = new ConvTower(defaultConvTowerSpec(type), 3)
    t.equal(m.inFeatures, 784)
    t.equal(m.outFeatures, 64)
    const { x } = images(3, 784, 1)
    const y = m.forward(x, 3)
    t.equal(y.length, 3 * 64)
    for (let r = 0; r < 3; r++) {
      let s = 0
      for (let j = 0; j < 64; j++) s += y[r * 64 + j] ** 2
      t.ok(Math.abs(s - 1) < 1e-4, `${type}: row ${r} has unit length`)
    }
    const names = m.namedParameters().map(([n]) => n)
    t.equal(new Set(names).size, names.length, `${type}: names are unique`)
    t.equal(names.length, m.parameters().length)
  }
  throwsCode(
    t,
    () => new ConvTower({ ...tiny('conv'), groups: 3 }),
    ErrorCodes.INVALID_ARGUMENT,
    'groups not dividing widths',
  )
  throwsCode(
    t,
    () => new ConvTower({ ...tiny('multiscale'), height: 6, width: 6 }),
    ErrorCodes.INVALID_ARGUMENT,
    'too small',
  )
  const m = new ConvTower(tiny('conv'))
  const nan = new Float32Array(144).fill(Number.NaN)
  throwsCode(t, () => m.forward(nan, 1), ErrorCodes.NON_FINITE, 'NaN images')
  throwsCode(t, () => m.forward(new Float32Array(143), 1), ErrorCodes.DIM_MISMATCH, 'wrong row length')
})

t.test('checkpoints round trip; another tower type is STATE_MISMATCH', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'simsage-conv-tower-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const { x } = images(4, 144, 2)
  for (const type of ['conv', 'multiscale'] as const) {
    const m = new ConvTower(tiny(type), 5)
    const path = join(dir, `${type}.safetensors`)
    await saveConvTower(path, m, { method: 'test' })
    const { model, spec, metadata } = await loadConvTower(path, type)
    t.same(spec, tiny(type))
    t.equal(metadata.towerType, type)
    t.same(Array.from(model.forward(x, 4)), Array.from(m.forward(x, 4)), `${type}: same embeddings after reload`)
    const any = await loadAnyTower(path)
    t.equal(any.type, type)
    t.equal(any.inputDim, 144)
    await rejectsCode(t, () => loadTower(path), ErrorCodes.STATE_MISMATCH, `${type} checkpoint into loadTower`)
    const other = type === 'conv' ? 'multiscale' : 'conv'
    await rejectsCode(t, () => loadConvTower(path, other), ErrorCodes.STATE_MISMATCH, `${type} checkpoint as ${other}`)
  }
  // A spec that does not match the tensors, and a spec that is not a spec: CORRUPT_FILE.
  const m = new ConvTower(tiny('conv'), 5)
  const tensors = Object.fromEntries(m.namedParameters().map(([k, p]) => [k, { shape: [...p.shape], data: p.data }]))
  const meta = (spec: unknown) => ({ format: 'simsage-ranking-tower', towerType: 'conv', tower: JSON.stringify(spec) })
  const wrong = join(dir, 'wrong.safetensors')
  writeFileSync(wrong, encodeSafetensors(tensors, meta({ ...tiny('conv'), widths: [4, 16] })))
  await rejectsCode(t, () => loadConvTower(wrong), ErrorCodes.CORRUPT_FILE, 'spec / tensor mismatch')
  writeFileSync(wrong, encodeSafetensors(tensors, meta({ type: 'conv' })))
  await rejectsCode(t, () => loadConvTower(wrong), ErrorCodes.CORRUPT_FILE, 'incomplete spec')
  const mlpPath = join(dir, 'mlp.safetensors')
  const mlp = rankingTower({ inputDim: 144, hidden: [16], embeddingDim: 8 })
  await saveTower(mlpPath, mlp, { inputDim: 144, hidden: [16], embeddingDim: 8 })
  await rejectsCode(t, () => loadConvTower(mlpPath), ErrorCodes.STATE_MISMATCH, 'MLP checkpoint into loadConvTower')
  t.equal((await loadAnyTower(mlpPath)).type, 'mlp')
  t.equal((await loadTower(mlpPath)).spec.inputDim, 144, 'MLP checkpoints still load with loadTower')
})

t.test('augmentation: seeded, deterministic, crops with zeros and flips', async (t) => {
  const { x } = images(16, 144, 3)
  const a = x.slice()
  const b = x.slice()
  const c = x.slice()
  new ImageAugmenter({ channels: 1, height: 12, width: 12, seed: 7 }).apply(a, 16)
  new ImageAugmenter({ channels: 1, height: 12, width: 12, seed: 7 }).apply(b, 16)
  new ImageAugmenter({ channels: 1, height: 12, width: 12, seed: 8 }).apply(c, 16)
  t.same(Array.from(a), Array.from(b), 'same seed, same batch')
  t.notSame(Array.from(a), Array.from(c), 'another seed, another batch')
  t.notSame(Array.from(a), Array.from(x), 'the batch changed')
  // Flip only: a 1 x 3 ramp becomes its mirror or stays.
  const flip = new ImageAugmenter({ channels: 1, height: 1, width: 3, padding: 0, seed: 1 })
  const r = new Float32Array([1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3])
  flip.apply(r, 4)
  for (let i = 0; i < 4; i++)
    t.ok([[1, 2, 3].join(), [3, 2, 1].join()].includes(Array.from(r.subarray(3 * i, 3 * i + 3)).join()))
  // Crop only: pixel sums never grow (zeros shift in), and the image moves by at most 1 pixel.
  const crop = new ImageAugmenter({ channels: 1, height: 3, width: 3, padding: 1, flip: false, seed: 2 })
  const one = new Float32Array(9)
  one[4] = 1
  crop.apply(one, 1)
  t.equal(
    one.reduce((s, v) => s + v, 0),
    1,
    'the centre pixel stays inside a 1-pixel shift',
  )
  throwsCode(t, () => crop.apply(new Float32Array(8), 1), ErrorCodes.DIM_MISMATCH, 'short batch')
  throwsCode(
    t,
    () => new ImageAugmenter({ channels: 1, height: 3, width: 3, padding: -1 }),
    ErrorCodes.INVALID_ARGUMENT,
    'bad padding',
  )
})

t.test('one Adam step lowers the triplet loss on a tiny batch', async (t) => {
  for (const type of ['conv', 'multiscale'] as const) {
    const m = new ConvTower(tiny(type), 11)
    const { x } = images(6, 144, 4)
    const triplets = new Int32Array([0, 3, 1, 1, 4, 2, 2, 5, 0])
    const opt = new Adam(m.parameters(), { lr: 1e-2 })
    const loss = () => tripletLoss(m.forward(x, 6), triplets, { dim: 8, margin: 0.5 })
    const before = loss()
    m.zeroGrad()
    m.backward(before.grad)
    t.ok(
      m.parameters().some((p) => p.grad.some((g) => g !== 0)),
      `${type}: gradients reach the parameters`,
    )
    opt.step()
    const after = loss().loss
    t.ok(after < before.loss, `${type}: loss ${before.loss} -> ${after}`)
  }
})

t.test('trainRanking trains a conv tower with every miner and the sampler', async (t) => {
  const { x, labels } = images(60, 144, 5)
  const methods = rankingModels({ margin: 0.2, bufferSize: 32, seed: 1 })
  for (const [name, method] of Object.entries(methods)) {
    const m = new ConvTower(tiny(name === 'deep-ranking-sampler' ? 'multiscale' : 'conv'), 1)
    const aug = new ImageAugmenter({ channels: 1, height: 12, width: 12, seed: 1 })
    const hist = trainRanking({
      x,
      labels,
      inputDim: 144,
      embeddingDim: 8,
      model: m,
      optimizer: new Adam(m.parameters(), { lr: 1e-3 }),
      ...method(),
      augment: (b, n) => aug.apply(b, n),
      epochs: 1,
      batchSize: 30,
    })
    t.equal(hist.length, 1, name)
    t.ok(Number.isFinite(hist[0].loss), `${name}: finite loss`)
  }
})
