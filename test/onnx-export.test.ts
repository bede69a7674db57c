// ONNX export round trips: each exported model runs in onnxruntime-node (through OnnxEncoder) and
// matches simsage's own forward within 1e-4: the ranking tower at several shapes, Sequentials with
// L2Normalize (zero rows) and LayerNorm, the TCN with several kernel sizes and dilations, projection
// and identity residuals, batch and length > 1, with and without a head; the graph's opset and
// ops; unsupported modules and bad arguments → coded errors.
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'

import onnxProto from 'onnx-proto'
import t from 'tap'

import { ErrorCodes } from '../lib/errors.js'
import { saveSafetensors } from '../lib/io/safetensors.js'
import { embed, rankingTower, saveTower } from '../lib/models/ranking-tower.js'
import { L2Normalize, LayerNorm, Linear, ReLU } from '../lib/nn/layers.js'
import type { Module } from '../lib/nn/module.js'
import { Sequential } from '../lib/nn/sequential.js'
import { OnnxEncoder } from '../lib/onnx/encoder.js'
import { exportRankingTower, exportSequential } from '../lib/onnx/export-ranking.js'
import { exportTCN } from '../lib/onnx/export-tcn.js'
import { exportCheckpoint } from '../lib/onnx/exporters.js'
import { exportTextTower, type TextTowerOnnxInputs, textTowerOnnxInputs } from '../lib/onnx/export-text.js'
import { loadOnnxruntime } from '../lib/onnx/ort.js'
import { saveSearchSage } from '../lib/search/checkpoint.js'
import { FieldFeatures } from '../lib/search/field-features.js'
import { TextTower } from '../lib/search/towers.js'
import { embedItems, embedQueries } from '../lib/train/searchsage-eval.js'
import { OnnxGraph } from '../lib/onnx/graph.js'
import { decodeModel } from '../lib/onnx/proto.js'
import { Random } from '../lib/random.js'
import { TCN } from '../lib/temporal/tcn.js'
import { rejectsCode, throwsCode } from './fixtures/assert.js'
import { root } from './fixtures/cli.js'

const TOL = 1e-4

function randomF32(rng: Random, n: number): Float32Array {
  return rng.fillNormal(new Float32Array(n), 0, 1)
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY
  let m = 0
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]))
  return m
}

async function runOnnx(bytes: Uint8Array, x: Float32Array, shape: number[], output?: string) {
  const enc = await OnnxEncoder.create(bytes, { output })
  try {
    return await enc.encode(x, shape)
  } finally {
    enc.dispose()
  }
}

function decode(bytes: Uint8Array) {
  return onnxProto.onnx.ModelProto.decode(bytes)
}

