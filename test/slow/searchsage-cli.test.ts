// `simsage experiment|train searchsage` and `simsage embed` end to end in child processes, on a
// synthetic commit log whose subjects name their files: the --json contract of the experiment,
// a checkpoint written, read back and used by `embed` for both towers (the index holds every item
// and answers a query with its file), and coded failures on bad input.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import t from 'tap'

import { loadSearchSage } from '../../lib/search/checkpoint.js'
import { EmbeddingIndex } from '../../lib/similarity/embedding-index.js'
import { embedQueries } from '../../lib/train/searchsage-eval.js'
import { Random } from '../../lib/random.js'
import { simsage } from '../fixtures/cli.js'

const dir = mkdtempSync(join(tmpdir(), 'simsage-searchsage-cli-'))
const WORDS = ['cache', 'router', 'form', 'console', 'security', 'mailer', 'yaml', 'serializer']

function commitLog(): string {
  const rng = new Random(7)
  const lines: string[] = []
  for (let i = 0; i < 1500; i++) {
    const c = WORDS[Math.floor(rng.next() * WORDS.length)]
    const f = Math.floor(rng.next() * 10)
    lines.push(
      JSON.stringify({
        ts: 1_600_000_000 + i * 60,
        user_id: Math.floor(i / 3) % 5,
        session_id: Math.floor(i / 3),
        subject: `[${c}] update ${c}${f} handling ${i}`,
        items: [`src/${c}/${c}${f}.php`],
      }),
    )
  }
  const p = join(dir, 'commits.jsonl')
  writeFileSync(p, `${lines.join('\n')}\n`)
  return p
}

const commits = commitLog()
const small = [
  '--epochs',
  '2',
  '--batch',
  '64',
  '--random-negatives',
  '32',
  '--dim',
  '16',
  '--bag-dim',
  '16',
  '--bag-rows',
  '4000',
]

t.test('experiment searchsage --json: rows and metric keys', async (t) => {
  const r = simsage(
    ['experiment', 'searchsage', '--commits', commits, ...small, '--models', 'tfidf,unified', '--no-frozen', '--json'],
    300_000,
  )
  t.equal(r.status, 0, r.stderr)
  const last = r.stdout.trim().split('\n').pop() as string
  const result = JSON.parse(last)
  t.equal(result.task, 'searchsage')
  t.equal(result.dataset, 'commits.jsonl')
  t.equal(result.frozen_dim, 0, 'no frozen task: no HierTCN vectors')
  t.same(
    result.rows.map((x: { model: string }) => x.model),
    ['tfidf', 'unified'],
  )
  for (const row of result.rows) {
    for (const k of ['file_recall10_all', 'file_recall10_1k', 'query_recall10_all', 'query_recall10_1k']) {
      t.ok(row.metrics[k] >= 0 && row.metrics[k] <= 1, `${row.model} ${k} = ${row.metrics[k]}`)
    }
  }
  t.match(r.stderr, /unified \(validation run\): quarter pass 1 loss/, 'progress on stderr: the validation run')
  t.match(r.stderr, /unified: quarter pass 1\/\d+ loss/, 'and the final run')
  const unified = result.rows[1].metrics
  t.ok(unified.passes >= 0.25 && unified.passes <= 2, `passes chosen on validation commits: ${unified.passes}`)
  t.ok(unified.file_recall10_all > 0.3, `unified file Recall@10 ${unified.file_recall10_all}`)
})

t.test('train searchsage → checkpoint → embed (query and entity towers)', async (t) => {
  const ckpt = join(dir, 'model.safetensors')
  const tr = simsage(['train', 'searchsage', '--commits', commits, ...small, '--out', ckpt], 300_000)
  t.equal(tr.status, 0, tr.stderr)
  const files = WORDS.flatMap((c) => Array.from({ length: 10 }, (_, f) => `src/${c}/${c}${f}.php`))
  const entities = join(dir, 'files.jsonl')
  writeFileSync(
    entities,
    files.map((p, id) => JSON.stringify({ id, path: p, folders: p.split('/').slice(0, -1).join(' ') })).join('\n'),
  )
  const index = join(dir, 'files.index')
  const em = simsage(['embed', '--model', ckpt, '--input', entities, '--out', index, '--tower', 'entity'])
  t.equal(em.status, 0, em.stderr)
  t.match(em.stdout, /80 items embedded/)
  const model = await loadSearchSage(ckpt)
  t.equal(model.maxSubjects, 4, 'a commit log keeps 4 earlier subjects per file by default, and the checkpoint says so')
  const idx = await EmbeddingIndex.load(index)
  t.equal(idx.size, files.length)
  const res = await idx.search(embedQueries(model, ['[mailer] update mailer3 handling']), 10)
  t.ok(Array.from(res.get(0).ids).includes(files.indexOf('src/mailer/mailer3.php')), 'the named file is in the top 10')
  idx.dispose()

  const queries = join(dir, 'queries.jsonl')
  writeFileSync(
    queries,
    `${JSON.stringify({ id: 5, text: 'fix the cache' })}\n${JSON.stringify({ id: 9, text: 'router' })}\n`,
  )
  const qi = simsage(['embed', '--model', ckpt, '--input', queries, '--out', join(dir, 'q.index')])
  t.equal(qi.status, 0, qi.stderr)

  // Bad input: a repeated id, a malformed line, an item without text, a checkpoint of another kind.
  const bad: [string, RegExp][] = [
    [`${JSON.stringify({ id: 1, text: 'a' })}\n${JSON.stringify({ id: 1, text: 'b' })}\n`, /:2: id 1 appears twice/],
    [`${JSON.stringify({ id: 1, text: 'a' })}\n{"id": 2,\n`, /:2: not valid JSON/],
    [`${JSON.stringify({ id: 1, text: '  ' })}\n`, /:1: no text/],
    [`${JSON.stringify({ id: -1, text: 'a' })}\n`, /:1: "id" must be an integer/],
  ]
  for (const [text, message] of bad) {
    const p = join(dir, 'bad.jsonl')
    writeFileSync(p, text)
    const r = simsage(['embed', '--model', ckpt, '--input', p, '--out', join(dir, 'bad.index')])
    t.equal(r.status, 1, `${message}: exit 1`)
    t.match(r.stderr, message)
  }
  const badDecay = simsage(['train', 'searchsage', '--commits', commits, ...small, '--ema-decay', '1', '--out', ckpt])
  t.equal(badDecay.status, 1, '--ema-decay 1: exit 1')
  t.match(badDecay.stderr, /emaDecay must be a number in \[0, 1\)/)
  t.ok((await loadSearchSage(ckpt)).maxSubjects === 4, 'the earlier checkpoint is intact')
  const notModel = simsage(['embed', '--model', index, '--input', queries, '--out', join(dir, 'x.index')])
  t.equal(notModel.status, 1)
  t.match(notModel.stderr, /not a searchsage checkpoint|safetensors/)
})
