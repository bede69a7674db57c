// Deep Ranking on the shipped Fashion-MNIST subset: IDX decoding (and its damage cases), retrieval
// metrics on hand-checkable data, safetensors checkpoints, deterministic training that improves on
// an untrained tower, and the CLI's --json contract.
import { spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'

import t from 'tap'

import {
  Adam, decodeIdx, decodeSafetensors, embed, encodeIdx, encodeSafetensors, labelTriplets, loadFashionMnist, loadTower,
  rankingTower, retrievalMetrics, saveTower, SemiHardMiner, similarityPrecision, trainRanking,
} from '../lib/index.js'

const root = join(import.meta.dirname, '..')
const subset = join(root, 'data', 'fashion-mnist-small')

t.test('IDX: round trip, gzip, and every kind of damage is ERR_SIMSAGE_CORRUPT_FILE', async (t) => {
  const data = Uint8Array.from({ length: 2 * 3 * 4 }, (_, i) => i)
  const raw = encodeIdx([2, 3, 4], data)
  const dec = decodeIdx(raw)
  t.same(dec.shape, [2, 3, 4])
  t.same(Array.from(dec.data), Array.from(data))
  t.same(Array.from(decodeIdx(gzipSync(raw)).data), Array.from(data), 'gzip detected and inflated')
  const corrupt = { code: 'ERR_SIMSAGE_CORRUPT_FILE' }
  t.throws(() => decodeIdx(raw.subarray(0, raw.length - 1)), corrupt, 'truncated values')
  t.throws(() => decodeIdx(raw.subarray(0, 6)), corrupt, 'truncated header')
  t.throws(() => decodeIdx(new Uint8Array(0)), corrupt, 'empty')
  t.throws(() => decodeIdx(Buffer.concat([raw, Buffer.from([0])])), corrupt, 'trailing bytes')
  const wrongType = Buffer.from(raw)
  wrongType[2] = 0x0d
  t.throws(() => decodeIdx(wrongType), corrupt, 'float element type')
  const gz = gzipSync(raw)
  t.throws(() => decodeIdx(gz.subarray(0, gz.length - 8)), corrupt, 'truncated gzip')
})

t.test('the shipped subset loads: 300 training and 100 test images per class', async (t) => {
  const train = await loadFashionMnist(subset, 'train')
  const test = await loadFashionMnist(subset, 'test')
  t.equal(train.n, 3000)
  t.equal(test.n, 1000)
  t.equal(train.dim, 784)
  const counts = new Array(10).fill(0)
  for (const l of train.labels) counts[l]++
  t.same(counts, new Array(10).fill(300))
  t.ok(train.images.every((v) => v >= 0 && v <= 1), 'pixels scaled to [0, 1]')
  await t.rejects(loadFashionMnist(join(root, 'test'), 'train'), { code: 'ERR_SIMSAGE_INVALID_ARGUMENT' }, 'missing files')
})

t.test('retrieval metrics on hand-checkable data', async (t) => {
  // Gallery: two classes on two axes; queries: one near each axis and one in between leaning to class 1.
  const gallery = { vectors: new Float32Array([1, 0, 0.9, 0.1, 0, 1, 0.1, 0.9]), labels: [0, 0, 1, 1], dim: 2 }
  const queries = { vectors: new Float32Array([1, 0.05, 0.05, 1, 0.45, 0.55]), labels: [0, 1, 0], dim: 2 }
  const m = retrievalMetrics(queries, gallery, { metric: 'cosine', recallAt: [1, 2, 3], knnK: 3, scoreAt: 2 })
  t.same(m.recall, { 1: 2 / 3, 2: 2 / 3, 3: 1 }, 'the third query finds its class only at rank 3')
  t.equal(m.knnAccuracy, 2 / 3, 'votes: 2 of 3 right')
  t.equal(m.scoreAtTopK, (2 + 2 - 2) / 3, '+1 per same-class item in the top 2, -1 otherwise')
  const sp = similarityPrecision(new Float32Array([1, 0, 0.9, 0.1, 0, 1]), 2, [0, 1, 2, 2, 0, 1], 'cosine')
  t.equal(sp, 0.5, 'first triplet ordered right, second wrong')
  t.throws(() => similarityPrecision(new Float32Array(4), 2, [0, 1, 5]), { code: 'ERR_SIMSAGE_INVALID_ARGUMENT' })
  const trip = labelTriplets([0, 0, 1, 1, 2], 200, 3)
  let ok = true
  for (let i = 0; i < trip.length; i += 3) {
    const l = [0, 0, 1, 1, 2]
    ok &&= trip[i] !== trip[i + 1] && l[trip[i]] === l[trip[i + 1]] && l[trip[i]] !== l[trip[i + 2]]
  }
  t.ok(ok, 'label triplets: same-class positive, other-class negative')
})

t.test('safetensors: round trip, independent layout, damage', async (t) => {
  const w = new Float32Array([1, 2, 3, 4, 5, 6])
  const buf = encodeSafetensors({ w: { shape: [2, 3], data: w }, b: { shape: [1], data: new Float32Array([7]) } }, { note: 'x' })
  const n = Number(buf.readBigUInt64LE(0))
  t.equal((8 + n) % 8, 0, 'data starts 8-byte aligned')
  const header = JSON.parse(buf.subarray(8, 8 + n).toString())
  t.same(header.w, { dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] })
  const back = decodeSafetensors(buf)
  t.same(Array.from(back.tensors.w.data), Array.from(w))
  t.same(back.metadata, { note: 'x' })
  t.throws(() => decodeSafetensors(buf.subarray(0, buf.length - 4)), { code: 'ERR_SIMSAGE_CORRUPT_FILE' }, 'truncated')
  const f16 = Buffer.from(buf)
  f16.write('"F16"', f16.indexOf('"F32"'))
  t.throws(() => decodeSafetensors(f16), { code: 'ERR_SIMSAGE_UNSUPPORTED' }, 'F16 is not read')
})

