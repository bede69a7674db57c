// Training options of OmniSearchSage that regularise and select the model: token dropout, the
// recency-weighted pair order, one hash bag shared by both towers, early stopping on a validation
// score (the best epoch's weights are the ones kept), and their bad values.
import t from 'tap'

import { commitSearchData, type Commit, splitCommits } from '../lib/index.js'
import { ErrorCodes } from '../lib/errors.js'
import { Random } from '../lib/random.js'
import { dropTokens, FieldFeatures } from '../lib/search/field-features.js'
import { TextTower } from '../lib/search/towers.js'
import { HashEmbeddingBag } from '../lib/text/hash-bag.js'
import { Cycle, RecencySampler } from '../lib/train/pair-order.js'
import { entityFieldTexts } from '../lib/data/search-data.js'
import { frozenRowsOf, trainSearchSage } from '../lib/train/searchsage.js'
import { evaluateSearchSage } from '../lib/train/searchsage-eval.js'
import { validationScore } from '../lib/train/searchsage-select.js'
import { throwsCode } from './fixtures/assert.js'
import { goldenCommits } from './fixtures/searchsage-fingerprint.js'

t.test('token dropout: about p of the tokens go, every non-empty segment keeps one, presence unchanged', async (t) => {
  const bag = new HashEmbeddingBag({ rows: 1000, dim: 4 })
  const texts = ['the quick brown fox jumps over the lazy dog', 'a', '', 'router cache warmer']
  const ff = new FieldFeatures(bag, [texts])
  const g = ff.gather([0, 1, 2, 3])
  t.equal(dropTokens(g, 0, Math.random), g, 'p = 0 is the input itself')
  const rng = new Random(3)
  let kept = 0
  let total = 0
  for (let rep = 0; rep < 200; rep++) {
    const d = dropTokens(g, 0.3, () => rng.next())
    t.same([...d.present], [...g.present])
    for (let s = 0; s < 4; s++) {
      const before = g.features.offsets[s + 1] - g.features.offsets[s]
      const after = d.features.offsets[s + 1] - d.features.offsets[s]
      if (before > 0 && after < 1) t.fail(`segment ${s} lost every token`)
      if (after > before) t.fail(`segment ${s} grew`)
      // Kept tokens are a subsequence of the segment's tokens.
      const src = [...g.features.hashes.subarray(g.features.offsets[s], g.features.offsets[s + 1])]
      let at = 0
      for (const h of d.features.hashes.subarray(d.features.offsets[s], d.features.offsets[s + 1])) {
        while (at < src.length && src[at] !== h) at++
        if (at === src.length) t.fail(`segment ${s}: a kept token is not in order`)
        at++
      }
    }
    kept += d.features.hashes.length
    total += g.features.hashes.length
  }
  const share = 1 - kept / total
  t.ok(share > 0.25 && share < 0.32, `dropped share ${share.toFixed(3)} (p 0.3; one-token segments keep theirs)`)
})

t.test('pair order: a cycle visits every pair once per pass; recency draws favour the last pairs', async (t) => {
  const c = new Cycle(10, new Random(1))
  t.same(
    [...c.next(10)].sort((a, b) => a - b),
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  )
  t.same(
    [...c.next(10)].sort((a, b) => a - b),
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  )
  const n = 1000
  const s = new RecencySampler(n, 0.25, new Random(2))
  const draws = s.next(200_000)
  let lastQuarter = 0
  let firstQuarter = 0
  for (const i of draws) {
    if (i < 0 || i >= n) t.fail(`draw ${i} out of range`)
    if (i >= 750) lastQuarter++
    if (i < 250) firstQuarter++
  }
  // Weight 2^(-age / (0.25 n)): the last quarter holds (1 - 1/2) / (1 - 1/16) = 0.533 of the mass,
  // the first (1/8 - 1/16) / (1 - 1/16) = 0.0667.
  t.ok(Math.abs(lastQuarter / draws.length - 0.5333) < 0.01, `last quarter ${(lastQuarter / draws.length).toFixed(4)}`)
  t.ok(
    Math.abs(firstQuarter / draws.length - 0.0667) < 0.005,
    `first quarter ${(firstQuarter / draws.length).toFixed(4)}`,
  )
})

