// trainRankingInWorker: the same seeded weights as trainRanking on this thread, progress and epoch
// callbacks, what happens to the caller's arrays (copy, transfer, shared), abort, and error codes
// raised inside the worker.
import { join } from 'node:path'

import t from 'tap'

import {
  createOptimizer,
  loadFashionMnist,
  rankingTower,
  SimsageError,
  trainRanking,
  trainRankingInWorker,
  type EpochMetrics,
  type OptimizerSpec,
  type Sequential,
  type TowerSpec,
  type TrainingProgress,
} from '../../lib/index.js'
import { rankingModels } from '../../lib/train/methods.js'

const subset = join(import.meta.dirname, '..', '..', 'data', 'fashion-mnist-small')
const train = await loadFashionMnist(subset, 'train')
const spec: TowerSpec = { inputDim: 784, hidden: [32], embeddingDim: 8 }

/** True when both models hold bitwise the same weights. */
function sameWeights(a: Sequential, b: Sequential): boolean {
  const sa = a.state()
  const sb = b.state()
  return (
    Object.keys(sa).length === Object.keys(sb).length &&
    Object.keys(sa).every((k) => Buffer.compare(Buffer.from(sa[k].data.buffer), Buffer.from(sb[k].data.buffer)) === 0)
  )
}

/** The run trainRankingInWorker should reproduce, on this thread. */
function onThisThread(o: {
  init: number | Sequential
  optimizer: OptimizerSpec
  method: string
  epochs: number
  batchSize: number
  seed: number
  bufferSize?: number
}) {
  const model = typeof o.init === 'number' ? rankingTower(spec, o.init) : o.init
  const method = rankingModels({ margin: 0.2, bufferSize: o.bufferSize ?? 256, seed: o.seed })[o.method]()
  const epochs = trainRanking({
    x: train.images,
    labels: train.labels,
    inputDim: spec.inputDim,
    embeddingDim: spec.embeddingDim,
    model,
    optimizer: createOptimizer(model.parameters(), o.optimizer),
    ...method,
    epochs: o.epochs,
    batchSize: o.batchSize,
    seed: o.seed,
  })
  return { model, epochs }
}

t.test('same seed, bitwise the same weights and losses as trainRanking on this thread', async (t) => {
  const common = {
    optimizer: { kind: 'adam', lr: 1e-3 } as OptimizerSpec,
    method: 'semi-hard',
    epochs: 2,
    batchSize: 200,
    seed: 5,
  }
  const local = onThisThread({ ...common, init: 3 })
  const seen: EpochMetrics[] = []
  const steps: TrainingProgress[] = []
  const x = train.images.slice()
  const labels = train.labels.slice()
  const r = await trainRankingInWorker({
    x,
    labels,
    tower: spec,
    init: 3,
    ...common,
    onEpoch: (m) => seen.push(m),
    onProgress: (p) => steps.push(p),
  })
  t.ok(sameWeights(r.model, local.model), 'bitwise-equal weights')
  t.same(
    r.epochs.map((e) => e.loss),
    local.epochs.map((e) => e.loss),
    'same epoch losses',
  )
  t.same(r.spec, spec)
  t.same(
    seen.map((e) => e.epoch),
    [1, 2],
    'onEpoch once per epoch, in order',
  )
  t.same(
    seen.map((e) => e.loss),
    r.epochs.map((e) => e.loss),
    'onEpoch saw the returned metrics',
  )
  t.equal(steps.length, 2 * 15, 'onProgress once per step (3000 rows / 200)')
  t.same(steps[16], { epoch: 2, epochs: 2, step: 2, steps: 15, loss: steps[16].loss })
  t.equal(x.length, train.images.length, "default: the caller's x is copied, not detached")
  t.equal(labels.length, train.labels.length, 'and labels too')

  // Another optimizer, the sampler, initial weights instead of a seed, and transferred arrays.
  const start = rankingTower(spec, 11)
  const sgd: OptimizerSpec = { kind: 'sgd', lr: 0.05, momentum: 0.9, nesterov: true }
  const init = start.state()
  const local2 = onThisThread({
    init: start,
    optimizer: sgd,
    method: 'deep-ranking-sampler',
    epochs: 2,
    batchSize: 150,
    seed: 8,
    bufferSize: 64,
  })
  const x2 = train.images.slice()
  const labels2 = train.labels.slice()
  const r2 = await trainRankingInWorker({
    x: x2,
    labels: labels2,
    tower: spec,
    init,
    optimizer: sgd,
    method: 'deep-ranking-sampler',
    bufferSize: 64,
    epochs: 2,
    batchSize: 150,
    seed: 8,
    transfer: true,
  })
  t.ok(sameWeights(r2.model, local2.model), 'sampler + SGD from given weights: bitwise-equal weights')
  t.equal(x2.length, 0, "transfer: true detaches the caller's x")
  t.equal(labels2.length, 0, 'and labels')

  // SharedArrayBuffer-backed data is shared as is.
  const xs = new Float32Array(new SharedArrayBuffer(train.images.byteLength))
  xs.set(train.images)
  const ls = new Int32Array(new SharedArrayBuffer(train.labels.byteLength))
  ls.set(train.labels)
  const r3 = await trainRankingInWorker({ x: xs, labels: ls, tower: spec, init: 3, ...common, transfer: true })
  t.ok(sameWeights(r3.model, local.model), 'shared data: same weights')
  t.equal(xs.length, train.images.length, 'shared arrays are never detached')
})

