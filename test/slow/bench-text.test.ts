// `simsage bench text` in a child process on a small commits file written here: the report parses,
// simsage's featurise + embed and embed rows ran, the plain-TypeScript peer's outputs (and
// onnxruntime's, when installed) equal simsage's on the same weights, the table renders, and a bad
// --queries is refused. No timing is asserted.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'

import t from 'tap'

import { formatTextReport, type TextBenchReport } from '../../bench/text.js'
import { simsage } from '../fixtures/cli.js'

const SUBJECTS = [
  'Fix the CSRF token in FrameworkBundle',
  '[Console] Add a table style',
  '[HttpKernel] Déprécier le cache — ﬁx',
  'Merge branch 5.4 into 6.0',
  '中文 commit message 😀',
]

t.test('bench text --json on a small commits file', async (t) => {
  const dir = t.testdir()
  const commits = join(dir, 'commits.jsonl')
  const lines = Array.from({ length: 300 }, (_, i) => JSON.stringify({ ts: i, subject: `${SUBJECTS[i % 5]} ${i}` }))
  writeFileSync(commits, `${lines.join('\n')}\n`)
  const out = join(dir, 'text.json')
  const args = ['bench', 'text', '--commits', commits, '--queries', '300', '--batch', '64', '--rows', '5000']
  const r = simsage([...args, '--dim', '16', '--budget', '0.01', '--max-reps', '1', '--json', '--out', out])
  t.equal(r.status, 0, r.stderr)
  const report = JSON.parse(r.stdout) as TextBenchReport
  t.equal(report.bench, 'text')
  t.ok(report.tokensPerQuery > 5, 'tokens per query')
  for (const what of ['featurize+embed', 'embed'])
    t.ok(
      report.rows.some((x) => x.tool === 'simsage' && x.what === what && x.queriesPerSecond > 0),
      `simsage ${what} measured`,
    )
  t.ok(report.agreement.plain !== undefined && report.agreement.plain < 1e-4, 'plain TS = simsage')
  if (report.agreement.onnxruntime !== undefined) t.ok(report.agreement.onnxruntime < 1e-4, 'onnxruntime = simsage')
  t.match(formatTextReport(report), /target: simsage featurize\+embed/)

  const bad = simsage(['bench', 'text', '--commits', commits, '--queries', '0'])
  t.not(bad.status, 0, '--queries 0 is refused')
})
