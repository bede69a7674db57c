/**
 * The speed targets checked against a `simsage bench temporal` run, and the report as
 * text tables (plain aligned columns).
 */
import type { TemporalCell, TemporalOptions, TemporalReport } from './temporal.js'
import type { StreamResult } from './temporal-stream.js'

/** One target checked at one place (cell, thread count). */
export interface TargetCheck {
  readonly target: string
  /** Which cell: "C=256 T=1024 d=4, 2t". */
  readonly where: string
  /** The measured value (a ratio, a fraction of peak, events/s); undefined when not measured. */
  readonly value?: number
  readonly threshold: number
  /** value ≥ threshold; undefined when not measured (a peer or simsage missing). */
  readonly pass?: boolean
  /** Other processes used more than 5% of the CPUs while it was timed. */
  readonly busy?: boolean
}

/** Cells timed while other processes used more than this share of the CPUs are flagged. */
export const busyShare = 0.05

/** The targets of issue 7's "Speed" section, one check per place each applies to. */
export function evaluateTargets(
  cells: readonly TemporalCell[],
  streaming: readonly StreamResult[],
  o: Pick<TemporalOptions, 'streams'>,
): TargetCheck[] {
  const out: TargetCheck[] = []
  const add = (target: string, where: string, value: number | undefined, threshold: number, otherCpu?: number) =>
    out.push({
      target,
      where,
      ...(value !== undefined ? { value } : {}),
      threshold,
      ...(value !== undefined ? { pass: value >= threshold } : {}),
      ...(otherCpu !== undefined && otherCpu > busyShare ? { busy: true } : {}),
    })
  for (const c of cells) {
    if (c.tool !== 'simsage' || c.status !== 'ok') continue
    const where = `${c.shape}, ${c.threads}t`
    if (c.section === 'conv' && c.op === 'forward') {
      add('conv forward ≥ 1.2× onnxruntime', where, c.vsOnnxruntime, 1.2, c.otherCpu)
      if (c.c === 256) add('conv forward ≥ 60% of FMA peak (C = 256)', where, c.fractionOfPeak, 0.6, c.otherCpu)
    }
    if (c.section === 'conv' && c.op === 'forward+backward' && c.c === 256) {
      add('conv forward+backward ≥ 50% of FMA peak (C = 256)', where, c.fractionOfPeak, 0.5, c.otherCpu)
    }
    if (c.section === 'gru' && c.op === 'forward')
      add('GRU forward ≥ 1.0× onnxruntime', where, c.vsOnnxruntime, 1, c.otherCpu)
  }
  for (const s of streaming) {
    const where = `${s.threads}t`
    if (s.model === 'tcn' && s.streams === 1) {
      add(
        `TCN one event ≥ 100× recomputing the window (RF ${s.receptiveField})`,
        where,
        s.speedupVsWindow,
        100,
        s.otherCpu,
      )
    }
    if (s.model === 'tcn' && s.streams === o.streams && s.threads === 2) {
      add(`TCN ${s.streams} streams ≥ 200,000 events/s on 2 threads`, where, s.eventsPerSec, 200_000, s.otherCpu)
    }
  }
  return out
}

const fmtS = (s?: number) =>
  s === undefined
    ? '-'
    : s < 1e-3
      ? `${(s * 1e6).toFixed(1)} µs`
      : s < 1
        ? `${(s * 1e3).toFixed(2)} ms`
        : `${s.toFixed(2)} s`
const fmtX = (x?: number) => (x === undefined ? '' : `${x >= 100 ? x.toFixed(0) : x.toFixed(2)}×`)
const fmtPct = (x?: number) => (x === undefined ? '' : `${(x * 100).toFixed(1)}%`)
const fmtN = (x?: number) =>
  x === undefined ? '' : x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toPrecision(3)

/** Columns padded to their widest cell, a rule under the header. */
function table(head: string[], rows: string[][]): string {
  const all = [head, ...rows]
  const widths = head.map((_, c) => Math.max(...all.map((r) => (r[c] ?? '').length)))
  const line = (r: string[]) =>
    r
      .map((x, c) => (x ?? '').padEnd(widths[c]))
      .join('  ')
      .trimEnd()
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n')
}

/** "2.4e-6 (of 3.1)": max abs diff against each peer. */
function checkText(c: TemporalCell): string {
  return (c.check ?? [])
    .map((k) => {
      const bad = k.maxAbsDiff > 1e-3 * Math.max(1, k.maxAbs) ? ' MISMATCH' : ''
      return `${k.vs === 'onnxruntime' ? 'ort' : 'plain'} ${k.maxAbsDiff.toExponential(1)}${bad}`
    })
    .join(', ')
}

const busyText = (x?: number) => (x !== undefined && x > busyShare ? `!${Math.round(x * 100)}%` : '')

