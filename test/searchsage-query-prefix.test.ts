// The query → query task on a prefix of the query vector (`queryPrefix`): its loss touches only
// those dimensions, the default (dim / 4 beside an entity task, all dims alone), evaluation and
// `embed --prefix` on the prefix, the checkpoint records it, and bad values.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'

import t from 'tap'

import { ErrorCodes } from '../lib/errors.js'
import { loadSearchJsonl } from '../lib/data/search-jsonl.js'
import { loadSafetensors, saveSafetensors } from '../lib/io/safetensors.js'
import { loadSearchSage, saveSearchSage } from '../lib/search/checkpoint.js'
import { embedJsonl, embedToIndex } from '../lib/search/embed-jsonl.js'
import { FieldFeatures } from '../lib/search/field-features.js'
import { prefixRows } from '../lib/search/prefix.js'
import { TextTower } from '../lib/search/towers.js'
import { EmbeddingIndex } from '../lib/similarity/embedding-index.js'
import { trainSearchSage } from '../lib/train/searchsage.js'
import { embedItems, evaluateSearchSage, recallByDot } from '../lib/train/searchsage-eval.js'
import { rejectsCode, throwsCode } from './fixtures/assert.js'
import { writeTinyDataset } from './fixtures/search-jsonl.js'

const small = { batch: 32, dim: 8, bagDim: 8, bagRows: 2000, hidden: [16] }

t.test('prefixRows: the first m values of each row, normalised; m = d is the input', async (t) => {
  const x = Float32Array.of(3, 4, 12, 0, 0, 1, 5, 5)
  t.equal(prefixRows(x, 2, 4, 4), x)
  t.same(Array.from(prefixRows(x, 2, 4, 2)), [0.6, 0.8, 0, 1].map(Math.fround))
  t.same(Array.from(prefixRows(Float32Array.of(0, 0, 1), 1, 3, 2)), [0, 0], 'a zero prefix stays zero')
})

t.test('the query task with queryPrefix m changes only the first m outputs of the query tower', async (t) => {
  const data = await loadSearchJsonl(writeTinyDataset(t.testdirName))
  const m = 3
  const model = trainSearchSage(data, { ...small, epochs: 2, tasks: { query: 1 }, queryPrefix: m, seed: 4 })
  t.equal(model.queryPrefix, m)
  // The tower's initial weights: the same spec and seed.
  const init = new TextTower({ fields: ['text'], bagRows: 2000, bagDim: 8, hidden: [16], outputDim: 8, seed: 4 })
  const [w, b] = model.query.mlp.parameters().slice(-2)
  const [w0, b0] = init.mlp.parameters().slice(-2)
  const inF = w.shape[1]
  t.same(Array.from(w.data.subarray(m * inF)), Array.from(w0.data.subarray(m * inF)), 'weight rows >= m untouched')
  t.same(Array.from(b.data.subarray(m)), Array.from(b0.data.subarray(m)), 'biases >= m untouched')
  t.notSame(Array.from(w.data.subarray(0, m * inF)), Array.from(w0.data.subarray(0, m * inF)), 'rows < m trained')
  t.notSame(Array.from(b.data.subarray(0, m)), Array.from(b0.data.subarray(0, m)), 'biases < m trained')
})

t.test('default: dim / 4 beside an entity task, all dims for the query task alone', async (t) => {
  const data = await loadSearchJsonl(writeTinyDataset(t.testdirName))
  t.equal(trainSearchSage(data, { ...small, tasks: { entity: 8, query: 2 } }).queryPrefix, 2)
  t.equal(trainSearchSage(data, { ...small, tasks: { query: 1 } }).queryPrefix, 8)
  t.equal(trainSearchSage(data, { ...small, dim: 2, tasks: { entity: 1, query: 1 } }).queryPrefix, 1, 'at least 1')
  for (const bad of [0, 9, 2.5, Number.NaN, -1]) {
    throwsCode(
      t,
      () => trainSearchSage(data, { ...small, queryPrefix: bad }),
      ErrorCodes.INVALID_ARGUMENT,
      `queryPrefix ${bad}`,
    )
  }
})