t.test("simsage's ONNX schema encodes and decodes as onnx-proto's generated code does", async (t) => {
  // onnx-proto (a dev dependency) is code generated from onnx.proto: an independent check of the
  // field numbers, types and packing in lib/onnx/schema.ts, over every field the builder writes.
  const rng = new Random(3)
  const g = new OnnxGraph('cross')
  const x = g.input('x', 'float32', ['batch', 5])
  const w = g.initializer('w', randomF32(rng, 15), [3, 5])
  const ids = g.initializer('ids', new BigInt64Array([1n, -2n, 3n ** 39n]), [3])
  const i32 = g.initializer('i32', new Int32Array([7, -8]), [2])
  const y = g.op('Gemm', [x, w], { transB: 1, alpha: { float: 0.5 }, beta: 1.25 }, 'y')
  const z = g.op('Foo', [y, ids, i32], { axes: [0, -1, 2 ** 40], mode: 'constant', scales: { floats: [0.5, -2] } })
  g.output(z, 'float32', ['batch', 3])
  const model = g.toModel({ doc: 'cross-check', metadata: { kind: 'test', version: '1' } })
  const mine = g.toBytes({ doc: 'cross-check', metadata: { kind: 'test', version: '1' } })
  const theirs = onnxProto.onnx.ModelProto.encode(onnxProto.onnx.ModelProto.create(model as never)).finish()
  t.same(Buffer.from(mine), Buffer.from(theirs), 'the same bytes')
  const back = decodeModel(theirs)
  const node = back.graph?.node?.[1]
  t.equal(node?.opType, 'Foo')
  t.same(
    node?.attribute?.map((a) => a.name),
    ['axes', 'mode', 'scales'],
  )
  t.same(node?.attribute?.[0].ints, [0, -1, 2 ** 40], 'int64 lists')
  t.same(new TextDecoder().decode(node?.attribute?.[1].s ?? undefined), 'constant', 'string attribute')
  t.same(
    back.graph?.node?.[0].attribute?.map((a) => a.f),
    [undefined, 0.5, 1.25],
    'float attributes',
  )
  const inits = back.graph?.initializer ?? []
  t.same(
    inits.map((i) => [i.name, i.dataType, i.dims]),
    [
      ['w', 1, [3, 5]],
      ['ids', 7, [3]],
      ['i32', 6, [2]],
    ],
  )
  const raw = inits[1].rawData as Uint8Array
  t.same([...new BigInt64Array(new Uint8Array(raw).buffer)], [1n, -2n, 3n ** 39n], 'int64 raw data')
  const dims = back.graph?.input?.[0].type?.tensorType?.shape?.dim ?? []
  t.same(dims, [{ dimParam: 'batch' }, { dimValue: 5 }], 'symbolic and fixed dims')
  t.same(back.metadataProps, [
    { key: 'kind', value: 'test' },
    { key: 'version', value: '1' },
  ])
  t.equal(back.docString, 'cross-check')
})

t.test('ranking tower: ORT equals embed() at several shapes', async (t) => {
  const rng = new Random(5)
  const specs = [
    { inputDim: 7, hidden: [9, 5], embeddingDim: 3 },
    { inputDim: 33, hidden: [], embeddingDim: 17 },
    { inputDim: 1, hidden: [64, 31, 2], embeddingDim: 1 },
  ]
  for (const spec of specs) {
    const model = rankingTower(spec, 11)
    const ex = exportRankingTower(model, spec)
    t.same(ex.inputs, [{ name: 'x', type: 'float32', dims: ['batch', spec.inputDim] }], 'input signature')
    t.same(ex.outputs, [{ name: 'embedding', type: 'float32', dims: ['batch', spec.embeddingDim] }])
    for (const rows of [1, 13]) {
      const x = randomF32(rng, rows * spec.inputDim)
      const want = embed(model, x, spec.inputDim, spec.embeddingDim)
      const got = await runOnnx(ex.bytes, x, [rows, spec.inputDim])
      t.same(got.dims, [rows, spec.embeddingDim], `${JSON.stringify(spec)} rows ${rows}: dims`)
      t.ok(maxDiff(got.data, want) < TOL, `${JSON.stringify(spec)} rows ${rows}: ${maxDiff(got.data, want)}`)
    }
  }
})

t.test('the graph: opset 17, Gemm/Relu/ReduceL2/Max/Div, metadata', async (t) => {
  const spec = { inputDim: 4, hidden: [3], embeddingDim: 2 }
  const m = decode(exportRankingTower(rankingTower(spec), spec).bytes)
  t.same(
    m.opsetImport.map((o) => [o.domain, Number(o.version)]),
    [['', 17]],
  )
  t.same(
    m.graph?.node?.map((n) => n.opType),
    ['Gemm', 'Relu', 'Gemm', 'ReduceL2', 'Max', 'Div'],
  )
  t.match(Object.fromEntries(m.metadataProps.map((p) => [p.key, p.value])), { format: 'simsage-ranking-tower' })
})

