// The `simsage` executable (bin/simsage.ts: lib's command registrars plus bench's) in child
// processes: every command family answers, and `experiment ranking --json` keeps its contract.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import t from 'tap'

import { root, simsage } from '../fixtures/cli.js'

t.test('CLI: every command family is registered', async (t) => {
  const help = simsage(['--help'])
  t.equal(help.status, 0, help.stderr)
  for (const cmd of ['info', 'bench', 'experiment', 'train', 'eval', 'export', 'serve', 'embed'])
    t.match(help.stdout, new RegExp(`^  ${cmd}\\b`, 'm'), `${cmd} listed`)
  const version = simsage(['--version'])
  t.equal(version.stdout.trim(), JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version, '--version')
  const info = simsage(['info'])
  t.equal(info.status, 0, info.stderr)
  t.match(
    JSON.parse(info.stdout),
    { version: String, simd: String, backendsAvailable: Array },
    'info prints the JSON of info()',
  )
  for (const sub of ['similarity', 'mining']) {
    const r = simsage(['bench', sub, '--help'])
    t.equal(r.status, 0, r.stderr)
    t.match(r.stdout, /--tools <list>/, `bench ${sub} --help`)
  }
  const unknown = simsage(['nope'])
  t.not(unknown.status, 0, 'an unknown command fails')
})

t.test('CLI: bench mining runs through the package entry', async (t) => {
  const out = join(t.testdir(), 'mining.json')
  const r = simsage([
    'bench',
    'mining',
    '--sizes',
    '32',
    '--dim',
    '8',
    '--budget',
    '0.01',
    '--tools',
    'simsage,plain',
    '--json',
    '--out',
    out,
  ])
  t.equal(r.status, 0, r.stderr)
  const report = JSON.parse(r.stdout)
  t.equal(report.bench, 'mining')
  t.same(JSON.parse(readFileSync(out, 'utf8')), report, '--out holds the printed report')
  const ok = report.cells.filter(
    (c: { status: string; tool: string }) => c.status === 'ok' && c.tool.startsWith('simsage'),
  )
  t.equal(
    ok.length,
    report.cells.filter((c: { tool: string }) => c.tool.startsWith('simsage')).length,
    'every simsage cell ran',
  )
  t.ok(ok.length >= 3, 'pairwise, batch-hard and semi-hard')
  for (const c of report.cells.filter(
    (x: { op: string; tool: string }) => x.op !== 'pairwise' && x.tool.startsWith('simsage'),
  )) {
    t.ok(c.triplets > 0, `${c.tool} ${c.op}: mined ${c.triplets} triplets`)
  }
})

t.test('CLI: experiment ranking --json prints one JSON object last', async (t) => {
  const r = simsage([
    'experiment',
    'ranking',
    '--epochs',
    '1',
    '--hidden',
    '32',
    '--embedding-dim',
    '16',
    '--models',
    'raw-pixels,semi-hard,deep-ranking-sampler',
    '--train-classes',
    '0,1,2,3,4',
    '--json',
  ])
  t.equal(r.status, 0, r.stderr)
  const lines = r.stdout.trim().split('\n')
  const out = JSON.parse(lines[lines.length - 1])
  t.equal(out.task, 'ranking')
  t.equal(out.dataset, 'fashion-mnist')
  t.match(out.split, /held-out classes 5,6,7,8,9/)
  t.same(
    out.rows.map((row: { model: string }) => row.model),
    ['raw-pixels', 'semi-hard', 'deep-ranking-sampler'],
  )
  for (const row of out.rows) {
    t.ok(row.metrics.recall1 >= 0 && row.metrics.recall1 <= 1, `${row.model} recall1 in [0, 1]`)
    t.type(row.train_seconds, 'number')
    if (row.model === 'raw-pixels') continue
    t.equal(row.epochs.length, out.options.epochs, `${row.model}: one entry per epoch`)
    const mean =
      row.epochs.reduce((s: number, e: { rows_per_second: number }) => s + e.rows_per_second, 0) / row.epochs.length
    t.ok(
      Math.abs(mean - row.rows_per_second) <= 1e-6 * mean,
      `${row.model}: rows_per_second is the mean of the epochs'`,
    )
  }
  const bad = simsage(['experiment', 'ranking', '--epochs', '0'])
  t.not(bad.status, 0, 'bad --epochs fails')
  t.match(bad.stderr, /option '--epochs <n>' argument '0' is invalid\. It must be an integer >= 1/)
})

t.test('CLI: --tower conv / multiscale train, save, evaluate and add table rows', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'simsage-cli-tower-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const r = simsage(
    ['experiment', 'ranking', '--tower', 'conv', '--epochs', '1', '--models', 'raw-pixels,semi-hard', '--json'],
    300_000,
  )
  t.equal(r.status, 0, r.stderr)
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!)
  t.same(
    out.rows.map((row: { model: string }) => row.model),
    ['raw-pixels', 'conv:semi-hard'],
  )
  t.equal(out.rows[1].tower, 'conv')
  t.ok(out.rows[1].rows_per_second > 0, 'images/s reported')
  t.match(r.stderr, /img\/s/, 'the table has an images/s column')
  const ckpt = join(dir, 'ms.safetensors')
  const tr = simsage(
    ['train', 'ranking', '--tower', 'multiscale', '--augment', '--epochs', '1', '--out', ckpt],
    300_000,
  )
  t.equal(tr.status, 0, tr.stderr)
  const ev = simsage(['eval', 'ranking', '--checkpoint', ckpt, '--json'])
  t.equal(ev.status, 0, ev.stderr)
  t.ok(JSON.parse(ev.stdout).metrics.recall1 > 0.3, 'the multiscale checkpoint evaluates')
  const bad = simsage(['experiment', 'ranking', '--tower', 'resnet'])
  t.not(bad.status, 0, 'an unknown tower fails')
})