/** Live MessagePorts of this process: a Worker holds one until its thread has exited. */
const ports = () => process.getActiveResourcesInfo().filter((r) => r === 'MessagePort').length

t.test('abort stops the worker and rejects with ERR_SIMSAGE_ABORTED', async (t) => {
  const before = ports()
  const ac = new AbortController()
  let ticks = 0
  const reason = new Error('shutting down')
  const events: string[] = []
  const sink = {
    start: (epoch: number, epochs: number, steps: number) => void events.push(`start ${epoch}/${epochs} ${steps}`),
    tick: () => void events.push('tick'),
    end: (summary: string) => void events.push(`end ${summary}`),
  }
  const run = trainRankingInWorker({
    x: train.images,
    labels: train.labels,
    tower: spec,
    optimizer: { kind: 'adam' },
    method: 'batch-hard',
    epochs: 50,
    batchSize: 100,
    signal: ac.signal,
    progress: sink,
    onProgress: () => ++ticks === 3 && ac.abort(reason),
  })
  t.equal(ports(), before + 1, 'a worker runs')
  const err = await run.then(
    () => undefined,
    (e: unknown) => e,
  )
  t.ok(err instanceof SimsageError, 'a SimsageError')
  t.equal((err as SimsageError).code, 'ERR_SIMSAGE_ABORTED')
  t.equal((err as SimsageError).cause, reason, 'the abort reason is the cause')
  t.equal(ticks, 3, 'nothing reported after the abort')
  t.same(
    events,
    ['start 1/50 30', 'tick', 'tick', 'tick', 'end epoch 1/50: stopped'],
    'the progress sink ran on this thread and was closed',
  )
  const t0 = performance.now()
  while (ports() > before && performance.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 10))
  t.equal(ports(), before, `the worker exited ${(performance.now() - t0).toFixed(0)} ms after the rejection`)

  await t.rejects(
    trainRankingInWorker({
      x: train.images,
      labels: train.labels,
      tower: spec,
      optimizer: { kind: 'adam' },
      method: 'batch-hard',
      epochs: 1,
      batchSize: 100,
      signal: AbortSignal.abort(),
    }),
    { code: 'ERR_SIMSAGE_ABORTED' },
    'an already aborted signal rejects at once',
  )
})

t.test('errors raised inside the worker keep their code', async (t) => {
  const base = {
    x: train.images,
    tower: spec,
    optimizer: { kind: 'adam' } as OptimizerSpec,
    method: 'semi-hard',
    epochs: 1,
    batchSize: 100,
  }
  const err = await trainRankingInWorker({ ...base, labels: train.labels.subarray(1) }).then(
    () => undefined,
    (e: unknown) => e,
  )
  t.ok(err instanceof SimsageError, 'a SimsageError on this thread')
  t.equal(
    (err as SimsageError).code,
    'ERR_SIMSAGE_DIM_MISMATCH',
    'labels that do not match x (checked by trainRanking in the worker)',
  )
  t.match(((err as SimsageError).cause as Error).stack, /trainRanking/, "the cause carries the worker's stack")
  await t.rejects(
    trainRankingInWorker({ ...base, labels: train.labels, optimizer: { kind: 'adam', lr: -1 } }),
    { code: 'ERR_SIMSAGE_INVALID_ARGUMENT', message: /lr/ },
    'a bad optimizer option, found when the worker builds it',
  )

  // Checked on this thread, before a worker starts.
  await t.rejects(
    trainRankingInWorker({ ...base, labels: train.labels, method: 'nearest' }),
    { code: 'ERR_SIMSAGE_INVALID_ARGUMENT', message: /semi-hard/ },
    'unknown method',
  )
  await t.rejects(
    trainRankingInWorker({ ...base, labels: train.labels, x: new Float64Array(4) as unknown as Float32Array }),
    { code: 'ERR_SIMSAGE_INVALID_TYPE' },
    'x not Float32Array',
  )
  await t.rejects(
    trainRankingInWorker({ ...base, labels: train.labels, init: rankingTower({ ...spec, hidden: [16] }).state() }),
    { code: 'ERR_SIMSAGE_DIM_MISMATCH' },
    'init weights of another shape',
  )
  t.throws(
    () => createOptimizer([], { kind: 'lbfgs' } as unknown as OptimizerSpec),
    { code: 'ERR_SIMSAGE_INVALID_ARGUMENT' },
    'unknown optimizer kind',
  )
})

t.test('a callback that throws stops training and rejects with its error', async (t) => {
  const boom = new Error('callback failed')
  await t.rejects(
    trainRankingInWorker({
      x: train.images,
      labels: train.labels,
      tower: spec,
      optimizer: { kind: 'adam' },
      method: 'semi-hard',
      epochs: 20,
      batchSize: 100,
      onEpoch: () => {
        throw boom
      },
    }),
    boom,
  )
})