/** One table per section. */
function sectionTable(cells: readonly TemporalCell[], section: TemporalCell['section']): string {
  const rows = cells
    .filter((c) => c.section === section)
    .map((c) => [
      c.shape,
      String(c.threads),
      c.tool,
      c.op,
      c.status === 'ok' ? fmtS(c.bestSeconds) : `ERROR ${c.error}`,
      c.batchTimed !== undefined ? String(c.batchTimed) : '',
      fmtN(c.gflops),
      fmtPct(c.fractionOfPeak),
      fmtX(c.vsOnnxruntime),
      fmtX(c.vsPlain),
      checkText(c),
      busyText(c.otherCpu),
    ])
  return table(
    ['shape', 'thr', 'tool', 'op', 'best', 'seqs', 'GFLOP/s', '% peak', 'vs ort', 'vs plain', 'max|Δ| vs', 'busy'],
    rows,
  )
}

/** Renders the report as text. */
export function formatTemporalReport(r: TemporalReport): string {
  const o = r.options
  const m = r.machine
  const lines: string[] = []
  lines.push(
    `temporal kernels: ${m.cpuModel}, ${m.logicalCpus} logical CPUs, node ${m.node}; FMA peak ` +
      `${m.fmaPeakGflops?.toFixed(1) ?? '?'} GFLOP/s/thread (${m.fmaSimd ?? '?'}, probed in this run; second probe ratio ` +
      `${m.fmaCheckRatio?.toFixed(3) ?? '?'}); load average at start ${r.loadAvgAtStart.toFixed(2)}, other processes ` +
      `used ${(r.otherCpuDuringRun * 100).toFixed(0)}% of the CPUs during the run${o.quick ? '; QUICK mode' : ''}`,
  )
  lines.push(
    'GFLOP/s: conv 2·B·C·C·K·T per forward, TCN the sum of its convs, GRU 2·B·T·(3H·D + 3H·H); forward+backward = 3× forward. ' +
      '% peak = GFLOP/s / (threads × FMA peak). vs ort / vs plain: GFLOP/s ratios, forward against forward. ' +
      `plain TS runs ${o.plainBatch} sequence(s) of the batch, once, single-threaded.`,
  )
  const sections: [TemporalCell['section'], string][] = [
    ['conv', `causal dilated conv1d, B = ${o.batch}, K = ${o.kernelSize}, C_in = C_out = C`],
    [
      'tcn',
      `TCN forward, ${o.tcnDilations.length} residual blocks (conv→ReLU→conv→ReLU + identity, ReLU), B = ${o.batch}`,
    ],
    ['gru', 'GRU, 1 layer, zero initial state'],
  ]
  for (const [s, title] of sections) {
    if (!r.cells.some((c) => c.section === s)) continue
    lines.push('', `${title}:`, sectionTable(r.cells, s))
  }
  if (r.streaming.length > 0) {
    lines.push(
      '',
      `streaming: TCN C = ${o.streamChannels}, dilations ${o.streamDilations.join('/')}, K = ${o.kernelSize}; GRU H = ${o.gru.hidden}, D = ${o.gru.input}:`,
    )
    const rows = r.streaming.map((s) => [
      s.model,
      String(s.threads),
      String(s.streams),
      fmtS(s.stepSeconds),
      fmtN(s.eventsPerSec),
      s.windowSeconds !== undefined ? `${fmtS(s.windowSeconds)} (RF ${s.receptiveField})` : '',
      fmtX(s.speedupVsWindow),
      s.check ? `${s.check.maxAbsDiff.toExponential(1)} over ${s.check.steps} steps` : '',
      busyText(s.otherCpu),
    ])
    lines.push(
      table(
        ['model', 'thr', 'streams', 'per call', 'events/s', 'window forward', 'speed-up', 'stream vs forward', 'busy'],
        rows,
      ),
    )
  }
  if (r.targets.length > 0) {
    lines.push('', 'targets (issue 7):')
    const byTarget = new Map<string, TargetCheck[]>()
    for (const t of r.targets) byTarget.set(t.target, [...(byTarget.get(t.target) ?? []), t])
    for (const [target, checks] of byTarget) {
      const measured = checks.filter((c) => c.pass !== undefined)
      const passed = measured.filter((c) => c.pass)
      const verdict = measured.length === 0 ? 'NOT MEASURED' : passed.length === measured.length ? 'PASS' : 'MISS'
      lines.push(`  ${verdict.padEnd(12)} ${target}: ${passed.length}/${measured.length} places`)
      for (const c of checks) {
        if (c.pass !== false) continue
        const value = c.threshold >= 1000 ? fmtN(c.value) : c.threshold < 1 ? fmtPct(c.value) : fmtX(c.value)
        lines.push(`      miss: ${c.where}: ${value}${c.busy ? ' (timed while the CPUs were busy)' : ''}`)
      }
    }
  }
  for (const n of r.notes) lines.push(`note: ${n}`)
  lines.push('busy: share of the CPUs other processes used while the cell was timed (shown above 5%).')
  return lines.join('\n')
}