t.test('evaluation scores query → query on the prefix', async (t) => {
  // The JSONL data has no held-out pairs: score the training pairs.
  const loaded = await loadSearchJsonl(writeTinyDataset(t.testdirName))
  const data = { ...loaded, test: loaded.train }
  const model = trainSearchSage(data, { ...small, epochs: 3, tasks: { entity: 1, query: 1 }, queryPrefix: 3 })
  const r = evaluateSearchSage(model, data)
  const embed = (texts: readonly string[]) =>
    prefixRows(
      embedItems(
        model.query,
        new FieldFeatures(model.query.bag, [texts]),
        Int32Array.from(texts, (_, i) => i),
      ),
      texts.length,
      8,
      3,
    )
  const expected = recallByDot(embed(data.test.query.queries), embed(data.queries.ids), 3, data.test.query.entity)
  t.ok(data.test.query.queries.length > 0, 'the data set has query → query test pairs')
  t.equal(r.query.recallAll, expected.recallAll)
  t.equal(r.query.recallSampled, expected.recallSampled)
})

t.test('the checkpoint records queryPrefix; embed --prefix keeps that many dims; bad values', async (t) => {
  const paths = writeTinyDataset(t.testdirName)
  const data = await loadSearchJsonl(paths)
  const model = trainSearchSage(data, { ...small, tasks: { entity: 8, query: 2 }, queryPrefix: 5 })
  const ckpt = join(t.testdirName, 'm.safetensors')
  await saveSearchSage(ckpt, { query: model.query, entity: model.entity, maxSubjects: 16, queryPrefix: 5 })
  const m = await loadSearchSage(ckpt)
  t.equal(m.queryPrefix, 5)
  const texts = join(t.testdirName, 'texts.jsonl')
  writeFileSync(
    texts,
    `${JSON.stringify({ id: 3, text: 'buy amber lantern' })}\n${JSON.stringify({ id: 9, text: 'old jade quilt' })}\n`,
  )
  const full = await embedJsonl(m, texts, 'query')
  const q = await embedJsonl(m, texts, 'query', { prefix: 'query' })
  t.equal(full.dim, 8)
  t.equal(q.dim, 5)
  t.same(Array.from(q.vectors), Array.from(prefixRows(full.vectors.slice(), 2, 8, 5)))
  t.equal((await embedJsonl(m, texts, 'query', { prefix: 2 })).dim, 2)
  const out = join(t.testdirName, 'q.index')
  t.equal(await embedToIndex(m, texts, out, 'query', { prefix: 'query' }), 2)
  const index = await EmbeddingIndex.load(out)
  t.equal(index.dim, 5, 'the index file has the prefix dimension')
  index.dispose()
  for (const bad of [0, 9, 'all', 1.5]) {
    await rejectsCode(
      t,
      () => embedJsonl(m, texts, 'query', { prefix: bad }),
      ErrorCodes.INVALID_ARGUMENT,
      `prefix ${bad}`,
    )
  }
  // Damaged metadata: CORRUPT_FILE; none (an older checkpoint): the whole output.
  const { tensors, metadata } = await loadSafetensors(ckpt)
  for (const [value, expect] of [
    ['9', ErrorCodes.CORRUPT_FILE],
    ['x', ErrorCodes.CORRUPT_FILE],
    [undefined, 8],
  ] as const) {
    const p = join(t.testdirName, `meta-${value}.safetensors`)
    const meta: Record<string, string> = { ...metadata }
    if (value === undefined) delete meta.queryPrefix
    else meta.queryPrefix = value
    await saveSafetensors(p, tensors, meta)
    if (typeof expect === 'number') t.equal((await loadSearchSage(p)).queryPrefix, expect, 'missing: the whole output')
    else await rejectsCode(t, () => loadSearchSage(p), expect, `queryPrefix metadata ${value}`)
  }
})
