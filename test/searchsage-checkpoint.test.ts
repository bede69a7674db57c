// Searchsage checkpoints across the generic training data: a checkpoint written before it
// (test/fixtures/searchsage-v1.safetensors: file fields path, folders, subjects; maxSubjects 2)
// still loads and embeds as it did; `embed --tower entity` reads the flat form and the entities
// file's nested `fields` form alike; a model trained on user fields, saved and loaded, embeds the
// entities file as training saw them.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

import t from 'tap'

import { entityFieldTexts } from '../lib/data/search-data.js'
import { loadSearchJsonl } from '../lib/data/search-jsonl.js'
import { loadSearchSage, saveSearchSage } from '../lib/search/checkpoint.js'
import { embedJsonl } from '../lib/search/embed-jsonl.js'
import { FieldFeatures } from '../lib/search/field-features.js'
import { trainSearchSage } from '../lib/train/searchsage.js'
import { embedItems, embedQueries } from '../lib/train/searchsage-eval.js'
import { writeTinyDataset } from './fixtures/search-jsonl.js'

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-4) =>
  a.length === b.length && Array.from(a).every((x, i) => Math.abs(x - b[i]) <= tol)

t.test('a checkpoint written before the generic data still loads and embeds as before', async (t) => {
  const m = await loadSearchSage(join(import.meta.dirname, 'fixtures', 'searchsage-v1.safetensors'))
  t.same(m.entity.spec.fields, ['path', 'folders', 'subjects'])
  t.same(m.query.spec.fields, ['text'])
  t.equal(m.maxSubjects, 2)
  const q = embedQueries(m, ['fix the router cache'])
  t.ok(close(q, [-0.30343926, -0.11824806, -0.68322128, 0.65356767]), `query vector ${Array.from(q)}`)
  const dir = t.testdirName
  mkdirSync(dir, { recursive: true })
  const flat = join(dir, 'flat.jsonl')
  const nested = join(dir, 'nested.jsonl')
  const subjects = ['a', 'fix router', 'router cache']
  writeFileSync(flat, `${JSON.stringify({ id: 1, path: 'src/Router.php', folders: 'src', subjects })}\n`)
  writeFileSync(
    nested,
    `${JSON.stringify({ id: 1, type: 'file', fields: { subjects, folders: 'src', path: 'src/Router.php' } })}\n`,
  )
  const expected = [-0.69413263, 0.58799237, 0.39669836, 0.12278143]
  const a = await embedJsonl(m, flat, 'entity')
  const b = await embedJsonl(m, nested, 'entity')
  t.ok(close(a.vectors, expected), `entity vector (flat) ${Array.from(a.vectors)}`)
  t.same(Array.from(b.vectors), Array.from(a.vectors), 'the nested fields form embeds the same')
})

t.test('trained on user fields, saved, loaded: embed reads the entities file as training did', async (t) => {
  const paths = writeTinyDataset(t.testdirName)
  const data = await loadSearchJsonl({ ...paths, fields: ['queries', 'title'] })
  const model = trainSearchSage(data, { epochs: 2, batch: 32, dim: 8, bagDim: 8, bagRows: 2000, hidden: [16] })
  const ckpt = join(t.testdirName, 'm.safetensors')
  await saveSearchSage(ckpt, { query: model.query, entity: model.entity, maxSubjects: 64 })
  const m = await loadSearchSage(ckpt)
  t.same(m.entity.spec.fields, ['queries', 'title'], 'the checkpoint records the field names in order')
  const { ids, vectors } = await embedJsonl(m, paths.entities, 'entity')
  t.same(
    ids,
    Array.from({ length: 50 }, (_, i) => 100 + i),
  )
  const direct = embedItems(
    model.entity,
    new FieldFeatures(model.entity.bag, entityFieldTexts(data.entities, model.fields, 64)),
    Int32Array.from({ length: 50 }, (_, i) => i),
  )
  t.ok(close(vectors, direct, 1e-6), 'the same vectors as the trained tower over the loaded catalog')
})