t.test('training is deterministic, beats the untrained tower, and checkpoints round-trip', async (t) => {
  const train = await loadFashionMnist(subset, 'train')
  const test = await loadFashionMnist(subset, 'test')
  const spec = { inputDim: 784, hidden: [64], embeddingDim: 16 }
  const triplets = labelTriplets(test.labels, 5000, 9)
  const precisionOf = (model: ReturnType<typeof rankingTower>) => similarityPrecision(embed(model, test.images, 784, 16), 16, triplets)
  const run = () => {
    const model = rankingTower(spec, 3)
    const before = precisionOf(model)
    const hist = trainRanking({
      x: train.images, labels: train.labels, inputDim: 784, embeddingDim: 16, model,
      optimizer: new Adam(model.parameters(), { lr: 1e-3 }), source: { kind: 'miner', miner: new SemiHardMiner() },
      epochs: 3, batchSize: 200, seed: 5,
    })
    return { model, before, hist }
  }
  const a = run()
  const b = run()
  t.same(a.hist.map((h) => h.loss), b.hist.map((h) => h.loss), 'same seed, same losses')
  t.ok(a.hist[2].loss < a.hist[0].loss, `loss falls: ${a.hist.map((h) => h.loss.toFixed(4)).join(' -> ')}`)
  const after = precisionOf(a.model)
  t.ok(after > a.before + 0.05, `similarity precision ${a.before.toFixed(3)} -> ${after.toFixed(3)}`)
  const dir = t.testdir({})
  const path = join(dir, 'tower.safetensors')
  await saveTower(path, a.model, spec, { note: 'test' })
  const loaded = await loadTower(path)
  t.same(loaded.spec, spec)
  t.same(Array.from(embed(loaded.model, test.images.subarray(0, 784 * 5), 784, 16)), Array.from(embed(a.model, test.images.subarray(0, 784 * 5), 784, 16)), 'same embeddings after load')
  writeFileSync(path, readFileSync(path).subarray(0, 100))
  await t.rejects(loadTower(path), { code: 'ERR_SIMSAGE_CORRUPT_FILE' }, 'truncated checkpoint')
  t.throws(() => trainRanking({
    x: train.images, labels: train.labels.subarray(1), inputDim: 784, embeddingDim: 16, model: a.model,
    optimizer: new Adam(a.model.parameters()), source: { kind: 'miner', miner: new SemiHardMiner() }, epochs: 1, batchSize: 64,
  }), { code: 'ERR_SIMSAGE_DIM_MISMATCH' }, 'labels length')
})

t.test('the Deep Ranking sampler trains too', async (t) => {
  const train = await loadFashionMnist(subset, 'train')
  const model = rankingTower({ inputDim: 784, hidden: [32], embeddingDim: 8 }, 1)
  const hist = trainRanking({
    x: train.images, labels: train.labels, inputDim: 784, embeddingDim: 8, model, optimizer: new Adam(model.parameters()),
    source: { kind: 'sampler', bufferSize: 64 }, epochs: 2, batchSize: 120, seed: 2,
  })
  t.equal(hist.length, 2)
  t.ok(hist.every((h) => h.triplets > 0 && Number.isFinite(h.loss)), 'triplets drawn and finite losses')
})

t.test('CLI: experiment ranking --json prints one JSON object last', async (t) => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'bin/simsage.ts'), 'experiment', 'ranking', '--epochs', '1',
    '--hidden', '32', '--embedding-dim', '16', '--models', 'raw-pixels,semi-hard,deep-ranking-sampler', '--train-classes', '0,1,2,3,4', '--json'],
  { encoding: 'utf8', cwd: root, timeout: 120000 })
  t.equal(r.status, 0, r.stderr)
  const lines = r.stdout.trim().split('\n')
  const out = JSON.parse(lines[lines.length - 1])
  t.equal(out.task, 'ranking')
  t.equal(out.dataset, 'fashion-mnist')
  t.match(out.split, /held-out classes 5,6,7,8,9/)
  t.same(out.rows.map((row: { model: string }) => row.model), ['raw-pixels', 'semi-hard', 'deep-ranking-sampler'])
  for (const row of out.rows) {
    t.ok(row.metrics.recall1 >= 0 && row.metrics.recall1 <= 1, `${row.model} recall1 in [0, 1]`)
    t.type(row.train_seconds, 'number')
  }
  const bad = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'bin/simsage.ts'), 'experiment', 'ranking', '--epochs', '0'], { encoding: 'utf8', cwd: root })
  t.not(bad.status, 0, 'bad --epochs fails')
  t.match(bad.stderr, /--epochs must be/)
})