t.test('Sequential: L2Normalize keeps a zero row zero; LayerNorm; nested containers', async (t) => {
  const rng = new Random(7)
  const ln = new LayerNorm(6, { eps: 1e-3 })
  rng.fillNormal(ln.weight!.data, 1, 0.2)
  rng.fillNormal(ln.bias!.data, 0, 0.2)
  const model = new Sequential(
    new Linear(5, 6, { rng }),
    new Sequential(ln, new ReLU()),
    new LayerNorm(6, { elementwiseAffine: false }),
    new L2Normalize(),
  )
  const x = randomF32(rng, 4 * 5)
  const want = model.forward(x, 4).slice()
  const got = await runOnnx(exportSequential(model, 5).bytes, x, [4, 5])
  t.ok(maxDiff(got.data, want) < TOL, `max diff ${maxDiff(got.data, want)}`)

  const norm = new Sequential(new L2Normalize())
  const z = Float32Array.of(0, 0, 0, 3, 4, 0)
  const out = await runOnnx(exportSequential(norm, 3).bytes, z, [2, 3])
  t.same([...out.data], [0, 0, 0, 0.6000000238418579, 0.800000011920929, 0], 'zero row stays zero, others unit')
})

interface TcnCase {
  inputSize: number
  channels: number[]
  kernelSize: number
  dilations: number[]
  shapes: [number, number][]
}

const TCN_CASES: TcnCase[] = [
  // projections (3→4, 4→2) and an identity (4→4); dilations 1, 2, 4
  {
    inputSize: 3,
    channels: [4, 4, 2],
    kernelSize: 3,
    dilations: [1, 2, 4],
    shapes: [
      [1, 1],
      [2, 7],
      [3, 20],
    ],
  },
  // identity residual only, K = 2, dilation 3
  { inputSize: 5, channels: [5, 5], kernelSize: 2, dilations: [3, 1], shapes: [[2, 9]] },
  // K = 1: no Pad node
  { inputSize: 1, channels: [8, 8], kernelSize: 1, dilations: [1, 1], shapes: [[4, 3]] },
  // steps shorter than the receptive field (1 + 2·4·5 = 41)
  {
    inputSize: 6,
    channels: [3],
    kernelSize: 5,
    dilations: [5],
    shapes: [
      [2, 11],
      [1, 50],
    ],
  },
]

t.test('TCN: ORT equals TCN.forward ([batch, steps, C] in and out), with and without a head', async (t) => {
  const rng = new Random(9)
  for (const c of TCN_CASES) {
    const tcn = new TCN({ ...c, rng })
    tcn.training = false
    const head = new Linear(tcn.outputSize, 4, { rng })
    const plain = exportTCN(tcn)
    const withHead = exportTCN(tcn, { head })
    t.same(
      withHead.outputs.map((o) => [o.name, o.dims]),
      [
        ['y', ['batch', 'steps', tcn.outputSize]],
        ['p', ['batch', 'steps', 4]],
      ],
    )
    for (const [batch, steps] of c.shapes) {
      const what = `${JSON.stringify({ ...c, shapes: undefined })} [${batch}, ${steps}]`
      const x = randomF32(rng, batch * steps * c.inputSize)
      const y = tcn.forward(x, batch, steps).slice()
      const got = await runOnnx(plain.bytes, x, [batch, steps, c.inputSize])
      t.same(got.dims, [batch, steps, tcn.outputSize], `${what}: dims`)
      t.ok(maxDiff(got.data, y) < TOL, `${what}: y max diff ${maxDiff(got.data, y)}`)
      const p = head.forward(y, batch * steps).slice()
      const gotP = await runOnnx(withHead.bytes, x, [batch, steps, c.inputSize], 'p')
      t.ok(maxDiff(gotP.data, p) < TOL, `${what}: p max diff ${maxDiff(gotP.data, p)}`)
    }
  }
})

t.test('TCN graph: Pad + Conv with dilations, a 1x1 Conv for projections', async (t) => {
  const tcn = new TCN({ inputSize: 2, channels: [3, 3], kernelSize: 3, dilations: [1, 4] })
  const g = decode(exportTCN(tcn).bytes).graph!
  const ops = g.node!.map((n) => n.opType)
  t.equal(ops.filter((o) => o === 'Pad').length, 4, 'one Pad per K > 1 conv')
  t.equal(ops.filter((o) => o === 'Conv').length, 5, 'four causal convs and one projection')
  const dil = g
    .node!.filter((n) => n.opType === 'Conv')
    .map((n) => n.attribute!.find((a) => a.name === 'dilations')!.ints!.map(Number))
  t.same(dil, [[1], [1], [1], [4], [4]])
  t.equal(ops[0], 'Transpose')
  t.equal(ops[ops.length - 1], 'Transpose')
})

