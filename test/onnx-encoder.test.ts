// OnnxEncoder: over an exported tower (batch size 1 equals one batch of all rows; session options),
// over a hand-built graph with an int64 input (an embedding Gather + mean), the event loop ticking
// between batches of a long encode, dispose during an encode, and bad input → coded errors.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import t from 'tap'

import { ErrorCodes } from '../lib/errors.js'
import { embed, rankingTower } from '../lib/models/ranking-tower.js'
import { OnnxEncoder } from '../lib/onnx/encoder.js'
import { exportRankingTower } from '../lib/onnx/export-ranking.js'
import { OnnxGraph } from '../lib/onnx/graph.js'
import { loadOnnxruntime } from '../lib/onnx/ort.js'
import { Random } from '../lib/random.js'
import { rejectsCode } from './fixtures/assert.js'

const spec = { inputDim: 12, hidden: [16], embeddingDim: 8 }
const tower = rankingTower(spec, 3)
const towerBytes = exportRankingTower(tower, spec).bytes
const rng = new Random(4)

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = a.length === b.length ? 0 : Number.POSITIVE_INFINITY
  for (let i = 0; i < Math.min(a.length, b.length); i++) m = Math.max(m, Math.abs(a[i] - b[i]))
  return m
}

/** ids [batch, L] int64 → mean over L of table[ids] → [batch, D]. */
function gatherMeanModel(table: Float32Array, vocab: number, dim: number): Uint8Array {
  const g = new OnnxGraph('bag_of_ids')
  const ids = g.input('ids', 'int64', ['batch', 'tokens'])
  const w = g.initializer('table', table, [vocab, dim])
  const rows = g.op('Gather', [w, ids], { axis: 0 })
  const mean = g.op('ReduceMean', [rows], { axes: [1], keepdims: 0 })
  g.output(mean, 'float32', ['batch', dim], 'embedding')
  return g.toBytes()
}

t.test('exported tower: metadata, batch size 1 equals one batch, session options', async (t) => {
  const x = rng.fillNormal(new Float32Array(37 * spec.inputDim))
  const want = embed(tower, x, spec.inputDim, spec.embeddingDim)
  const all = await OnnxEncoder.create(towerBytes, { batchSize: 1000 })
  const one = await OnnxEncoder.create(towerBytes, {
    batchSize: 1,
    intraOpThreads: 1,
    interOpThreads: 1,
    graphOptimization: 'disabled',
  })
  t.equal(all.inputName, 'x')
  t.equal(all.inputType, 'float32')
  t.same(all.inputDims, ['batch', spec.inputDim])
  t.equal(all.outputName, 'embedding')
  const a = await all.encode(x)
  const b = await one.encode(x, [37, spec.inputDim])
  t.same(a.dims, [37, spec.embeddingDim])
  t.same(b.dims, a.dims)
  t.ok(maxDiff(a.data, want) < 1e-4, 'equals embed()')
  t.ok(maxDiff(a.data, b.data) < 1e-6, `batch size 1 equals one batch of all (${maxDiff(a.data, b.data)})`)
  const empty = await all.encode(new Float32Array(0), [0, spec.inputDim])
  t.same(empty.dims, [0, spec.embeddingDim], 'zero rows')
  all.dispose()
  one.dispose()
})

t.test('a model file path; a hand-built int64 Gather model (BigInt64Array or Int32Array ids)', async (t) => {
  const V = 10
  const D = 5
  const table = rng.fillNormal(new Float32Array(V * D))
  const dir = mkdtempSync(join(tmpdir(), 'simsage-onnx-'))
  const file = join(dir, 'bag.onnx')
  writeFileSync(file, gatherMeanModel(table, V, D))
  using enc = await OnnxEncoder.create(file, { batchSize: 2 })
  t.equal(enc.inputType, 'int64')
  const ids = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9]
  const want = new Float32Array(5 * D)
  for (let r = 0; r < 5; r++)
    for (let j = 0; j < 3; j++) for (let d = 0; d < D; d++) want[r * D + d] += table[ids[r * 3 + j] * D + d] / 3
  const big = await enc.encode(BigInt64Array.from(ids, BigInt), [5, 3])
  t.same(big.dims, [5, D])
  t.ok(maxDiff(big.data, want) < 1e-5, 'mean of gathered rows')
  const small = await enc.encode(Int32Array.from(ids), [5, 3])
  t.same([...small.data], [...big.data], 'Int32Array ids are widened to int64')
  await rejectsCode(
    t,
    () => enc.encode(BigInt64Array.from(ids, BigInt)),
    ErrorCodes.DIM_MISMATCH,
    'dynamic dims need a shape',
  )
  await rejectsCode(
    t,
    () => enc.encode(BigInt64Array.of(0n, 99n), [1, 2]),
    ErrorCodes.INVALID_ARGUMENT,
    'id out of range',
  )
  await rejectsCode(t, () => enc.encode(Float32Array.of(1, 2), [1, 2]), ErrorCodes.INVALID_TYPE, 'floats into int64')
})

