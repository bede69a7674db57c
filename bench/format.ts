/**
 * Text tables for a similarity report (cli-table3, no colours): probes, builds, one detailed
 * table per thread count, a simsage-vs-best-peer summary, and footnotes; the precision section's
 * tables (formatPrecision). cli-table3 is a dev dependency: where it is not installed the tables
 * are plain aligned columns.
 */
import { busyThreshold, type SimilarityCell, type SimilarityReport } from './similarity.js'

type Cell = string | number
interface TextTable {
  push(...rows: Cell[][]): unknown
  toString(): string
}
type TableFactory = (head: string[]) => TextTable

const plain = { style: { head: [] as string[], border: [] as string[] } }

/** Columns padded to their widest cell, a rule under the header; what stands in for cli-table3. */
class PlainTable implements TextTable {
  readonly #rows: string[][]
  constructor(head: string[]) {
    this.#rows = [head]
  }
  push(...rows: Cell[][]): number {
    for (const r of rows) this.#rows.push(r.map(String))
    return this.#rows.length
  }
  toString(): string {
    const widths = this.#rows[0].map((_, c) => Math.max(...this.#rows.map((r) => (r[c] ?? '').length)))
    const line = (r: string[]) =>
      r
        .map((x, c) => (x ?? '').padEnd(widths[c]))
        .join('  ')
        .trimEnd()
    return [line(this.#rows[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...this.#rows.slice(1).map(line)].join(
      '\n',
    )
  }
}

let factory: Promise<{ make: TableFactory; note?: string }> | undefined

/** cli-table3 when installed, else {@link PlainTable} with a note saying so. */
function tables(): Promise<{ make: TableFactory; note?: string }> {
  factory ??= import('cli-table3').then(
    (m) => ({ make: (head: string[]) => new m.default({ head, ...plain }) as TextTable }),
    () => ({ make: (head: string[]) => new PlainTable(head), note: 'cli-table3 not installed: plain tables' }),
  )
  return factory
}

/** Significant-figure formatting for rates. */
function num(v: number | undefined, digits = 3): string {
  if (v === undefined || !Number.isFinite(v)) return ''
  if (v >= 10 ** digits) return Math.round(v).toLocaleString('en-US')
  return v.toPrecision(digits)
}

/** Percent with one decimal. */
function pct(v: number | undefined): string {
  return v === undefined || !Number.isFinite(v) ? '' : `${(v * 100).toFixed(1)}%`
}

/** Subset marker shown next to queries/s, e.g. "*16/1024". */
function subsetMark(c: SimilarityCell): string {
  return c.queriesTimed !== undefined && c.queriesTimed < c.queries ? ` *${c.queriesTimed}/${c.queries}` : ''
}

/** "!" when other processes competed for the CPUs while the cell was timed. */
function busyMark(c: SimilarityCell): string {
  return c.otherCpu !== undefined && c.otherCpu > busyThreshold ? ` !${Math.round(c.otherCpu * 100)}%` : ''
}

/** Correctness column: "ok", "MISMATCH" or recall of query 0 when below 1. */
function checkText(c: SimilarityCell): string {
  if (c.status !== 'ok') return ''
  if (!c.top1Ok) return 'TOP-1 MISMATCH'
  return c.recallQuery0 !== undefined && c.recallQuery0 < 1 ? `ok (recall ${c.recallQuery0.toFixed(2)})` : 'ok'
}

/** Renders the whole report as text. */
export async function formatSimilarityReport(r: SimilarityReport): Promise<string> {
  const { make, note } = await tables()
  const out: string[] = []
  const m = r.machine
  const o = r.options
  out.push(
    `simsage similarity benchmark — ${r.date}`,
    `N=${o.n.toLocaleString('en-US')} D=${o.dim} metric=ip, seeded normal float32 (seed ${o.seed}); ` +
      `per-cell budget ${o.budgetSeconds} s, best of <= ${o.maxReps} reps after a warm-up`,
    `${m.cpuModel}, ${m.logicalCpus} logical CPUs, ${m.totalMemGiB} GiB, ${m.platform}, Node ${m.node}`,
  )
  if (m.fmaPeakGflops !== undefined) {
    const bw = Object.entries(m.readGbPerSec).map(([t, v]) => `${t} thread(s) ${v.toFixed(1)} GB/s`)
    out.push(
      `FMA peak (simsage probe, ${m.fmaSimd}): ${m.fmaPeakGflops.toFixed(1)} GFLOP/s per thread ` +
        `(second probe ${m.fmaCheckGflops?.toFixed(1)}, ratio ${m.fmaCheckRatio?.toFixed(3)}); ` +
        `streaming read of the corpus: ${bw.join(', ')}`,
    )
  } else out.push('simsage unavailable: no FMA / read-bandwidth probes, no fractions')
  out.push('')

  const builds = make(['build (excluded from timing)', 'threads', 'k', 'seconds'])
  for (const b of r.builds) builds.push([b.tool, b.threads, b.k, b.error ? `FAILED: ${b.error}` : b.seconds.toFixed(2)])
  out.push(builds.toString(), '')

  for (const threads of o.threads) {
    const t = make([
      'Q',
      'k',
      'tool',
      'queries/s',
      'GFLOP/s',
      'of FMA peak',
      'GB/s (Q=1)',
      'of read BW',
      'top-1',
      'simsage / best peer',
    ])
    let lastGroup = ''
    for (const c of sortedCells(r).filter((x) => x.threads === threads)) {
      const group = `${c.queries}/${c.k}`
      const head = group === lastGroup ? ['', ''] : [String(c.queries), String(c.k)]
      lastGroup = group
      if (c.status !== 'ok') {
        t.push([
          ...head,
          c.tool,
          c.status === 'n/a' ? 'n/a (single-threaded)' : `ERROR: ${c.error ?? ''}`.slice(0, 60),
          '',
          '',
          '',
          '',
          '',
          '',
        ])
        continue
      }
      t.push([
        ...head,
        c.tool,
        num(c.queriesPerSec) + subsetMark(c) + busyMark(c),
        num(c.gflops),
        pct(c.fractionOfFmaPeak),
        num(c.scanGbPerSec),
        pct(c.fractionOfReadBandwidth),
        checkText(c),
        c.ratioToBestPeer !== undefined ? `${c.ratioToBestPeer.toFixed(2)}x (${c.bestPeer})` : '',
      ])
    }
    out.push(`threads = ${threads}`, t.toString(), '')
  }

  const summary = make(['threads', 'Q', 'k', 'simsage index q/s', 'best peer', 'peer q/s', 'ratio'])
  for (const c of sortedCells(r)) {
    if (c.tool !== 'simsage index' || c.status !== 'ok') continue
    const peer = r.cells.find(
      (x) => x.tool === c.bestPeer && x.threads === c.threads && x.queries === c.queries && x.k === c.k,
    )
    summary.push([
      c.threads,
      c.queries,
      c.k,
      num(c.queriesPerSec) + busyMark(c),
      c.bestPeer ?? '(none)',
      peer ? num(peer.queriesPerSec) + subsetMark(peer) + busyMark(peer) : '',
      c.ratioToBestPeer !== undefined ? `${c.ratioToBestPeer.toFixed(2)}x` : '',
    ])
  }
  out.push('simsage index vs best peer (queries/s ratio, higher is better)', summary.toString(), '')

  out.push(
    'Notes:',
    '  GFLOP/s = 2*N*D*Q / seconds; "of FMA peak" = GFLOP/s / (threads * per-thread peak); GB/s = N*D*4 bytes / seconds at Q=1.',
    '  *a/b: tool processes queries independently; timed on the first a of the b queries (per-cell budget).',
    `  !x%: other processes used x% of the CPUs while the cell was timed (flagged above ${busyThreshold * 100}%); ` +
      `whole run: ${(r.otherCpuDuringRun * 100).toFixed(1)}%, load average at start ${r.loadAvgAtStart.toFixed(2)}.`,
  )
  for (const tool of r.tools) out.push(`  ${tool.name}: ${tool.skipped ? `SKIPPED — ${tool.skipped}` : tool.describe}`)
  if (r.mismatches.length > 0) {
    out.push('', `!!! ${r.mismatches.length} TOP-1 MISMATCH(ES) against the float64 reference:`)
    for (const x of r.mismatches) {
      out.push(
        `  ${x.tool} threads=${x.threads} Q=${x.queries} k=${x.k}: got ${x.gotId} (score ${x.gotScore.toFixed(5)}), ` +
          `expected ${x.expectedId} (score ${x.expectedScore.toFixed(5)})`,
      )
    }
  } else out.push('  top-1 of query 0 agreed with the float64 reference in every measured cell.')
  if (note) out.push(`  ${note}.`)
  out.push(`  total ${r.totalSeconds.toFixed(1)} s`)
  return out.join('\n')
}

/** Cells ordered by (threads, Q, k), tools in run order; the runner emits them tool-major. */
function sortedCells(r: SimilarityReport): SimilarityCell[] {
  const order = new Map(r.tools.map((t, i) => [t.name, i]))
  return [...r.cells].sort(
    (a, b) =>
      a.threads - b.threads ||
      a.queries - b.queries ||
      a.k - b.k ||
      (order.get(a.tool) ?? 0) - (order.get(b.tool) ?? 0),
  )
}

/** The precision section as text tables (empty when it did not run). */
export function formatPrecision(report: SimilarityReport): string {
  const p = report.precision
  if (!p) return ''
  const k = p.summaries[0]?.k
  const lines = [
    '',
    `precision (${p.data}; N=${p.n}, D=${p.dim}, ip, k=${k}; recall against the f32 index on ${p.summaries[0]?.recallQueries} queries)`,
    '| storage | bytes/vector | encode vectors/s | recall@k | recall@k rerank 4k | queries exact after rerank |',
    '| --- | --- | --- | --- | --- | --- |',
  ]
  for (const s of p.summaries) {
    lines.push(
      `| ${s.storage}${s.saturatedValues !== undefined ? ` (${s.saturatedValues} saturated)` : ''} | ${s.bytesPerVector} | ${s.quantizeRowsPerSec ? s.quantizeRowsPerSec.toExponential(2) : '-'} | ` +
        `${s.recall.toFixed(4)} | ${s.recallRerank.toFixed(4)} | ${(s.rerankExactShare * 100).toFixed(1)}% |`,
    )
  }
  lines.push(
    '',
    '| storage | rerank | threads | Q | queries/s | x f32 | kernel |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  )
  for (const c of p.cells) {
    lines.push(
      `| ${c.storage} | ${c.rerank || '-'} | ${c.threads} | ${c.queries} | ${c.queriesPerSec.toFixed(1)} | ` +
        `${c.ratioToF32?.toFixed(2) ?? '-'} | ${c.kernel} |`,
    )
  }
  if (p.peer && p.peer.summaries.length > 0) {
    lines.push(
      '',
      `${p.peer.name} at the storage types its Node binding searches exactly (same data and queries; i8: one ` +
        'global corpus scale, per-query scale, codes made by the benchmark)',
      '| storage | bytes/vector | recall@k | threads | Q | queries/s | simsage / usearch |',
      '| --- | --- | --- | --- | --- | --- | --- |',
    )
    for (const c of p.peer.cells) {
      const s = p.peer.summaries.find((x) => x.storage === c.storage)
      const timed = c.queriesTimed < c.queries ? ` (timed on ${c.queriesTimed})` : ''
      lines.push(
        `| ${c.storage} | ${s?.bytesPerVector ?? '-'} | ${s?.recall.toFixed(4) ?? '-'} | ${c.threads} | ${c.queries}${timed} | ` +
          `${c.queriesPerSec.toFixed(1)} | ${c.simsageOverPeer?.toFixed(2) ?? '-'} |`,
      )
    }
  }
  for (const note of p.notes) lines.push('', `note: ${note}`)
  return lines.join('\n')
}
