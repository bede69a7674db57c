// The user's JSONL data for searchsage (lib/data/search-jsonl.ts): good files (plain and gzip,
// fields in order of first appearance, list fields, types, the query catalog), every bad-input
// case as MALFORMED_INPUT naming the file and the line, and a tiny data set trained through
// trainSearchSage whose query tower then finds the entity of a training query.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'

import t, { type Test } from 'tap'

import { entityFieldTexts, entityFieldTextsExcluding } from '../lib/data/search-data.js'
import { loadSearchJsonl } from '../lib/data/search-jsonl.js'
import { ErrorCodes, SimsageError } from '../lib/errors.js'
import { FieldFeatures } from '../lib/search/field-features.js'
import { trainSearchSage } from '../lib/train/searchsage.js'
import { rejectsCode, throwsCode } from './fixtures/assert.js'
import { embedItems, embedQueries } from '../lib/train/searchsage-eval.js'
import { entityName, tinyPairs, writeTinyDataset } from './fixtures/search-jsonl.js'

let n = 0
function file(t: Test, text: string | Uint8Array, name = `f${n++}.jsonl`): string {
  const dir = t.testdirName
  mkdirSync(dir, { recursive: true })
  const p = join(dir, name)
  writeFileSync(p, text)
  return p
}
const jsonl = (...rows: unknown[]) => `${rows.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n')}\n`

const ENTITIES = jsonl(
  { id: 7, type: 'pin', fields: { title: 'red kettle', queries: ['kettle', 'red kettle'] } },
  '',
  { id: 'b', type: 'board', fields: { desc: 'kitchen things' } },
  { id: 9, fields: { queries: [], title: 'blue mug' } },
)
const PAIRS = jsonl(
  { query: 'red kettle', entity: 7, type: 'pin' },
  { query: 'kitchen', entity: 'b' },
  { query: 'mug', entity: '9' },
)

t.test('good files: plain and gzip; fields, lists, types, pairs and the query catalog', async (t) => {
  for (const gz of [false, true]) {
    const enc = (s: string) => (gz ? gzipSync(s) : s)
    const d = await loadSearchJsonl({
      entities: file(t, enc(ENTITIES)),
      pairs: file(t, enc(PAIRS)),
      queryPairs: file(t, enc(jsonl({ query: 'mug', other: 'kitchen' }, { query: 'teapot', other: 'red kettle' }))),
      queryField: 'queries',
    })
    const c = d.entities
    t.same(c.ids, ['7', 'b', '9'], `${gz ? 'gzip' : 'plain'}: ids as strings`)
    t.same(c.types, ['pin', 'board', ''])
    t.same(
      c.fields.map((f) => [f.name, f.values]),
      [
        ['title', [['red kettle'], [], ['blue mug']]],
        ['queries', [['kettle', 'red kettle'], [], []]],
        ['desc', [[], ['kitchen things'], []]],
      ],
      'fields in order of first appearance, absent = empty list',
    )
    t.same([...c.popularity], [1, 1, 1])
    t.equal(d.queryField, 'queries')
    t.same(d.queries.ids, ['red kettle', 'kitchen', 'mug', 'teapot'])
    t.same(d.train.entity.queries, ['red kettle', 'kitchen', 'mug'])
    t.same([...d.train.entity.entity], [0, 1, 2])
    t.same(d.train.query.queries, ['mug', 'teapot'])
    t.same([...d.train.query.entity], [1, 0], 'query pairs point at the query catalog')
    t.equal(d.test.entity.queries.length + d.test.query.queries.length, 0, 'no test pairs')
    // Texts as the towers read them; the pair's own query leaves its entity's query field.
    t.same(entityFieldTexts(c, ['queries', 'title'], 1), [
      ['red kettle', '', ''],
      ['red kettle', '', 'blue mug'],
    ])
    t.same(entityFieldTextsExcluding(c, ['queries'], 8, [0], d.queryField, ['red kettle']), [['kettle']])
  }
  // A chosen field list: its order, and no query pairs.
  const d = await loadSearchJsonl({
    entities: file(t, ENTITIES),
    pairs: file(t, PAIRS),
    fields: ['desc', 'title', 'queries'],
  })
  t.same(
    d.entities.fields.map((f) => f.name),
    ['desc', 'title', 'queries'],
  )
  t.equal(d.train.query.queries.length, 0)
  t.equal(d.queryField, undefined)
  // A subset: the other fields are not read (not even checked).
  const sub = await loadSearchJsonl({
    entities: file(t, jsonl({ id: 1, fields: { title: 'a', n: 5 } }, { id: 2, fields: { title: 'b' } })),
    pairs: file(t, jsonl({ query: 'a', entity: 1 })),
    fields: ['title'],
  })
  t.same(
    sub.entities.fields.map((f) => [f.name, f.values]),
    [['title', [['a'], ['b']]]],
  )
})