t.test('bad input: coded errors', async (t) => {
  class Odd implements Module {
    forward(x: Float32Array) {
      return x
    }
    backward(dy: Float32Array) {
      return dy
    }
    parameters() {
      return []
    }
  }
  throwsCode(t, () => exportSequential(new Sequential(new Odd()), 3), ErrorCodes.UNSUPPORTED, 'unregistered module')
  throwsCode(t, () => exportSequential(new Sequential(new Linear(4, 2)), 3), ErrorCodes.DIM_MISMATCH, 'wrong inputDim')
  throwsCode(t, () => exportSequential(new Sequential(), 0), ErrorCodes.INVALID_ARGUMENT, 'inputDim 0')
  throwsCode(t, () => exportSequential({} as Sequential, 3), ErrorCodes.INVALID_ARGUMENT, 'not a Sequential')
  const tcn = new TCN({ inputSize: 2, channels: [3], kernelSize: 2, dilations: [1] })
  throwsCode(t, () => exportTCN(tcn, { head: new Linear(4, 2) }), ErrorCodes.DIM_MISMATCH, 'head of the wrong width')
  throwsCode(t, () => exportTCN({} as TCN), ErrorCodes.INVALID_ARGUMENT, 'not a TCN')
  const g = new OnnxGraph('g')
  g.input('x', 'float32', [1])
  throwsCode(t, () => g.input('x', 'float32', [1]), ErrorCodes.INVALID_ARGUMENT, 'a name used twice')
  throwsCode(t, () => g.initializer('w', new Float32Array(3), [2, 2]), ErrorCodes.DIM_MISMATCH, 'initializer size')
  throwsCode(t, () => g.toBytes(), ErrorCodes.INVALID_ARGUMENT, 'a graph without outputs')
})

t.test("import 'simsage' loads neither protobufjs nor onnxruntime-node (both on first use)", async (t) => {
  const code = [
    "import { createRequire } from 'node:module'",
    "const m = await import('./lib/index.ts')",
    'const loaded = Object.keys(createRequire(import.meta.url).cache).filter((k) => /node_modules.(onnx|protobufjs)/.test(k))',
    'console.log(JSON.stringify({ loaded, encoder: typeof m.OnnxEncoder, exporter: typeof m.exportCheckpoint }))',
  ].join('\n')
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
  })
  t.equal(r.status, 0, r.stderr)
  t.same(JSON.parse(r.stdout.trim().split('\n').pop()!), { loaded: [], encoder: 'function', exporter: 'function' })
})

t.test('exportCheckpoint: the kind from the metadata, coded errors', async (t) => {
  const dir = t.testdir()
  const spec = { inputDim: 3, hidden: [], embeddingDim: 2 }
  const tower = join(dir, 'tower.safetensors')
  await saveTower(tower, rankingTower(spec), spec)
  const ex = await exportCheckpoint(tower)
  t.equal(ex.model, 'ranking')
  t.equal((await exportCheckpoint(tower, { model: 'ranking' })).bytes.length, ex.bytes.length)
  const plain = join(dir, 'plain.safetensors')
  await saveSafetensors(plain, { w: { shape: [2], data: new Float32Array(2) } })
  await rejectsCode(t, () => exportCheckpoint(plain), ErrorCodes.UNSUPPORTED, 'a checkpoint without a known format')
  await rejectsCode(
    t,
    () => exportCheckpoint(tower, { model: 'tcn' }),
    ErrorCodes.INVALID_ARGUMENT,
    'a model the checkpoint does not hold',
  )
  await rejectsCode(t, () => exportCheckpoint(tower, { model: 'x' }), ErrorCodes.INVALID_ARGUMENT, 'an unknown model')
  await rejectsCode(t, () => exportCheckpoint(join(dir, 'none')), ErrorCodes.NOT_FOUND, 'a missing file')
})

