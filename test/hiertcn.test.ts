// HierTCN's pieces: the next-item losses and the whole model against central differences, the
// GRU-only model's gradient, the action lanes, and checkpoints (round trip, damage, export).
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import t, { type Test } from 'tap'

import { ActionLanes } from '../lib/data/action-lanes.js'
import { SessionBatches } from '../lib/data/session-batches.js'
import { loadInteractions } from '../lib/data/sessions.js'
import { GRU4Rec } from '../lib/models/gru4rec.js'
import { HierTCN, type HierTCNSpec } from '../lib/models/hiertcn.js'
import { HierTCNRecommender } from '../lib/models/hiertcn-recommender.js'
import { NextItemLoss, type NextItemLossKind } from '../lib/models/next-item-loss.js'
import { Parameter } from '../lib/nn/module.js'
import { Random } from '../lib/random.js'
import { itemIndex, loadHierTCN, saveHierTCN } from '../lib/train/hiertcn-checkpoint.js'
import { rejectsCode } from './fixtures/assert.js'

const dir = mkdtempSync(join(tmpdir(), 'simsage-hiertcn-'))

/** A small log: 5 users, sessions of 1-5 actions over 7 items, one long session (cut into pieces). */
function writeLog(): string {
  const rng = new Random(5)
  const rows = ['user_id,session_id,timestamp,item']
  let ts = 1000
  for (let u = 0; u < 5; u++) {
    const sessions = 1 + (u % 3)
    for (let s = 0; s < sessions; s++) {
      const n = u === 4 && s === 0 ? 7 : 1 + Math.floor(rng.next() * 4)
      for (let a = 0; a < n; a++) rows.push(`u${u},${s},${(ts += 60)},item${Math.floor(rng.next() * 7)}`)
      ts += 86400
    }
  }
  const path = join(dir, 'log.csv')
  writeFileSync(path, `${rows.join('\n')}\n`)
  return path
}

function loss(p: Parameter, bias: Parameter, kind: NextItemLossKind, seed = 3) {
  return new NextItemLoss(p, bias, { kind, negatives: 4, rng: new Random(seed) })
}

t.test('next-item losses: gradients match central differences', async (t) => {
  const V = 7
  const D = 3
  const rows = 4
  const rng = new Random(9)
  const rand = (n: number) => Float32Array.from({ length: n }, () => rng.next() * 2 - 1)
  for (const kind of ['softmax', 'sampled', 'hinge'] as const) {
    const E = new Parameter('e', [V, D], rand(V * D))
    const b = new Parameter('b', [V], rand(V))
    const p = rand(rows * D)
    const targets = Int32Array.from([0, 3, 3, 6])
    const f = () => loss(E, b, kind).step(p, targets, rows).loss
    E.zeroGrad()
    b.zeroGrad()
    const { dp } = loss(E, b, kind).step(p, targets, rows)
    const dpCopy = Float32Array.from(dp)
    const h = 1e-2
    const check = (arr: Float32Array, grad: Float32Array, what: string) => {
      let worst = 0
      for (let i = 0; i < arr.length; i++) {
        const x = arr[i]
        arr[i] = x + h
        const up = f()
        arr[i] = x - h
        const down = f()
        arr[i] = x
        const num = (up - down) / (2 * h)
        worst = Math.max(worst, Math.abs(num - grad[i]) / Math.max(1, Math.abs(num)))
      }
      t.ok(worst < 2e-2, `${kind}: d${what} within tolerance (worst ${worst.toExponential(2)})`)
    }
    const gE = Float32Array.from(E.grad)
    const gB = Float32Array.from(b.grad)
    check(p, dpCopy, 'p')
    check(E.data, gE, 'E')
    check(b.data, gB, 'bias')
  }
})

/** Sum of the softmax loss over every batch of one pass (state reset first): the model's objective. */
function objective<B>(
  model: { forward(b: B): { p: Float32Array; targets: Int32Array; rows: number }; resetState(n: number): void },
  l: NextItemLoss,
  batches: B[],
  slots: number,
  backward?: (dp: Float32Array) => void,
): number {
  model.resetState(slots)
  let sum = 0
  for (const b of batches) {
    const pr = model.forward(b)
    const { loss: v, dp } = l.step(pr.p, pr.targets, pr.rows)
    sum += v
    backward?.(dp)
  }
  return sum
}