/** Asserts loading rejects with MALFORMED_INPUT and a message matching `message`. */
async function bad(t: Test, o: Parameters<typeof loadSearchJsonl>[0], message: RegExp, what: string) {
  await loadSearchJsonl(o).then(
    () => t.fail(`${what}: resolved`),
    (e) => {
      t.ok(e instanceof SimsageError, `${what}: a SimsageError`)
      t.equal(e.code, ErrorCodes.MALFORMED_INPUT, `${what}: MALFORMED_INPUT`)
      t.match(e.message, message, `${what}: ${e.message}`)
    },
  )
}

t.test('bad entities: the file and the line in the message', async (t) => {
  const pairs = file(t, PAIRS)
  const ok = { id: 1, fields: { title: 'x' } }
  const cases: [string, unknown, RegExp][] = [
    ['malformed JSON', '{"id": 2, "fields":', /:2: not valid JSON/],
    ['not an object', '[1, 2]', /:2: expected an entity object/],
    ['no id', { fields: { title: 'a' } }, /:2: "id" must be a non-empty string or a finite number/],
    ['null id', { id: null, fields: { title: 'a' } }, /:2: "id" must be/],
    ['duplicate id', { id: '1', fields: { title: 'a' } }, /:2: entity id 1 appears twice \(first on line 1\)/],
    ['no fields', { id: 2, title: 'a' }, /:2: expected "fields" as an object/],
    ['fields a list', { id: 2, fields: ['a'] }, /:2: expected "fields"/],
    ['empty text', { id: 2, fields: { title: '' } }, /:2: "fields"\."title" must be a non-empty string/],
    ['blank text', { id: 2, fields: { title: '  ' } }, /:2: "fields"\."title" must be a non-empty string/],
    ['number text', { id: 2, fields: { title: 5 } }, /:2: "fields"\."title" must be a non-empty string, got/],
    ['null text', { id: 2, fields: { title: null } }, /:2: "fields"\."title" must be/],
    ['non-string in a list', { id: 2, fields: { q: ['a', 3] } }, /:2: "fields"\."q"\[1\] must be a non-empty string/],
    ['empty string in a list', { id: 2, fields: { q: ['a', ''] } }, /:2: "fields"\."q"\[1\]/],
    ['no text at all', { id: 2, fields: { q: [] } }, /:2: the entity has no text in any field/],
    ['bad type', { id: 2, type: 3, fields: { title: 'a' } }, /:2: "type" must be a non-empty string/],
  ]
  for (const [what, row, message] of cases) {
    await bad(t, { entities: file(t, jsonl(ok, row)), pairs }, message, what)
  }
  await bad(
    t,
    { entities: file(t, jsonl(ok, { id: 2, fields: { titel: 'typo' } })), pairs, fields: ['title'] },
    /:2: the entity has no text in any field/,
    'only fields outside --fields',
  )
  await bad(
    t,
    { entities: file(t, jsonl(ok)), pairs, fields: ['title', 'queries'] },
    /f\d+\.jsonl: no entity has the field "queries" \(fields present: "title"\)/,
    'a chosen field no entity has',
  )
  await bad(
    t,
    { entities: file(t, jsonl(ok)), pairs, queryField: 'queries' },
    /no entity has the query field "queries"/,
    'a query field no entity has',
  )
  await bad(t, { entities: file(t, '\n\n'), pairs }, /holds no entities/, 'no entities')
  await rejectsCode(
    t,
    () => loadSearchJsonl({ entities: file(t, jsonl(ok)), pairs, fields: ['title', 'title'] }),
    ErrorCodes.INVALID_ARGUMENT,
    'a field named twice',
  )
})

