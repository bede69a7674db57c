// `simsage experiment hiertcn` with the batch prefetcher on (default), off (--no-prefetch) and
// training from a partitioned spill (--partition-users): the same metrics with and without the
// prefetcher, the figures that show its effect and the partition memory in the JSON.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import t from 'tap'

import { Random } from '../../lib/random.js'
import { simsage } from '../fixtures/cli.js'

const dir = mkdtempSync(join(tmpdir(), 'simsage-hiertcn-prefetch-'))

function log(): string {
  const rng = new Random(8)
  const rows = ['user_id,session_id,timestamp,item']
  for (let u = 0; u < 200; u++) {
    let ts = 1_600_000_000 + u * 100
    for (let s = 0; s < 1 + (u % 4); s++) {
      let item = rng.int(30)
      for (let a = 0; a < 2 + rng.int(6); a++) rows.push(`u${u},${s},${(ts += 60)},i${(item = (item + 1) % 30)}`)
      ts += 86_400
    }
  }
  const path = join(dir, 'log.csv')
  writeFileSync(path, `${rows.join('\n')}\n`)
  return path
}

const small = ['--epochs', '2', '--embedding-dim', '8', '--user-hidden', '8', '--channels', '8,8', '--dilations', '1,2']
const run = (path: string, extra: string[]) => {
  const r = simsage([
    'experiment',
    'hiertcn',
    '--sessions',
    path,
    '--models',
    'tcn,hiertcn',
    '--json',
    ...small,
    ...extra,
  ])
  const lines = r.stdout.trim().split('\n')
  return { r, result: JSON.parse(lines[lines.length - 1] ?? 'null') }
}

t.test('prefetch on and off: the same metrics; the figures and the partition memory printed', async (t) => {
  const path = log()
  const on = run(path, ['--threads', '1'])
  t.equal(on.r.status, 0, on.r.stderr)
  const off = run(path, ['--threads', '1', '--no-prefetch'])
  t.equal(off.r.status, 0, off.r.stderr)
  for (const [i, row] of on.result.rows.entries()) {
    t.equal(row.prefetch, true, `${row.model}: prefetched`)
    t.equal(off.result.rows[i].prefetch, false, `${row.model}: not prefetched`)
    t.same(row.metrics, off.result.rows[i].metrics, `${row.model}: the same metrics`)
    t.ok(row.batch_seconds_per_epoch >= 0 && row.seconds_per_epoch > 0, `${row.model}: figures`)
  }
  t.match(on.r.stderr, /s\/epoch with batch prefetch on/)
  t.match(off.r.stderr, /s\/epoch with batch prefetch off/)
  const parts = run(path, ['--threads', '1', '--partition-users', '16'])
  t.equal(parts.r.status, 0, parts.r.stderr)
  t.match(parts.result.data_memory, { partition_bytes: Number, log_bytes: Number })
  t.ok(parts.result.data_memory.partition_bytes > 0, 'partitions were read')
  t.match(parts.r.stderr, /partitioned reader: 13 partitions of 16 users/)
  const bad = simsage(['experiment', 'hiertcn', '--sessions', path, '--partition-users', '0'])
  t.not(bad.status, 0, '--partition-users 0 is refused')
})
