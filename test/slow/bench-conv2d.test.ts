// `simsage bench conv2d --quick` in a child process: the JSON report parses, every simsage cell
// ran on every shape with positive rates, simsage's forward equals onnxruntime's on the same
// weights (when onnxruntime loads), and the text table renders. No timing is asserted.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

import t from 'tap'

import { CONV2D_SHAPES, type Conv2dReport } from '../../bench/conv2d.js'
import { formatConv2dReport } from '../../bench/conv2d-format.js'
import { simsage } from '../fixtures/cli.js'

t.test('bench conv2d --quick --json', async (t) => {
  const out = join(t.testdir(), 'conv2d.json')
  const r = simsage(['bench', 'conv2d', '--quick', '--json', '--out', out])
  t.equal(r.status, 0, r.stderr)
  const report = JSON.parse(r.stdout) as Conv2dReport
  t.equal(report.bench, 'conv2d')
  t.same(JSON.parse(readFileSync(out, 'utf8')), report, '--out holds the printed report')
  t.ok((report.machine.fmaPeakGflops ?? 0) > 0, 'the FMA peak was probed in the run')
  const mine = report.cells.filter((c) => c.tool === 'simsage')
  t.same(
    mine.filter((c) => c.status !== 'ok').map((c) => `${c.shape} ${c.op}: ${c.error}`),
    [],
    'every simsage cell ran',
  )
  for (const spec of CONV2D_SHAPES)
    for (const op of ['forward', 'forward+backward'] as const)
      t.ok(
        mine.some((c) => c.shape === spec.name && c.op === op && (c.gflops ?? 0) > 0 && c.fractionOfPeak !== undefined),
        `${spec.name} ${op} measured`,
      )
  const ort = report.cells.filter((c) => c.tool === 'onnxruntime' && c.status === 'ok')
  if (ort.length > 0) {
    const checked = mine.filter((c) => c.check)
    t.equal(checked.length, CONV2D_SHAPES.length, 'every forward compared with onnxruntime')
    for (const c of checked) {
      t.ok(c.check!.maxAbsDiff <= 1e-4 * Math.max(1, c.check!.maxAbs), `${c.shape}: max |Δ| ${c.check!.maxAbsDiff}`)
      t.ok((c.vsOnnxruntime ?? 0) > 0, `${c.shape}: ratio to onnxruntime`)
    }
  }
  const text = formatConv2dReport(report)
  t.match(text, /conv2d \(NCHW, batch 4\)/)
  t.match(text, /32->64 28x28 s2/)
  t.match(text, /no backward/)
})