t.test('shared bag: both towers use one table; a bag of another size is refused', async (t) => {
  const q = new TextTower({ fields: ['text'], bagRows: 500, bagDim: 8, hidden: [], outputDim: 4 })
  const e = new TextTower({ fields: ['a', 'b'], bagRows: 500, bagDim: 8, hidden: [], outputDim: 4 }, { bag: q.bag })
  t.equal(e.bag, q.bag)
  throwsCode(
    t,
    () => new TextTower({ fields: ['a'], bagRows: 501, bagDim: 8, hidden: [], outputDim: 4 }, { bag: q.bag }),
    ErrorCodes.DIM_MISMATCH,
    'rows differ',
  )
})

const WORDS = ['cache', 'router', 'form', 'console', 'security', 'mailer']

function commits(n: number): Commit[] {
  const rng = new Random(7)
  return Array.from({ length: n }, (_, i) => {
    const c = WORDS[Math.floor(rng.next() * WORDS.length)]
    const f = Math.floor(rng.next() * 6)
    return {
      ts: i,
      user: String(i % 3),
      session: String(Math.floor(i / 3)),
      subject: `[${c}] fix ${c}${f} ${i % 13}`,
      items: [`src/${c}/${c}${f}.php`],
    }
  })
}

const SMALL = { batch: 32, randomNegatives: 16, dim: 8, bagDim: 8, bagRows: 2000, hidden: [16], stepsPerEpoch: 3 }

t.test('early stopping: the best epoch is kept, training stops after `patience` worse epochs', async (t) => {
  const data = commitSearchData(splitCommits(commits(400)))
  const scores = [0.1, 0.3, 0.2, 0.25, 0.9]
  let call = 0
  const tables: Float32Array[] = []
  const model = trainSearchSage(data, {
    ...SMALL,
    epochs: 5,
    patience: 2,
    tokenDropout: 0.1,
    recencyHalfLife: 0.5,
    sharedBag: true,
    validate: () => scores[call++],
    onEpoch: (e) => tables.push(e.query.bag.tensors().table.slice()),
  })
  t.equal(model.epochs, 4, 'stops after epochs 3 and 4 are not better than epoch 2')
  t.equal(model.bestEpoch, 2)
  t.equal(model.validation, 0.3)
  t.equal(model.entity.bag, model.query.bag, 'sharedBag: one bag')
  const differ = (a: Float32Array, b: Float32Array) => a.some((x, i) => x !== b[i])
  t.notOk(differ(model.query.bag.tensors().table, tables[1]), "the kept weights are epoch 2's")
  t.ok(differ(tables[3], tables[1]), 'training moved them after epoch 2')
  const plain = trainSearchSage(data, { ...SMALL, epochs: 2, sharedBag: false })
  t.equal(plain.epochs, 2)
  t.equal(plain.bestEpoch, 2, 'without validation the last epoch is kept')
  t.equal(plain.validation, undefined)
  t.not(plain.entity.bag, plain.query.bag, 'sharedBag false: two bags')
  t.equal(trainSearchSage(data, { ...SMALL }).entity.bag.rows, 2000, 'one shared bag by default')
})

t.test("frozenInput: the entity tower reads each entity's frozen vector; evaluation passes them", async (t) => {
  const data = commitSearchData(splitCommits(commits(400)))
  const n = data.entities.ids.length
  const rng = new Random(4)
  const frozen = Float32Array.from({ length: n * SMALL.dim }, (_, i) => (i < SMALL.dim ? 0 : rng.next() - 0.5))
  const model = trainSearchSage(data, { ...SMALL, frozen, frozenInput: true })
  t.equal(model.entity.spec.frozenDim, SMALL.dim)
  t.ok(model.frozen && model.frozen.has[0] === 0 && model.frozen.has[1] === 1, 'entity 0 has no vector (zero row)')
  const ff = new FieldFeatures(model.entity.bag, entityFieldTexts(data.entities, model.fields, 16))
  const ids = Int32Array.of(1)
  const a = model.entity.forward(ff.gather(ids), 1, frozenRowsOf(model.frozen, ids, SMALL.dim)).slice()
  const b = model.entity.forward(ff.gather(ids), 1, new Float32Array(SMALL.dim)).slice()
  t.ok(
    a.some((x, i) => x !== b[i]),
    'the frozen vector changes the entity embedding',
  )
  const r = evaluateSearchSage(model, data, 16)
  t.ok(r.entity.pairs > 0 && r.entity.recallAll >= 0)
  throwsCode(t, () => trainSearchSage(data, { ...SMALL, frozenInput: true }), ErrorCodes.INVALID_TYPE, 'no vectors')
})