t.test(
  'searchsage text tower: ORT equals embedItems (one and two fields, an empty field, a saved checkpoint)',
  async (t) => {
    const ort = await loadOnnxruntime()
    const run = async (bytes: Uint8Array, x: TextTowerOnnxInputs) => {
      const session = await ort.InferenceSession.create(bytes)
      try {
        const N = x.a.length
        const r = await session.run({
          a: new ort.Tensor('int64', x.a, [N]),
          b: new ort.Tensor('int64', x.b, [N]),
          q: new ort.Tensor('int64', x.q, [N]),
          segment: new ort.Tensor('int64', x.segment, [N]),
          items: new ort.Tensor('int64', x.items, [1]),
        })
        return r.embedding
      } finally {
        await session.release()
      }
    }
    const rng = new Random(21)
    const cases = [
      {
        spec: { fields: ['text'], bagRows: 997, bagDim: 16, hidden: [24], outputDim: 8, seed: 3 },
        texts: [['fix the router cache', 'Übersetzung für Formulare', 'x', 'add a DI container test!']],
      },
      {
        spec: { fields: ['path', 'subjects'], bagRows: 501, bagDim: 12, hidden: [], outputDim: 5, seed: 4 },
        texts: [
          ['src/Routing/Router.php', 'README.md', ''],
          ['router speedup; cache warmup', '', 'only subjects here'],
        ],
      },
    ]
    for (const { spec, texts } of cases) {
      const tower = new TextTower(spec)
      // Weights away from their initial values (importance 1, gamma 1, beta 0) so every part counts.
      const bt = tower.bag.tensors()
      for (const k of ['importance', 'gamma', 'beta'] as const) rng.fillNormal(bt[k], k === 'beta' ? 0 : 1, 0.3)
      const n = texts[0].length
      const want = embedItems(
        tower,
        new FieldFeatures(tower.bag, texts),
        Int32Array.from({ length: n }, (_, i) => i),
      )
      const ex = exportTextTower(tower)
      t.same(
        ex.inputs.map((i) => i.name),
        ['a', 'b', 'q', 'segment', 'items'],
      )
      const x = textTowerOnnxInputs(tower, spec.fields.length === 1 ? texts[0] : texts)
      const got = await run(ex.bytes, x)
      t.same(got.dims, [n, spec.outputDim], `${spec.fields}: dims`)
      t.ok(
        maxDiff(got.data as Float32Array, want) < TOL,
        `${spec.fields}: ORT vs simsage ${maxDiff(got.data as Float32Array, want)}`,
      )
    }
    // A searchsage checkpoint exports its query tower.
    const dir = t.testdir()
    const query = new TextTower({ fields: ['text'], bagRows: 301, bagDim: 8, hidden: [8], outputDim: 4, seed: 5 })
    const entity = new TextTower({ fields: ['path'], bagRows: 301, bagDim: 8, hidden: [8], outputDim: 4, seed: 6 })
    const file = join(dir, 'searchsage.safetensors')
    await saveSearchSage(file, { query, entity, maxSubjects: 4 })
    const ex = await exportCheckpoint(file)
    t.equal(ex.model, 'searchsage')
    const qs = ['cache', 'router tests']
    const got = await run(ex.bytes, textTowerOnnxInputs(query, qs))
    t.ok(maxDiff(got.data as Float32Array, embedQueries({ query }, qs)) < TOL, 'checkpoint export = embedQueries')
    const frozen = new TextTower({ fields: ['path'], bagRows: 31, bagDim: 4, hidden: [], outputDim: 4, frozenDim: 3 })
    throwsCode(t, () => exportTextTower(frozen), ErrorCodes.UNSUPPORTED, 'a tower with a frozen input')
    throwsCode(
      t,
      () => textTowerOnnxInputs(frozen, [['a'], ['b']]),
      ErrorCodes.DIM_MISMATCH,
      'texts for two fields, one field',
    )
  },
)
