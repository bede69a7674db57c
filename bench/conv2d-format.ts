/**
 * Text tables of `simsage bench conv2d` (bench/conv2d.ts): one table per thread count with
 * simsage's and onnxruntime's GFLOP/s, their ratios (wall clock, and CPU time with one thread),
 * fractions of the FMA peak and the output check, then errors and notes.
 */
import { CONV2D_SHAPES, type Conv2dCell, type Conv2dOp, type Conv2dReport, type Conv2dTool } from './conv2d.js'

const f1 = (v: number | undefined) => (v === undefined ? '-' : v.toFixed(1))
const f2 = (v: number | undefined) => (v === undefined ? '-' : `${v.toFixed(2)}x`)
const pct = (v: number | undefined) => (v === undefined ? '-' : `${(100 * v).toFixed(0)}%`)

/** The report as text: one table per thread count, then the notes. */
export function formatConv2dReport(r: Conv2dReport): string {
  const lines: string[] = [
    `conv2d (NCHW, batch ${r.options.batch}): GFLOP/s, best of up to ${r.options.maxReps} runs; ` +
      `FMA peak ${f1(r.machine.fmaPeakGflops)} GFLOP/s/thread; load average ${r.loadAvgAtStart.toFixed(2)} at start`,
  ]
  const find = (shape: string, tool: Conv2dTool, op: Conv2dOp, threads: number) =>
    r.cells.find((c) => c.shape === shape && c.tool === tool && c.op === op && c.threads === threads)
  const head = [
    'shape',
    'simsage fwd',
    'ORT fwd',
    'ratio',
    'ratio cpu',
    'peak',
    'simsage fwd+bwd',
    'vs ORT fwd',
    'cpu',
    'peak',
    'max |Δ|',
  ]
  for (const threads of r.options.threads) {
    const rows: string[][] = [head]
    for (const spec of CONV2D_SHAPES) {
      const sf = find(spec.name, 'simsage', 'forward', threads)
      const of = find(spec.name, 'onnxruntime', 'forward', threads)
      const sb = find(spec.name, 'simsage', 'forward+backward', threads)
      const err = (c: Conv2dCell | undefined) => (c?.status === 'error' ? 'error' : f1(c?.gflops))
      rows.push([
        spec.name,
        err(sf),
        err(of),
        f2(sf?.vsOnnxruntime),
        threads === 1 ? f2(sf?.vsOnnxruntimeCpu) : '-',
        pct(sf?.fractionOfPeak),
        err(sb),
        f2(sb?.vsOnnxruntime),
        threads === 1 ? f2(sb?.vsOnnxruntimeCpu) : '-',
        pct(sb?.fractionOfPeak),
        sf?.check ? sf.check.maxAbsDiff.toExponential(1) : '-',
      ])
    }
    const widths = head.map((_, i) => Math.max(...rows.map((row) => row[i].length)))
    lines.push('', `threads ${threads}`)
    for (const row of rows)
      lines.push(row.map((v, i) => (i === 0 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  '))
  }
  const errors = r.cells.filter((c) => c.status === 'error')
  for (const c of errors) lines.push(`error: ${c.shape} ${c.tool} ${c.op} ${c.threads}t: ${c.error}`)
  lines.push('', ...r.notes.map((n) => `note: ${n}`))
  return lines.join('\n')
}
