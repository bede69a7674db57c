// `simsage train searchsage` on the user's JSONL data (entities of two types with a text and a
// list field, pairs, query pairs; one task per type by --tasks) in a child process, then `simsage embed --tower entity` of the same entities
// file, and a search of that index with the checkpoint's query tower that finds the entity of a
// training query; the one-source rule, bad --tasks and a bad line as CLI errors.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'

import t from 'tap'

import { loadSearchSage } from '../../lib/search/checkpoint.js'
import { EmbeddingIndex } from '../../lib/similarity/embedding-index.js'
import { embedQueries } from '../../lib/train/searchsage-eval.js'
import { simsage } from '../fixtures/cli.js'
import { tinyPairs, writeTinyDataset } from '../fixtures/search-jsonl.js'

const small = ['--epochs', '12', '--batch', '32', '--random-negatives', '16', '--dim', '16', '--bag-dim', '16']

t.test('train searchsage --entities --pairs → embed --tower entity → the query tower finds the entity', async (t) => {
  const dir = t.testdirName
  const paths = writeTinyDataset(dir)
  const ckpt = join(dir, 'model.safetensors')
  const tr = simsage(
    [
      'train',
      'searchsage',
      '--entities',
      paths.entities,
      '--pairs',
      paths.pairs,
      '--query-pairs',
      paths.queryPairs,
      '--query-field',
      'queries',
      '--tasks',
      'pin=8,product=4,query=2',
      ...small,
      '--bag-rows',
      '4000',
      '--out',
      ckpt,
    ],
    300_000,
  )
  t.equal(tr.status, 0, tr.stderr)
  t.match(tr.stderr, /epoch 12: loss/)
  t.match(tr.stderr, /tasks: pin 8 \(100 pairs\), product 4 \(100 pairs\), query 2 \(50 pairs\)/)
  const model = await loadSearchSage(ckpt)
  t.same(model.entity.spec.fields, ['title', 'queries'], 'the checkpoint records the user fields')

  const index = join(dir, 'entities.index')
  const em = simsage(['embed', '--model', ckpt, '--input', paths.entities, '--out', index, '--tower', 'entity'])
  t.equal(em.status, 0, em.stderr)
  t.match(em.stdout, /50 items embedded/)
  const idx = await EmbeddingIndex.load(index)
  t.equal(idx.size, 50)
  const pairs = tinyPairs()
  const res = await idx.search(
    embedQueries(
      model,
      pairs.map((p) => p.query),
    ),
    1,
  )
  let hits = 0
  pairs.forEach((p, i) => {
    if (res.get(i).ids[0] === p.entity) hits++
  })
  t.ok(hits / pairs.length > 0.6, `top-1 of the index for training queries: ${hits}/${pairs.length} (chance 1/50)`)
  idx.dispose()

  // Queries embedded for query → query search: the checkpoint's prefix (dim 16 / 4).
  t.equal(model.queryPrefix, 4)
  const texts = join(dir, 'queries.jsonl')
  writeFileSync(texts, `${JSON.stringify({ id: 1, text: 'buy amber lantern' })}\n`)
  const qIndex = join(dir, 'queries.index')
  const qe = simsage(['embed', '--model', ckpt, '--input', texts, '--out', qIndex, '--prefix', 'query'])
  t.equal(qe.status, 0, qe.stderr)
  const qi = await EmbeddingIndex.load(qIndex)
  t.equal(qi.dim, 4, '--prefix query: an index of the query prefix dimension')
  qi.dispose()
  const bad = simsage(['embed', '--model', ckpt, '--input', texts, '--out', qIndex, '--prefix', '17'])
  t.equal(bad.status, 1)
  t.match(bad.stderr, /prefix must be "query" or an integer in \[1, 16\]/)
})

t.test('train searchsage: exactly one source; a bad line names the file and the line', async (t) => {
  const dir = t.testdirName
  const paths = writeTinyDataset(dir)
  const out = ['--out', join(dir, 'x.safetensors'), '--epochs', '1']
  const cases: [string[], RegExp][] = [
    [[], /give one training source/],
    [['--commits', paths.entities, '--entities', paths.entities, '--pairs', paths.pairs], /give one training source/],
    [['--entities', paths.entities], /--entities and --pairs go together/],
    [['--commits', paths.entities, '--query-field', 'queries'], /--fields and --query-field go with --entities/],
    [
      ['--entities', paths.entities, '--pairs', paths.pairs, '--fields', 'title,summary'],
      /no entity has the field "summary"/,
    ],
    [['--entities', paths.entities, '--pairs', paths.pairs, '--tasks', 'gem=2'], /no entity type "gem"/],
    [['--entities', paths.entities, '--pairs', paths.pairs, '--tasks', 'entity=1,pin=2'], /not both/],
    [['--entities', paths.entities, '--pairs', paths.pairs, '--tasks', 'pin=x'], /Bad task "pin=x"/],
    [['--entities', paths.entities, '--pairs', paths.pairs, '--tasks', 'pin=1,pin=2'], /"pin" is given twice/],
    [['--entities', paths.entities, '--pairs', paths.pairs, '--tasks', 'pin=1,query=1'], /needs --query-pairs/],
  ]
  const badPairs = join(dir, 'bad-pairs.jsonl')
  writeFileSync(
    badPairs,
    `${JSON.stringify({ query: 'a', entity: 100 })}\n${JSON.stringify({ query: 'b', entity: 7 })}\n`,
  )
  cases.push([['--entities', paths.entities, '--pairs', badPairs], /bad-pairs\.jsonl:2: unknown entity id 7/])
  for (const [args, message] of cases) {
    const r = simsage(['train', 'searchsage', ...args, ...out])
    t.equal(r.status, 1, `${args.join(' ')}: exit 1`)
    t.match(r.stderr, message, r.stderr.trim())
  }
})