function gradCheck(
  t: Test,
  params: [string, Parameter][],
  f: () => number,
  grads: Map<Parameter, Float32Array>,
  what: string,
) {
  // Small steps: the TCN's ReLUs make the objective piecewise smooth, and a large step crosses kinks.
  const h = 2e-3
  const rng = new Random(17)
  for (const [name, p] of params) {
    let worst = 0
    const picks = Math.min(p.size, 6)
    for (let k = 0; k < picks; k++) {
      const i = Math.floor(rng.next() * p.size)
      const x = p.data[i]
      p.data[i] = x + h
      const up = f()
      p.data[i] = x - h
      const down = f()
      p.data[i] = x
      const num = (up - down) / (2 * h)
      const ana = grads.get(p)![i]
      worst = Math.max(worst, Math.abs(num - ana) / Math.max(0.05, Math.abs(num)))
    }
    t.ok(worst < 5e-2, `${what}: d${name} matches central differences (worst rel ${worst.toExponential(2)})`)
  }
}

t.test('HierTCN: the gradient of every parameter group matches central differences', async (t) => {
  const log = await loadInteractions(writeLog())
  const users = Int32Array.from({ length: log.users.length }, (_, i) => i)
  // One batch holding several session steps per slot: the GRU state crosses steps inside it.
  const gen = new SessionBatches(log, users, { queues: 2, sessionSteps: 3, maxLength: 4, shuffle: false, buffers: 4 })
  // One batch: the state carried into a later batch is detached (truncated back-propagation), so
  // a multi-batch objective would not be the function the gradient describes.
  const batches = [...gen].slice(0, 1)
  t.ok(batches.length === 1, 'the log yields a batch')
  for (const userHidden of [3, 0]) {
    const spec: HierTCNSpec = {
      items: log.items.length,
      embeddingDim: 3,
      userHidden,
      userLayers: 2,
      channels: [4, 3],
      dilations: [1, 2],
      kernelSize: 2,
      dropout: 0,
      decayTau: userHidden ? 86400 : 0,
    }
    const model = new HierTCN(spec, 4)
    const l = loss(model.output, model.itemBias, 'softmax')
    const params = model.namedParameters()
    for (const [, p] of params) p.zeroGrad()
    objective(model, l, batches, 2, (dp) => model.backward(dp))
    const grads = new Map(params.map(([, p]) => [p, Float32Array.from(p.grad)]))
    gradCheck(t, params, () => objective(model, l, batches, 2), grads, userHidden ? 'HierTCN' : 'TCN-only')
  }
})

t.test('GRU-only: gradients match central differences; lanes cover every action once', async (t) => {
  const log = await loadInteractions(writeLog())
  const users = Int32Array.from({ length: log.users.length }, (_, i) => i)
  const lanes = new ActionLanes(log, users, { lanes: 2, steps: 5, shuffle: false })
  const seen: number[] = []
  const batches = []
  for (const b of lanes) {
    for (let i = 0; i < b.input.length; i++) {
      if (b.target[i] >= 0) seen.push(b.target[i])
      if (b.mask[i] && b.input[i] === -2) t.equal(b.carry[i], 0, 'a user start resets the state')
    }
    batches.push({
      ...b,
      input: b.input.slice(),
      target: b.target.slice(),
      carry: b.carry.slice(),
      mask: b.mask.slice(),
      user: b.user.slice(),
    })
  }
  let expected = 0
  for (let u = 0; u < log.users.length; u++) expected += Math.max(0, log.actionsOf(u) - 1)
  t.equal(seen.length, expected, "every action after a user's first is a target exactly once")
  const model = new GRU4Rec({ items: log.items.length, embeddingDim: 3, hidden: 4, layers: 2 }, 2)
  const l = loss(model.output, model.itemBias, 'softmax')
  const params = model.namedParameters()
  const first = batches.slice(0, 1)
  for (const [, p] of params) p.zeroGrad()
  objective(model, l, first, 2, (dp) => model.backward(dp))
  const grads1 = new Map(params.map(([, p]) => [p, Float32Array.from(p.grad)]))
  gradCheck(t, params, () => objective(model, l, first, 2), grads1, 'GRU-only')
})

