// Per-type query → entity tasks (`tasks.entity` as weights per entity type, the paper's pin 8 :
// product 4 mix): each type's task gets that type's pairs and negatives, the model reports the
// tasks it trained, evaluation scores each type against its own entities, and bad weights.
import t from 'tap'

import { ErrorCodes } from '../lib/errors.js'
import { loadSearchJsonl } from '../lib/data/search-jsonl.js'
// From the package's entry point: the searchsage API is public.
import { entityTaskSplit, evaluateSearchSage, trainSearchSage } from '../lib/index.js'
import { throwsCode } from './fixtures/assert.js'
import { writeTinyDataset } from './fixtures/search-jsonl.js'

const small = { batch: 32, dim: 8, bagDim: 8, bagRows: 2000, hidden: [16] }

t.test('entityTaskSplit: one task over all, or one per weighted type with its pairs and pool', async (t) => {
  const data = await loadSearchJsonl(writeTinyDataset(t.testdirName))
  const types = data.entities.types as string[]
  const pairs = data.train.entity.entity
  t.same(entityTaskSplit(undefined, data.entities, pairs), [], 'absent: no task')
  t.same(entityTaskSplit(0, data.entities, pairs), [], '0: no task')
  const [all] = entityTaskSplit(3, data.entities, pairs)
  t.same([all.name, all.weight, all.pairs.length, all.pool], ['entity', 3, pairs.length, undefined])
  const split = entityTaskSplit({ pin: 8, product: 4 }, data.entities, pairs)
  t.same(
    split.map((s) => [s.name, s.weight]),
    [
      ['pin', 8],
      ['product', 4],
    ],
  )
  for (const s of split) {
    t.ok(
      Array.from(s.pairs).every((p) => types[pairs[p]] === s.type),
      `${s.name}: every pair's entity is a ${s.type}`,
    )
    t.equal(s.pairs.length, pairs.filter((e) => types[e] === s.type).length, `${s.name}: all its pairs`)
    t.same(
      Array.from(s.pool as Int32Array),
      Array.from(types.keys()).filter((e) => types[e] === s.type),
      `${s.name}: negatives from its own type only`,
    )
  }
  t.same(
    entityTaskSplit({ pin: 1, product: 0 }, data.entities, pairs).map((s) => s.name),
    ['pin'],
    'weight 0: not trained',
  )
  const bad: [unknown, RegExp][] = [
    [{ gem: 1 }, /no entity type "gem" \(the entities' types: "pin", "product"\)/],
    [{ pin: -1 }, /must be a number >= 0/],
    [{ pin: Number.NaN }, /must be a number >= 0/],
    [-2, /must be >= 0/],
    [[1], /weights per entity type/],
  ]
  for (const [w, message] of bad) {
    throwsCode(
      t,
      () => entityTaskSplit(w as never, data.entities, pairs),
      ErrorCodes.INVALID_ARGUMENT,
      JSON.stringify(w),
    )
    t.throws(() => entityTaskSplit(w as never, data.entities, pairs), message)
  }
  const untyped = { ...data.entities, types: undefined }
  t.throws(() => entityTaskSplit({ pin: 1 }, untyped, pairs), /types: none/, 'a catalog without types')
  const onlyProducts = pairs.filter((e) => types[e] === 'product')
  t.throws(() => entityTaskSplit({ pin: 1 }, data.entities, onlyProducts), /"pin" has no training pairs/)
})

t.test('per-type training: the tasks reported, each type retrieved within its own entities', async (t) => {
  // The JSONL data has no held-out pairs: score the training pairs.
  const loaded = await loadSearchJsonl(writeTinyDataset(t.testdirName))
  const data = { ...loaded, test: loaded.train }
  const model = trainSearchSage(data, {
    ...small,
    epochs: 2,
    randomNegatives: 8,
    tasks: { entity: { pin: 8, product: 4 }, query: 2 },
  })
  t.same(model.entityTasks, [
    { name: 'pin', weight: 8, pairs: 100 },
    { name: 'product', weight: 4, pairs: 100 },
  ])
  // A model after one step (recall well below 1, so the inequality below has room) and the trained one.
  const early = trainSearchSage(data, {
    ...small,
    epochs: 1,
    stepsPerEpoch: 1,
    tasks: { entity: { pin: 1, product: 1 } },
  })
  for (const [name, m] of [
    ['one step', early],
    ['trained', model],
  ] as const) {
    const r = evaluateSearchSage(m, data)
    const types = r.types as NonNullable<typeof r.types>
    t.same(Object.keys(types).sort(), ['pin', 'product'])
    t.equal(types.pin.pairs + types.product.pairs, r.entity.pairs, 'every test pair in its type')
    // Within a type's 25 entities a positive ranks no lower than among all 50.
    const mean =
      (types.pin.recallAll * types.pin.pairs + types.product.recallAll * types.product.pairs) / r.entity.pairs
    t.ok(mean >= r.entity.recallAll, `${name}: per-type recall ${mean} >= whole-catalog ${r.entity.recallAll}`)
    if (m === model) {
      // Recall@10 among 25 entities is 0.4 by chance: both tasks learned.
      t.ok(types.pin.recallAll > 0.9 && types.product.recallAll > 0.9, JSON.stringify(types))
    } else t.ok(r.entity.recallAll < 0.9, `${name}: whole-catalog recall ${r.entity.recallAll}`)
  }
  const untyped = trainSearchSage(data, { ...small, epochs: 1, tasks: { entity: 1 } })
  t.same(untyped.entityTasks, [{ name: 'entity', weight: 1, pairs: 200 }])
})
