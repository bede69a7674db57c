// Deep Ranking's data and evaluation on the shipped Fashion-MNIST subset: IDX decoding (and its
// damage cases), retrieval metrics on hand-checkable data, safetensors checkpoints. Training and the
// CLI are in test/slow/.
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'

import t from 'tap'

import {
  decodeIdx,
  decodeSafetensors,
  encodeIdx,
  encodeSafetensors,
  labelTriplets,
  loadFashionMnist,
  retrievalMetrics,
  similarityPrecision,
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
  t.ok(
    train.images.every((v) => v >= 0 && v <= 1),
    'pixels scaled to [0, 1]',
  )
  await t.rejects(
    loadFashionMnist(join(root, 'test'), 'train'),
    { code: 'ERR_SIMSAGE_INVALID_ARGUMENT' },
    'missing files',
  )
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
  const buf = encodeSafetensors(
    { w: { shape: [2, 3], data: w }, b: { shape: [1], data: new Float32Array([7]) } },
    { note: 'x' },
  )
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
