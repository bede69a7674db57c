// `simsage experiment|train|eval hiertcn` end to end in child processes, on a synthetic interaction
// log whose users follow item chains (so a sequence model has something to learn): the --json
// contract, every row present, the throughput and memory figures printed, a checkpoint and an item
// index written and read back, and coded failures on bad input.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import t from 'tap'

import { EmbeddingIndex } from '../../lib/similarity/embedding-index.js'
import { Random } from '../../lib/random.js'
import { simsage } from '../fixtures/cli.js'

const dir = mkdtempSync(join(tmpdir(), 'simsage-hiertcn-cli-'))

/** 300 users; each session walks a chain i -> i+1 (mod 40) from a random start, no session_id column. */
function chainLog(): string {
  const rng = new Random(3)
  const rows = ['timestamp,item,user_id']
  for (let u = 0; u < 300; u++) {
    let ts = 1_600_000_000 + u * 1000
    const sessions = 1 + Math.floor(rng.next() * 4)
    for (let s = 0; s < sessions; s++) {
      let item = Math.floor(rng.next() * 40)
      const n = 2 + Math.floor(rng.next() * 5)
      for (let a = 0; a < n; a++) {
        rows.push(`${(ts += 30)},"file,${item}.php",user${u}`)
        item = (item + 1) % 40
      }
      ts += 10 * 86400
    }
  }
  const path = join(dir, 'chains.csv')
  writeFileSync(path, `${rows.join('\n')}\n`)
  return path
}

const small = [
  '--epochs',
  '2',
  '--embedding-dim',
  '16',
  '--user-hidden',
  '16',
  '--channels',
  '16,16',
  '--dilations',
  '1,2',
  '--batch-size',
  '16',
  '--lr',
  '0.02',
  '--session-gap',
  '3600',
  '--threads',
  '1',
]

t.test('experiment hiertcn --json: every row, the figures, one JSON line', async (t) => {
  const log = chainLog()
  const r = simsage(['experiment', 'hiertcn', '--sessions', log, '--json', ...small], 600_000)
  t.equal(r.status, 0, r.stderr)
  const lines = r.stdout.trim().split('\n')
  const result = JSON.parse(lines[lines.length - 1])
  t.match(result, {
    task: 'hiertcn',
    dataset: log,
    users: { train: Number, valid: Number, test: Number },
    throughput_ratio: Number,
    data_memory: { queue_bytes: Number, padded_bytes: Number, ratio: Number },
  })
  t.same(
    result.rows.map((x: { model: string }) => x.model),
    ['popular', 'cooccurrence', 'gru', 'tcn', 'hiertcn'],
    'every model, in order',
  )
  for (const row of result.rows) {
    t.match(row, { metrics: { recall1: Number, recall5: Number, recall10: Number, recall20: Number, mrr: Number } })
    for (const v of Object.values(row.metrics) as number[]) t.ok(v >= 0 && v <= 1, `${row.model}: metric in [0, 1]`)
    t.ok(row.metrics.recall1 <= row.metrics.recall20, `${row.model}: recall grows with k`)
    t.ok(row.peak_rss_mb > 0, `${row.model}: peak memory reported`)
  }
  const co = result.rows.find((x: { model: string }) => x.model === 'cooccurrence')
  // Within a session the next item is certain; a session's first item is random (1 in 40).
  t.ok(co.metrics.recall1 > 0.5, `chains are learnable: co-occurrence R@1 ${co.metrics.recall1}`)
  for (const m of ['gru', 'hiertcn']) {
    const row = result.rows.find((x: { model: string }) => x.model === m)
    t.ok(row.params > 0 && row.actions_per_second > 0 && row.best_epoch >= 1, `${m}: training figures`)
  }
})

t.test('train hiertcn writes a checkpoint and an item index; eval hiertcn reads it back', async (t) => {
  const log = chainLog()
  const ckpt = join(dir, 'model.safetensors')
  const idx = join(dir, 'items.index')
  const tr = simsage(['train', 'hiertcn', '--sessions', log, '--out', ckpt, '--export-index', idx, ...small], 600_000)
  t.equal(tr.status, 0, tr.stderr)
  t.match(tr.stdout, /checkpoint written/)
  const index = await EmbeddingIndex.load(idx)
  t.equal(index.size, 40, 'one vector per item')
  t.equal(index.dim, 16)
  t.ok((index.metadata.items as string[]).includes('file,7.php'), 'item ids in the index metadata')
  index.dispose()
  const ev = simsage(['eval', 'hiertcn', '--checkpoint', ckpt, '--sessions', log, '--session-gap', '3600', '--json'])
  t.equal(ev.status, 0, ev.stderr)
  const out = JSON.parse(ev.stdout.trim())
  t.match(out, { task: 'hiertcn', dropped_unknown_actions: 0, metrics: { recall10: Number, mrr: Number } })
  // Bad input: a missing log, a malformed one, a damaged checkpoint.
  const missing = simsage(['eval', 'hiertcn', '--checkpoint', ckpt, '--sessions', join(dir, 'nope.csv')])
  t.not(missing.status, 0)
  t.match(missing.stderr, /nope\.csv/)
  const bad = join(dir, 'bad.csv')
  writeFileSync(bad, 'user_id,timestamp,item\nu1,10,a\nu1,x,b\n')
  const malformed = simsage(['experiment', 'hiertcn', '--sessions', bad, ...small])
  t.not(malformed.status, 0)
  t.match(malformed.stderr, /bad\.csv:3/, 'the line number is in the message')
  writeFileSync(join(dir, 'cut.safetensors'), 'not a checkpoint')
  const cut = simsage(['eval', 'hiertcn', '--checkpoint', join(dir, 'cut.safetensors'), '--sessions', log])
  t.not(cut.status, 0)
  t.match(cut.stderr, /checkpoint|safetensors|corrupt|too short/i)
  const mismatch = simsage(['experiment', 'hiertcn', '--sessions', log, '--channels', '8,8', '--dilations', '1'])
  t.not(mismatch.status, 0, 'channels and dilations of different lengths are refused')
})