t.test('checkpoints: round trip, damage, export as an EmbeddingIndex', async (t) => {
  const spec: HierTCNSpec = {
    items: 5,
    embeddingDim: 4,
    userHidden: 3,
    userLayers: 2,
    channels: [4],
    dilations: [1],
    kernelSize: 3,
    dropout: 0.1,
    decayTau: 0,
  }
  const model = new HierTCN(spec, 8)
  const items = ['a', 'b,c', 'd', 'e"', 'f']
  const path = join(dir, 'model.safetensors')
  await saveHierTCN(path, model, items)
  const back = await loadHierTCN(path)
  t.same(back.items, items, 'the vocabulary comes back')
  for (const [[n, p], [, q]] of model.namedParameters().map((x, i) => [x, back.model.namedParameters()[i]] as const)) {
    t.same(Array.from(q.data), Array.from(p.data), `${n} comes back`)
  }
  const bytes = readFileSync(path)
  writeFileSync(join(dir, 'cut.safetensors'), bytes.subarray(0, bytes.length - 7))
  await rejectsCode(t, () => loadHierTCN(join(dir, 'cut.safetensors')), 'ERR_SIMSAGE_CORRUPT_FILE', 'truncated')
  await rejectsCode(t, () => loadHierTCN(join(dir, 'none.safetensors')), 'ERR_SIMSAGE_NOT_FOUND', 'missing')
  const index = itemIndex(model, items)
  t.equal(index.size, 5, 'one vector per item')
  const q = model.output.data.slice(4, 8)
  const res = index.searchSync(q, 1)
  t.ok(res.get(0).ids.length === 1, 'searchable')
  t.same(index.metadata.items, items, 'the vocabulary rides in the index metadata')
  index.dispose()
})

t.test('HierTCNRecommender: the prediction for a history equals the evaluation path', async (t) => {
  const log = await loadInteractions(writeLog())
  const spec: HierTCNSpec = {
    items: log.items.length,
    embeddingDim: 4,
    userHidden: 3,
    userLayers: 2,
    channels: [5, 4],
    dilations: [1, 2],
    kernelSize: 2,
    dropout: 0.2,
    decayTau: 86400,
  }
  const model = new HierTCN(spec, 6)
  const L = 4
  const rec = new HierTCNRecommender(model, log.items, { maxLength: L })
  let checked = 0
  for (let u = 0; u < log.users.length; u++) {
    const h = log.user(u)
    const n = h.item.length
    if (n < 2) continue
    const session = new Int32Array(n)
    for (let s = 0; s + 1 < h.sessionStart.length; s++) session.fill(s, h.sessionStart[s], h.sessionStart[s + 1])
    const newSession = session[n - 1] !== session[n - 2]
    const history = {
      items: Array.from(h.item.subarray(0, n - 1), (i) => log.items[i]),
      sessions: Array.from(session.subarray(0, n - 1)),
      times: Array.from(h.time.subarray(0, n - 1)),
    }
    const [r] = await rec.recommend([history], 3, { newSession, time: h.time[n - 1] })
    // The evaluation path: the user's whole log; its last prediction row is for the last action.
    const l = loss(model.output, model.itemBias, 'softmax')
    model.training = false
    model.resetState(1)
    let last: Float32Array | undefined
    for (const b of new SessionBatches(log, Int32Array.of(u), {
      queues: 1,
      sessionSteps: 2,
      maxLength: L,
      shuffle: false,
    })) {
      const pr = model.forward(b)
      if (pr.rows > 0) last = Float32Array.from(l.scores(pr.p, pr.rows).subarray((pr.rows - 1) * log.items.length))
    }
    const order = Array.from(last!.keys()).sort((a, b) => last![b] - last![a])
    t.same(
      r.items,
      order.slice(0, 3).map((i) => log.items[i]),
      `user ${u}: the same top 3`,
    )
    for (let j = 0; j < 3; j++) t.ok(Math.abs(r.scores[j] - last![order[j]]) < 1e-4, `user ${u}: score ${j}`)
    checked++
  }
  t.ok(checked >= 3, `${checked} users checked`)
  const [ex] = await rec.recommend([{ items: [log.items[0], 'never-seen'] }], 3, { excludeSeen: true })
  t.equal(ex.unknown, 1, 'an unknown item is skipped and counted')
  t.notOk(ex.items.includes(log.items[0]), 'excludeSeen drops what the user touched')
  rec.dispose()
  await rejectsCode(t, () => rec.recommend([{ items: [] }], 1), 'ERR_SIMSAGE_DISPOSED', 'disposed')
})
