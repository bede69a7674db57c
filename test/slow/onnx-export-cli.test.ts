// `simsage export` in child processes: a saved ranking tower and a saved HierTCN checkpoint exported
// to ONNX (kind detected from the metadata), each run in onnxruntime-node against simsage's own
// forward within 1e-4; the write is atomic (no temporary file left, an existing file replaced); a
// wrong --model, a file that is not a checkpoint and a missing directory fail with a message.
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import t from 'tap'

import { HierTCN } from '../../lib/models/hiertcn.js'
import { embed, rankingTower, saveTower } from '../../lib/models/ranking-tower.js'
import { OnnxEncoder } from '../../lib/onnx/encoder.js'
import { Random } from '../../lib/random.js'
import { saveSearchSage } from '../../lib/search/checkpoint.js'
import { TextTower } from '../../lib/search/towers.js'
import { saveHierTCN } from '../../lib/train/hiertcn-checkpoint.js'
import { simsage } from '../fixtures/cli.js'

const dir = mkdtempSync(join(tmpdir(), 'simsage-onnx-cli-'))
const rng = new Random(12)

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = a.length === b.length ? 0 : Number.POSITIVE_INFINITY
  for (let i = 0; i < Math.min(a.length, b.length); i++) m = Math.max(m, Math.abs(a[i] - b[i]))
  return m
}

t.test('export a ranking tower checkpoint', async (t) => {
  const spec = { inputDim: 20, hidden: [24, 12], embeddingDim: 6 }
  const tower = rankingTower(spec, 5)
  const ckpt = join(dir, 'tower.safetensors')
  await saveTower(ckpt, tower, spec)
  const out = join(dir, 'tower.onnx')
  writeFileSync(out, 'an older file')
  const r = simsage(['export', '--checkpoint', ckpt, '--out', out, '--json'])
  t.equal(r.status, 0, r.stderr)
  const summary = JSON.parse(r.stdout.trim().split('\n').pop()!)
  t.match(summary, {
    model: 'ranking',
    opset: 17,
    inputs: [{ name: 'x', type: 'float32', dims: ['batch', 20] }],
    outputs: [{ name: 'embedding', type: 'float32', dims: ['batch', 6] }],
  })
  t.same(
    readdirSync(dir).filter((f) => f.includes('.tmp')),
    [],
    'no temporary file left',
  )
  const x = rng.fillNormal(new Float32Array(9 * 20))
  using enc = await OnnxEncoder.create(out)
  const got = await enc.encode(x)
  const want = embed(tower, x, 20, 6)
  t.ok(maxDiff(got.data, want) < 1e-4, `the written model equals embed() (${maxDiff(got.data, want)})`)

  const wrong = simsage(['export', '--checkpoint', ckpt, '--out', join(dir, 'x.onnx'), '--model', 'tcn'])
  t.equal(wrong.status, 1)
  t.match(wrong.stderr, /simsage-ranking-tower checkpoint; --model tcn does not read it/)
  t.notOk(existsSync(join(dir, 'x.onnx')), 'nothing written')
  const unknown = simsage(['export', '--checkpoint', ckpt, '--out', join(dir, 'x.onnx'), '--model', 'gpt'])
  t.equal(unknown.status, 1)
  t.match(unknown.stderr, /unknown model "gpt"/)
  const noDir = simsage(['export', '--checkpoint', ckpt, '--out', join(dir, 'missing', 'x.onnx')])
  t.equal(noDir.status, 1)
  t.match(noDir.stderr, /missing/)
})

t.test('export a HierTCN checkpoint: the low-level TCN and head', async (t) => {
  const spec = {
    items: 30,
    embeddingDim: 8,
    userHidden: 4,
    userLayers: 1,
    channels: [10, 10, 6],
    dilations: [1, 2, 4],
    kernelSize: 3,
    dropout: 0.2,
    decayTau: 0,
  }
  const model = new HierTCN(spec, 3)
  const ckpt = join(dir, 'hiertcn.safetensors')
  await saveHierTCN(
    ckpt,
    model,
    Array.from({ length: 30 }, (_, i) => `item${i}`),
  )
  const out = join(dir, 'tcn.onnx')
  const r = simsage(['export', '--checkpoint', ckpt, '--out', out, '--json'])
  t.equal(r.status, 0, r.stderr)
  const summary = JSON.parse(r.stdout.trim().split('\n').pop()!)
  t.match(summary, {
    model: 'tcn',
    inputs: [{ name: 'x', dims: ['batch', 'steps', 12] }],
    outputs: [
      { name: 'y', dims: ['batch', 'steps', 6] },
      { name: 'p', dims: ['batch', 'steps', 8] },
    ],
  })
  model.training = false
  const [B, T] = [3, 11]
  const x = rng.fillNormal(new Float32Array(B * T * 12))
  const y = model.tcn.forward(x, B, T).slice()
  const p = model.head.forward(y, B * T).slice()
  using ey = await OnnxEncoder.create(out)
  using ep = await OnnxEncoder.create(out, { output: 'p', batchSize: 1 })
  const gy = await ey.encode(x, [B, T, 12])
  const gp = await ep.encode(x, [B, T, 12])
  t.ok(maxDiff(gy.data, y) < 1e-4, `y equals TCN.forward (${maxDiff(gy.data, y)})`)
  t.ok(maxDiff(gp.data, p) < 1e-4, `p equals head(TCN.forward) (${maxDiff(gp.data, p)})`)
})

t.test('a file that is not a simsage checkpoint', async (t) => {
  const bad = join(dir, 'bad.safetensors')
  writeFileSync(bad, 'not a checkpoint at all')
  const r = simsage(['export', '--checkpoint', bad, '--out', join(dir, 'bad.onnx')])
  t.equal(r.status, 1)
  t.match(r.stderr, /^simsage: /)
  t.notOk(existsSync(join(dir, 'bad.onnx')))
})

t.test('export a searchsage checkpoint: its query tower', async (t) => {
  const query = new TextTower({ fields: ['text'], bagRows: 211, bagDim: 8, hidden: [8], outputDim: 4, seed: 7 })
  const entity = new TextTower({ fields: ['path'], bagRows: 211, bagDim: 8, hidden: [8], outputDim: 4, seed: 8 })
  const ckpt = join(dir, 'searchsage.safetensors')
  await saveSearchSage(ckpt, { query, entity, maxSubjects: 2 })
  const out = join(dir, 'query.onnx')
  const r = simsage(['export', '--checkpoint', ckpt, '--out', out, '--json'])
  t.equal(r.status, 0, r.stderr)
  const summary = JSON.parse(r.stdout.trim().split('\n').pop()!)
  t.match(summary, {
    model: 'searchsage',
    opset: 17,
    inputs: [{ name: 'a' }, { name: 'b' }, { name: 'q' }, { name: 'segment' }, { name: 'items', dims: [1] }],
    outputs: [{ name: 'embedding', type: 'float32', dims: ['n', 4] }],
  })
  t.ok(existsSync(out), 'the model is written')
})