t.test('the event loop keeps ticking between batches of a long encode', async (t) => {
  const rows = 400
  const x = rng.fillNormal(new Float32Array(rows * spec.inputDim))
  const ticksDuring = async (batchSize: number) => {
    using enc = await OnnxEncoder.create(towerBytes, { batchSize })
    let ticks = 0
    let running = true
    const tick = () => {
      ticks++
      if (running) setImmediate(tick)
    }
    setImmediate(tick)
    await enc.encode(x)
    running = false
    return ticks
  }
  const batched = await ticksDuring(10)
  const whole = await ticksDuring(rows)
  t.ok(batched >= 40, `40 batches: the loop turned ${batched} times during the encode`)
  t.ok(whole <= 5, `one batch: the loop turned ${whole} times (a single blocking run, the contrast)`)
})

t.test('dispose: during an encode, twice, then encode', async (t) => {
  const enc = await OnnxEncoder.create(towerBytes, { batchSize: 1 })
  const x = rng.fillNormal(new Float32Array(50 * spec.inputDim))
  const p = enc.encode(x)
  await new Promise((r) => setImmediate(r))
  enc.dispose()
  enc.dispose()
  t.ok(enc.disposed)
  await rejectsCode(t, () => p, ErrorCodes.DISPOSED, 'the encode in flight stops at its next batch')
  await rejectsCode(t, () => enc.encode(x), ErrorCodes.DISPOSED, 'encode after dispose')
})

t.test('bad input and options: coded errors', async (t) => {
  using enc = await OnnxEncoder.create(towerBytes)
  const D = spec.inputDim
  await rejectsCode(t, () => enc.encode(new Float64Array(D) as never), ErrorCodes.INVALID_TYPE, 'Float64Array')
  await rejectsCode(t, () => enc.encode(new BigInt64Array(D)), ErrorCodes.INVALID_TYPE, 'int64 into float32')
  await rejectsCode(t, () => enc.encode(new Float32Array(D + 1)), ErrorCodes.DIM_MISMATCH, 'length not rows x dim')
  await rejectsCode(t, () => enc.encode(new Float32Array(2 * D), [D, 2]), ErrorCodes.DIM_MISMATCH, 'wrong dims')
  await rejectsCode(t, () => enc.encode(new Float32Array(2 * D), [2, D, 1]), ErrorCodes.DIM_MISMATCH, 'wrong rank')
  await rejectsCode(t, () => enc.encode(new Float32Array(2 * D), [3, D]), ErrorCodes.DIM_MISMATCH, 'shape vs length')
  await rejectsCode(t, () => enc.encode(new Float32Array(D), [-1, D]), ErrorCodes.INVALID_ARGUMENT, 'negative dim')
  const nan = new Float32Array(2 * D)
  nan[D + 3] = Number.NaN
  await rejectsCode(t, () => enc.encode(nan), ErrorCodes.NON_FINITE, 'NaN')
  await rejectsCode(
    t,
    () => OnnxEncoder.create(towerBytes, { batchSize: 0 }),
    ErrorCodes.INVALID_ARGUMENT,
    'batchSize 0',
  )
  await rejectsCode(
    t,
    () => OnnxEncoder.create(towerBytes, { graphOptimization: 'max' as never }),
    ErrorCodes.INVALID_ARGUMENT,
    'unknown optimisation level',
  )
  await rejectsCode(
    t,
    () => OnnxEncoder.create(towerBytes, { output: 'nope' }),
    ErrorCodes.INVALID_ARGUMENT,
    'no such output',
  )
  await rejectsCode(t, () => OnnxEncoder.create(Uint8Array.of(1, 2, 3)), ErrorCodes.CORRUPT_FILE, 'not an ONNX model')
  await rejectsCode(
    t,
    () => OnnxEncoder.create(join(tmpdir(), 'no-such-model.onnx')),
    ErrorCodes.NOT_FOUND,
    'missing file',
  )
  await rejectsCode(t, () => OnnxEncoder.create(42 as never), ErrorCodes.INVALID_ARGUMENT, 'not a path or bytes')
  await rejectsCode(
    t,
    () => loadOnnxruntime('onnxruntime-node-not-installed'),
    ErrorCodes.MISSING_DEPENDENCY,
    'no onnxruntime',
  )
})
