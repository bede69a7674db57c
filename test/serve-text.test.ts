// Text queries on /v1/search through an OmniSearchSage query tower: the answer equals searching the
// index with the tower's own (normalised) embeddings, repeated texts hit the cache, concurrent texts
// are batched, and bad text input is a coded 4xx (empty text, text and vectors together, a tower
// whose dimension is not the index's). A searchsage.safetensors in a model dir is picked up, with
// its query → query prefix: an index of that dimension is searched with the query vectors' prefix.
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'

import t from 'tap'

import { ErrorCodes } from '../lib/errors.js'
import { saveSearchSage } from '../lib/search/checkpoint.js'
import { TextTower } from '../lib/search/towers.js'
import { createServer } from '../lib/serve/server.js'
import { loadModelDir } from '../lib/serve/run.js'
import { EmbeddingIndex } from '../lib/similarity/embedding-index.js'
import { prefixRows } from '../lib/search/prefix.js'
import { embedQueries } from '../lib/train/searchsage-eval.js'
import { errorOf } from './fixtures/serve.js'

const D = 8
const tower = () => new TextTower({ fields: ['text'], bagRows: 2000, bagDim: 8, hidden: [12], outputDim: D, seed: 5 })
const DOCS = ['router cache warmup', 'form type extension', 'console table style', 'mailer transport', 'yaml parser']

/** An index of the tower's own embeddings of DOCS (ids 10, 11, ...). */
function indexOf(t: TextTower): EmbeddingIndex {
  const index = new EmbeddingIndex({ dim: D, metric: 'ip' })
  index.add(
    DOCS.map((_, i) => 10 + i),
    embedQueries({ query: t }, DOCS),
  )
  return index
}

t.test('text search: equals the tower + index, cache, batching, errors', async (t) => {
  const q = tower()
  const s = await createServer({ index: indexOf(q), queryTower: q })
  t.teardown(() => s.close())
  const post = (payload: unknown) => s.app.inject({ method: 'POST', url: '/v1/search', payload: payload as object })
  const answers = await Promise.all(DOCS.map((d) => post({ text: [d], k: 2 })))
  answers.forEach((res, i) => {
    t.equal(res.statusCode, 200, res.body)
    t.equal(res.json().results[0].ids[0], 10 + i, `"${DOCS[i]}" finds itself first`)
  })
  const again = await post({ text: [DOCS[0], DOCS[1]], k: 1 })
  t.same(
    again.json().results.map((r: { ids: number[] }) => r.ids[0]),
    [10, 11],
  )
  const m = (await s.app.inject({ method: 'GET', url: '/metrics' })).body
  t.match(m, /simsage_batch_rows_count\{batcher="text"\} [1-9]/, 'text batches recorded')
  t.match(m, /simsage_embedding_cache_hit_ratio [0-9.]*[1-9]/, 'the repeated texts hit the cache')

  errorOf(t, await post({ text: ['   '], k: 1 }), 400, ErrorCodes.INVALID_ARGUMENT, 'blank text')
  errorOf(
    t,
    await post({ text: ['a'], vectors: [[1, 2, 3, 4, 5, 6, 7, 8]], k: 1 }),
    400,
    ErrorCodes.INVALID_ARGUMENT,
    'both',
  )
  errorOf(t, await post({ text: ['a'], k: 100000 }), 400, ErrorCodes.INVALID_K, 'huge k')

  const other = new EmbeddingIndex({ dim: 4, metric: 'ip' })
  other.add([1], Float32Array.of(1, 0, 0, 0))
  const s2 = await createServer({ index: other, queryTower: q })
  t.teardown(() => s2.close())
  const res = await s2.app.inject({ method: 'POST', url: '/v1/search', payload: { text: ['a b'], k: 1 } })
  errorOf(t, res, 400, ErrorCodes.DIM_MISMATCH, 'tower dim != index dim')
})

t.test('a model dir with searchsage.safetensors gives the server its query tower', async (t) => {
  const dir = join(t.testdirName, 'model')
  mkdirSync(dir, { recursive: true })
  const q = tower()
  await saveSearchSage(join(dir, 'searchsage.safetensors'), { query: q, entity: tower(), maxSubjects: 8 })
  const models = await loadModelDir(dir)
  t.ok(models.queryTower, 'query tower loaded')
  t.notOk(models.tower || models.hiertcn, 'nothing else')
  const s = await createServer({ index: indexOf(q), ...models })
  t.teardown(() => s.close())
  const res = await s.app.inject({ method: 'POST', url: '/v1/search', payload: { text: [DOCS[3]], k: 1 } })
  t.equal(res.json().results[0].ids[0], 13, 'the loaded tower embeds as the saved one')
})

t.test('an index of the query → query prefix is searched with the query vectors prefix', async (t) => {
  const dir = join(t.testdirName, 'model')
  mkdirSync(dir, { recursive: true })
  const q = tower()
  const P = 3
  await saveSearchSage(join(dir, 'searchsage.safetensors'), {
    query: q,
    entity: tower(),
    maxSubjects: 8,
    queryPrefix: P,
  })
  const models = await loadModelDir(dir)
  t.equal(models.queryPrefix, P)
  // Queries embedded as `simsage embed --prefix query` does: the first P dims, normalised.
  const prefixIndex = new EmbeddingIndex({ dim: P, metric: 'ip' })
  prefixIndex.add(
    DOCS.map((_, i) => 10 + i),
    prefixRows(embedQueries({ query: q }, DOCS), DOCS.length, D, P),
  )
  const s = await createServer({ index: prefixIndex, ...models })
  t.teardown(() => s.close())
  const post = (payload: unknown) => s.app.inject({ method: 'POST', url: '/v1/search', payload: payload as object })
  const expected = await prefixIndex.search(prefixRows(embedQueries({ query: q }, DOCS), DOCS.length, D, P), 3)
  for (let i = 0; i < DOCS.length; i++) {
    const res = await post({ text: [DOCS[i]], k: 3 })
    t.equal(res.statusCode, 200, res.body)
    t.same(res.json().results[0].ids, Array.from(expected.get(i).ids), `"${DOCS[i]}": the prefix search`)
  }
  const other = new EmbeddingIndex({ dim: 5, metric: 'ip' })
  other.add([1], Float32Array.of(1, 0, 0, 0, 0))
  const s2 = await createServer({ index: other, ...models })
  t.teardown(() => s2.close())
  const res = await s2.app.inject({ method: 'POST', url: '/v1/search', payload: { text: ['a b'], k: 1 } })
  errorOf(t, res, 400, ErrorCodes.DIM_MISMATCH, 'neither the whole dim nor the prefix')
  t.match(res.json().error.message, /query → query prefix: 3/)
})
