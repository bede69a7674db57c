// `simsage bench temporal --quick` in a child process: the report parses, every simsage cell ran,
// simsage's outputs equal onnxruntime's and the plain loop's on the same weights, streams equal the
// full forward, and the text tables render. No timing is asserted.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

import t from 'tap'

import { formatTemporalReport } from '../../bench/temporal-format.js'
import type { TemporalReport } from '../../bench/temporal.js'
import { simsage } from '../fixtures/cli.js'

t.test('bench temporal --quick --json', async (t) => {
  const out = join(t.testdir(), 'temporal.json')
  const r = simsage(['bench', 'temporal', '--quick', '--threads', '1', '--json', '--out', out])
  t.equal(r.status, 0, r.stderr)
  const report = JSON.parse(r.stdout) as TemporalReport
  t.equal(report.bench, 'temporal')
  t.same(JSON.parse(readFileSync(out, 'utf8')), report, '--out holds the printed report')
  t.ok((report.machine.fmaPeakGflops ?? 0) > 0, 'the FMA peak was probed in the run')

  const mine = report.cells.filter((c) => c.tool === 'simsage')
  t.same(
    mine.filter((c) => c.status !== 'ok').map((c) => `${c.section} ${c.shape} ${c.op}: ${c.error}`),
    [],
    'every simsage cell ran',
  )
  for (const s of ['conv', 'tcn', 'gru'] as const) {
    t.ok(
      mine.some((c) => c.section === s && c.op === 'forward'),
      `${s} forward measured`,
    )
  }
  t.ok(
    mine.some((c) => c.section === 'conv' && c.op === 'forward+backward'),
    'conv forward+backward measured',
  )
  for (const c of mine)
    if (c.status === 'ok') t.ok(c.gflops && c.gflops > 0 && c.fractionOfPeak !== undefined, `${c.shape} ${c.op} rates`)

  // Same weights, same data: every peer's output matches simsage's (relative to the output's scale).
  const ort = report.cells.filter((c) => c.tool === 'onnxruntime' && c.status === 'ok')
  const checked = mine.flatMap((c) => (c.check ?? []).map((k) => ({ c, k })))
  if (ort.length > 0)
    t.ok(
      checked.some(({ k }) => k.vs === 'onnxruntime'),
      'onnxruntime outputs compared',
    )
  t.ok(
    checked.some(({ k }) => k.vs === 'plain TS'),
    'plain TS outputs compared',
  )
  for (const { c, k } of checked) {
    t.ok(k.maxAbsDiff <= 1e-4 * Math.max(1, k.maxAbs), `${c.section} ${c.shape}: vs ${k.vs} max |Δ| ${k.maxAbsDiff}`)
  }

  const tcnOne = report.streaming.find((s) => s.model === 'tcn' && s.streams === 1)
  t.ok(
    tcnOne && tcnOne.receptiveField !== undefined && tcnOne.receptiveField >= 256,
    'stream TCN receptive field ≥ 256',
  )
  t.ok(tcnOne?.speedupVsWindow !== undefined, 'one event timed against the window forward')
  for (const s of report.streaming) {
    t.ok(s.eventsPerSec > 0, `${s.model} ${s.streams} streams: events/s`)
    if (s.check) t.ok(s.check.maxAbsDiff <= 1e-5 * Math.max(1, s.check.maxAbs), `${s.model} stream ≡ forward`)
  }
  t.ok(report.targets.length > 0, 'targets evaluated')

  const text = formatTemporalReport(report)
  t.match(text, /causal dilated conv1d/)
  t.match(text, /targets \(issue 7\)/)
})