t.test('bad option values are coded errors', async (t) => {
  const data = commitSearchData(splitCommits(commits(200)))
  for (const bad of [
    { tokenDropout: 1 },
    { tokenDropout: -0.1 },
    { tokenDropout: Number.NaN },
    { recencyHalfLife: -1 },
    { patience: 0 },
    { patience: 1.5 },
    { passesPerEpoch: 0 },
    { passesPerEpoch: Number.POSITIVE_INFINITY },
    { emaDecay: 1 },
    { emaDecay: -0.5 },
    { emaDecay: Number.NaN },
  ]) {
    throwsCode(t, () => trainSearchSage(data, { ...SMALL, ...bad }), ErrorCodes.INVALID_ARGUMENT, JSON.stringify(bad))
  }
})

t.test('emaDecay: the returned model holds the average of the sampled steps, not the last step', async (t) => {
  const data = commitSearchData(splitCommits(commits(400)))
  const opts = { ...SMALL, epochs: 1, tokenDropout: 0 }
  const table = (m: { query: { bag: { tensors(): { table: Float32Array } } } }) => m.query.bag.tensors().table
  const worst = (a: Float32Array, b: Float32Array) => Math.max(...Array.from(a, (x, i) => Math.abs(x - b[i])))
  // Three steps sample only the first (every 4th from the first): the average is step 1's weights.
  // Decay 0.5: a horizon of 2 steps, within the run's 3.
  const averaged = trainSearchSage(data, { ...opts, stepsPerEpoch: 3, emaDecay: 0.5 })
  const first = trainSearchSage(data, { ...opts, stepsPerEpoch: 1, emaDecay: 0 })
  const last = trainSearchSage(data, { ...opts, stepsPerEpoch: 3, emaDecay: 0 })
  const d = worst(table(averaged), table(first))
  t.ok(d < 1e-5, `average = step 1 (largest difference ${d})`)
  t.ok(worst(table(averaged), table(last)) > 1e-3, 'and not step 3')
  const w = averaged.query.mlp.parameters()[0].data
  t.ok(worst(w, first.query.mlp.parameters()[0].data) < 1e-5, 'the MLP too')
  // Decay 0.99 (horizon 100 steps) on a 3-step run: the last step's weights.
  const short = trainSearchSage(data, { ...opts, stepsPerEpoch: 3, emaDecay: 0.99 })
  t.equal(worst(table(short), table(last)), 0, 'a run shorter than the horizon keeps the last step')
})

t.test('every task draws `batch` pairs a step; the weights weigh the losses', async (t) => {
  const data = commitSearchData(splitCommits(goldenCommits()))
  t.ok(data.train.query.entity.length > 32, 'the log has query → query pairs')
  const pairs = (m: { pairsPerSecond: number; trainSeconds: number }) => Math.round(m.pairsPerSecond * m.trainSeconds)
  t.equal(pairs(trainSearchSage(data, { ...SMALL, tasks: { entity: 1 } })), 3 * 32, 'one task: batch a step')
  const both = trainSearchSage(data, { ...SMALL, tasks: { entity: 8, query: 2 } })
  t.equal(pairs(both), 3 * 64, 'entity 8 : query 2: batch pairs of each task a step')
  // Weights: the same pairs, the query task weighed 4x as much, move the query tower differently.
  const heavy = trainSearchSage(data, { ...SMALL, tasks: { entity: 2, query: 2 } })
  const a = both.query.mlp.parameters()[0].data
  const b = heavy.query.mlp.parameters()[0].data
  t.ok(
    a.some((x, i) => x !== b[i]),
    'the weights change the objective, not only the batch',
  )
})

t.test('the selection score weighs the trained tasks by their weights', async (t) => {
  const r = { entity: { recallAll: 0.5 }, query: { recallAll: 0.1 }, frozen: { recallAll: 0.3 } }
  t.equal(validationScore({ entity: 1 }, r), 0.5, 'single task: its Recall@10')
  t.equal(validationScore({ query: 1 }, r), 0.1)
  t.equal(validationScore({ frozen: 3 }, r), 0.3)
  t.ok(Math.abs(validationScore({ entity: 8, query: 2, frozen: 2 }, r) - (4 + 0.2 + 0.6) / 12) < 1e-12)
  t.ok(Math.abs(validationScore({ entity: { pin: 6, product: 2 }, query: 2 }, r) - (4 + 0.2) / 10) < 1e-12)
})