t.test('bad pairs and query pairs: the file and the line in the message', async (t) => {
  const entities = file(t, ENTITIES)
  const first = { query: 'kettle', entity: 7 }
  const cases: [string, unknown, RegExp][] = [
    ['malformed JSON', '{"query": "a", ', /:2: not valid JSON/],
    ['not an object', '"a"', /:2: expected a pair object/],
    ['unknown entity', { query: 'a', entity: 8 }, /:2: unknown entity id 8 \(not in the entities file\)/],
    ['no entity', { query: 'a' }, /:2: "entity" must be a non-empty string or a finite number/],
    ['empty query', { query: ' ', entity: 7 }, /:2: "query" must be a non-empty string/],
    ['query not a string', { query: ['a'], entity: 7 }, /:2: "query" must be a non-empty string/],
    [
      'unknown type',
      { query: 'a', entity: 7, type: 'product' },
      /:2: unknown entity type "product" \(the entities' types: "pin", "board"\)/,
    ],
    ['wrong type', { query: 'a', entity: 7, type: 'board' }, /:2: entity 7 is of type "pin", not "board"/],
    ['type of an untyped entity', { query: 'a', entity: 9, type: 'pin' }, /:2: entity 9 is of type none, not "pin"/],
  ]
  for (const [what, row, message] of cases) {
    await bad(t, { entities, pairs: file(t, jsonl(first, row)) }, message, what)
  }
  await bad(t, { entities, pairs: file(t, '') }, /holds no pairs/, 'no pairs')
  const pairs = file(t, PAIRS)
  const qcases: [string, unknown, RegExp][] = [
    ['malformed JSON', '{', /:2: not valid JSON/],
    ['no other', { query: 'a' }, /:2: "other" must be a non-empty string/],
    ['empty query', { query: '', other: 'b' }, /:2: "query" must be a non-empty string/],
  ]
  for (const [what, row, message] of qcases) {
    await bad(t, { entities, pairs, queryPairs: file(t, jsonl({ query: 'a', other: 'b' }, row)) }, message, what)
  }
  await bad(t, { entities, pairs, queryPairs: file(t, '\n') }, /holds no query pairs/, 'no query pairs')
})

t.test('a tiny user data set trains; the query tower finds the entity of a training query', async (t) => {
  const paths = writeTinyDataset(t.testdirName)
  const data = await loadSearchJsonl({ ...paths, queryField: 'queries' })
  t.same(
    data.entities.fields.map((f) => f.name),
    ['title', 'queries'],
  )
  const losses: number[] = []
  const model = trainSearchSage(data, {
    epochs: 12,
    batch: 32,
    randomNegatives: 16,
    dim: 16,
    bagDim: 16,
    bagRows: 4000,
    hidden: [32],
    seed: 3,
    onEpoch: (e) => losses.push(e.loss),
  })
  t.same(model.entity.spec.fields, ['title', 'queries'], 'the entity tower reads the user fields')
  t.ok(losses[losses.length - 1] < losses[0], `loss falls: ${losses.map((l) => l.toFixed(3))}`)
  const entities = embedItems(
    model.entity,
    new FieldFeatures(model.entity.bag, entityFieldTexts(data.entities, model.fields, 64)),
    Int32Array.from({ length: 50 }, (_, i) => i),
  )
  const pairs = tinyPairs()
  const q = embedQueries(
    model,
    pairs.map((p) => p.query),
  )
  const D = 16
  let top1 = 0
  pairs.forEach((p, i) => {
    let best = -1
    let bestScore = -Infinity
    for (let e = 0; e < 50; e++) {
      let s = 0
      for (let k = 0; k < D; k++) s += q[i * D + k] * entities[e * D + k]
      if (s > bestScore) {
        bestScore = s
        best = e
      }
    }
    if (data.entities.ids[best] === String(p.entity)) top1++
  })
  t.ok(top1 / pairs.length > 0.6, `top-1 accuracy on training queries ${top1}/${pairs.length} (chance 1/50)`)
  t.equal(entityName(3), 'dusty lantern')
  throwsCode(
    t,
    () => trainSearchSage(data, { fields: ['title', 'summary'], epochs: 1 }),
    ErrorCodes.INVALID_ARGUMENT,
    'a trainer field the catalog lacks',
  )
})
