/**
 * Exact inner-product top-k benchmark: simsage against the tools a Node user would pick instead,
 * in one process, on the same seeded data, in the same run (`simsage bench similarity`).
 *
 * Per cell (threads, Q queries, k): queries/s, effective GFLOP/s = 2 * N * D * Q / seconds,
 * GB/s of corpus scanned at Q = 1, fractions of the machine's FMA peak and streaming-read
 * bandwidth, a top-1 check of query 0 against a float64 reference, and simsage's ratio to the
 * best peer. Build times are reported apart from search times.
 */
import { exactScore, randomNormal, referenceTopK, type ReferenceRow } from './data.js'
import os from 'node:os'
import { cpuSnapshot, otherCpuShare, probeMachine, type MachineProbe } from './machine.js'
import { timeCell } from './measure.js'
import { allTools, type SimilarityTool } from './peers/index.js'
import { loadSimsage } from './simsageApi.js'

/** Benchmark settings, already validated. */
export interface SimilarityOptions {
  /** Corpus rows. */
  readonly n: number
  /** Vector dimension. */
  readonly dim: number
  /** Batch sizes Q. */
  readonly queries: readonly number[]
  /** k values. */
  readonly k: readonly number[]
  /** Thread counts. */
  readonly threads: readonly number[]
  /** Seconds of timed repetitions per cell (warm-ups excluded). */
  readonly budgetSeconds: number
  /** Upper bound on repetitions per cell. */
  readonly maxReps: number
  /** Seed of the corpus; queries use `seed + 1`. */
  readonly seed: number
  /** Case-insensitive substrings of tool names to run; empty runs all. */
  readonly tools: readonly string[]
  /** Progress lines (stderr by default). */
  readonly log: (line: string) => void
}

/** One (tool, threads, Q, k) measurement. */
export interface SimilarityCell {
  readonly tool: string
  readonly isSimsage: boolean
  readonly threads: number
  readonly queries: number
  readonly k: number
  /** 'ok', 'n/a' (tool cannot use this many threads) or 'error'. */
  readonly status: 'ok' | 'n/a' | 'error'
  readonly error?: string
  /** Queries in each timed call (< queries when timed on a prefix). */
  readonly queriesTimed?: number
  readonly reps?: number
  readonly bestSeconds?: number
  readonly medianSeconds?: number
  readonly queriesPerSec?: number
  /** 2 * N * D * queriesTimed / bestSeconds / 1e9. */
  readonly gflops?: number
  /** gflops / (threads * single-thread FMA peak). */
  readonly fractionOfFmaPeak?: number
  /** At Q = 1: N * D * 4 bytes / bestSeconds / 1e9. */
  readonly scanGbPerSec?: number
  /** At Q = 1: scanGbPerSec / streaming read at the same thread count. */
  readonly fractionOfReadBandwidth?: number
  /** Top-1 id of query 0 equals the float64 reference. */
  readonly top1Ok?: boolean
  /** |tool's top-k of query 0 ∩ reference top-k| / k. */
  readonly recallQuery0?: number
  /** Share of CPU capacity other processes used while this cell was timed (0..1). */
  readonly otherCpu?: number
  /** simsage rows only: queries/s over the best peer's in the same cell. */
  readonly ratioToBestPeer?: number
  /** Name of that best peer. */
  readonly bestPeer?: string
}

/** One build (index, graph, session) of a tool. */
export interface SimilarityBuild {
  readonly tool: string
  readonly threads: number
  readonly k: number
  readonly seconds: number
  readonly error?: string
}

/** Top-1 disagreement, reported loudly. */
export interface Top1Mismatch {
  readonly tool: string
  readonly threads: number
  readonly queries: number
  readonly k: number
  readonly expectedId: number
  readonly expectedScore: number
  readonly gotId: number
  /** Float64 score of `gotId`, NaN if it is not a corpus row. */
  readonly gotScore: number
}

/** Everything one run measured; written as JSON. */
export interface SimilarityReport {
  readonly bench: 'similarity'
  readonly date: string
  readonly options: Omit<SimilarityOptions, 'log'>
  readonly machine: MachineProbe
  readonly dataSeconds: number
  readonly tools: ReadonlyArray<{ name: string; describe: string; skipped?: string }>
  readonly builds: SimilarityBuild[]
  readonly cells: SimilarityCell[]
  readonly mismatches: Top1Mismatch[]
  /** 1-minute load average when the run started (other work competes for the same cores). */
  readonly loadAvgAtStart: number
  /** Share of CPU capacity other processes used over the whole run (0..1). */
  readonly otherCpuDuringRun: number
  readonly totalSeconds: number
}

/** Defaults: the quick size (well under a minute on 2 cores) and the `--full` size. */
export const similarityDefaults = {
  n: 100_000,
  fullN: 1_000_000,
  dim: 128,
  queries: [1, 16, 256, 1024],
  k: [10, 100],
  threads: [1, 2],
  budgetSeconds: 0.25,
  fullBudgetSeconds: 3,
  maxReps: 7,
  seed: 42,
} as const

/** Raw option values as the command line gives them (strings or already parsed). */
export interface RawSimilarityOptions {
  full?: boolean
  n?: string | number
  dim?: string | number
  queries?: string | readonly number[]
  k?: string | readonly number[]
  threads?: string | readonly number[]
  budget?: string | number
  maxReps?: string | number
  seed?: string | number
  tools?: string | readonly string[]
  log?: (line: string) => void
}

/** Parses "1,16,256" into positive integers; throws naming `what` on bad input. */
export function parseIntList(value: string | readonly number[], what: string): number[] {
  const items =
    typeof value === 'string'
      ? value
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : [...value]
  const out = items.map((v) => Number(v))
  if (out.length === 0 || out.some((v) => !Number.isInteger(v) || v <= 0)) {
    throw new RangeError(`${what}: expected a comma-separated list of positive integers, got "${String(value)}"`)
  }
  return [...new Set(out)].sort((a, b) => a - b)
}

/** Parses one positive number (integer when `integer`); throws naming `what`. */
function parsePositive(value: string | number, what: string, integer: boolean): number {
  const v = Number(value)
  if (!Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v))) {
    throw new RangeError(`${what}: expected a positive ${integer ? 'integer' : 'number'}, got "${String(value)}"`)
  }
  return v
}

/** Applies defaults (`full` switches N to 1M and the per-cell budget to 3 s) and validates. */
export function parseSimilarityOptions(raw: RawSimilarityOptions = {}): SimilarityOptions {
  const d = similarityDefaults
  const n = raw.n !== undefined ? parsePositive(raw.n, '--n', true) : raw.full ? d.fullN : d.n
  const k = raw.k !== undefined ? parseIntList(raw.k, '--k') : [...d.k]
  if (k[k.length - 1] > n) throw new RangeError(`--k: largest k (${k[k.length - 1]}) exceeds --n (${n})`)
  const tools = raw.tools === undefined ? [] : typeof raw.tools === 'string' ? raw.tools.split(',') : [...raw.tools]
  return {
    n,
    dim: raw.dim !== undefined ? parsePositive(raw.dim, '--dim', true) : d.dim,
    queries: raw.queries !== undefined ? parseIntList(raw.queries, '--queries') : [...d.queries],
    k,
    threads: raw.threads !== undefined ? parseIntList(raw.threads, '--threads') : [...d.threads],
    budgetSeconds:
      raw.budget !== undefined
        ? parsePositive(raw.budget, '--budget', false)
        : raw.full
          ? d.fullBudgetSeconds
          : d.budgetSeconds,
    maxReps: raw.maxReps !== undefined ? parsePositive(raw.maxReps, '--max-reps', true) : d.maxReps,
    seed: raw.seed !== undefined ? Math.trunc(Number(raw.seed)) : d.seed,
    tools: tools.map((t) => t.trim().toLowerCase()).filter(Boolean),
    log: raw.log ?? ((line) => process.stderr.write(`${line}\n`)),
  }
}

/** Id of row 0, position `j`, as a number (-1 when absent). */
function idAt(ids: ArrayLike<number | bigint>, j: number): number {
  const v = ids[j]
  return v === undefined ? -1 : Number(v)
}

/** Runs the whole benchmark; see the file comment. */
export async function runSimilarityBench(options: SimilarityOptions): Promise<SimilarityReport> {
  const { n, dim, log } = options
  const started = performance.now()
  const runSnapshot = cpuSnapshot()
  const loadAvgAtStart = os.loadavg()[0]
  const maxQ = options.queries[options.queries.length - 1]
  const maxK = options.k[options.k.length - 1]

  if (loadAvgAtStart > 0.5)
    log(`warning: 1-minute load average is ${loadAvgAtStart.toFixed(2)}; other work will skew timings`)
  log(
    `similarity: N=${n} D=${dim} Q=${options.queries.join(',')} k=${options.k.join(',')} threads=${options.threads.join(',')}`,
  )
  const t0 = performance.now()
  const corpus = randomNormal(n * dim, options.seed)
  const queries = randomNormal(maxQ * dim, options.seed + 1)
  const reference: ReferenceRow = referenceTopK(corpus, n, dim, queries, 0, maxK)
  const dataSeconds = (performance.now() - t0) / 1000
  log(`data: ${((n * dim * 4) / 1e6).toFixed(0)} MB corpus in ${dataSeconds.toFixed(1)} s (seeded normal float32)`)

  const api = await loadSimsage()
  const machine = probeMachine(typeof api === 'string' ? undefined : api, corpus, options.threads)
  if (typeof api === 'string') log(`simsage unavailable: ${api}; probes skipped`)
  else {
    const bw = options.threads.map((t) => `${t}t ${machine.readGbPerSec[t]?.toFixed(1)} GB/s`).join(', ')
    log(
      `probes: FMA peak ${machine.fmaPeakGflops?.toFixed(1)} GFLOP/s/thread (${machine.fmaSimd}; second probe ` +
        `${machine.fmaCheckGflops?.toFixed(1)}, ratio ${machine.fmaCheckRatio?.toFixed(3)}); streaming read ${bw}`,
    )
  }

  const selected = allTools().filter(
    (t) => options.tools.length === 0 || options.tools.some((s) => t.name.toLowerCase().includes(s)),
  )
  const tools: Array<{ name: string; describe: string; skipped?: string }> = []
  const builds: SimilarityBuild[] = []
  const cells: SimilarityCell[] = []
  const mismatches: Top1Mismatch[] = []

  for (const tool of selected) {
    const avail = await tool.available()
    if (avail !== true) {
      log(`skip ${tool.name}: ${avail}`)
      tools.push({ name: tool.name, describe: tool.describe, skipped: avail })
      continue
    }
    await runTool(tool, { options, corpus, queries, reference, machine, builds, cells, mismatches })
    tools.push({ name: tool.name, describe: tool.describe })
  }

  addRatios(cells)
  return {
    bench: 'similarity',
    date: new Date().toISOString(),
    options: { ...options, log: undefined } as Omit<SimilarityOptions, 'log'>,
    machine,
    dataSeconds,
    tools,
    builds,
    cells,
    mismatches,
    loadAvgAtStart,
    otherCpuDuringRun: otherCpuShare(runSnapshot, cpuSnapshot()) ?? 0,
    totalSeconds: (performance.now() - started) / 1000,
  }
}

interface RunContext {
  readonly options: SimilarityOptions
  readonly corpus: Float32Array
  readonly queries: Float32Array
  readonly reference: ReferenceRow
  readonly machine: MachineProbe
  readonly builds: SimilarityBuild[]
  readonly cells: SimilarityCell[]
  readonly mismatches: Top1Mismatch[]
}

/** All cells of one tool, rebuilding when its build key changes; disposes at the end. */
async function runTool(tool: SimilarityTool, ctx: RunContext): Promise<void> {
  const { options, corpus } = ctx
  const { n, dim, log } = options
  let builtKey: string | undefined
  let buildError: string | undefined
  try {
    for (const threads of options.threads) {
      for (const k of options.k) {
        const base = { tool: tool.name, isSimsage: tool.isSimsage, threads, k }
        if (threads > tool.maxThreads) {
          for (const q of options.queries) ctx.cells.push({ ...base, queries: q, status: 'n/a' })
          continue
        }
        const key = `${tool.rebuildOn.threads ? threads : ''}/${tool.rebuildOn.k ? k : ''}`
        if (key !== builtKey) {
          if (builtKey !== undefined) tool.dispose()
          builtKey = key
          const bt = performance.now()
          try {
            await tool.build({ corpus, n, dim, threads, k })
            buildError = undefined
          } catch (err) {
            buildError = (err as Error).message
          }
          const seconds = (performance.now() - bt) / 1000
          ctx.builds.push({ tool: tool.name, threads, k, seconds, ...(buildError ? { error: buildError } : {}) })
          log(
            `build ${tool.name} (threads=${threads}, k=${k}): ${buildError ? `FAILED ${buildError}` : `${seconds.toFixed(2)} s`}`,
          )
        }
        for (const q of options.queries) {
          if (buildError) {
            ctx.cells.push({ ...base, queries: q, status: 'error', error: `build failed: ${buildError}` })
            continue
          }
          ctx.cells.push(await runCell(tool, ctx, threads, q, k))
        }
      }
    }
  } finally {
    tool.dispose()
  }
}

/** Times one cell and checks query 0 against the reference. */
async function runCell(
  tool: SimilarityTool,
  ctx: RunContext,
  threads: number,
  q: number,
  k: number,
): Promise<SimilarityCell> {
  const { options, corpus, queries, reference, machine } = ctx
  const { n, dim, log } = options
  const base = { tool: tool.name, isSimsage: tool.isSimsage, threads, queries: q, k }
  try {
    tool.prepare?.(queries, q, dim)
    const timing = await timeCell((nq) => tool.search(queries.subarray(0, nq * dim), nq, k, threads), q, tool.batched, {
      budgetSeconds: options.budgetSeconds,
      maxReps: options.maxReps,
    })
    const flops = 2 * n * dim * timing.queriesTimed
    const gflops = flops / timing.bestSeconds / 1e9
    const peak = machine.fmaPeakGflops
    const gotId = idAt(timing.hits.ids, 0)
    const expectedId = reference.ids[0]
    const top1Ok = gotId === expectedId
    const refSet = new Set(reference.ids.slice(0, k))
    let hit = 0
    for (let j = 0; j < k; j++) if (refSet.has(idAt(timing.hits.ids, j))) hit++
    if (!top1Ok) {
      const gotScore = gotId >= 0 && gotId < n ? exactScore(corpus, dim, gotId, queries, 0) : Number.NaN
      ctx.mismatches.push({
        tool: tool.name,
        threads,
        queries: q,
        k,
        expectedId,
        expectedScore: reference.scores[0],
        gotId,
        gotScore,
      })
      log(
        `!!! TOP-1 MISMATCH ${tool.name} threads=${threads} Q=${q} k=${k}: got id ${gotId} (score ${gotScore.toFixed(5)}), ` +
          `reference id ${expectedId} (score ${reference.scores[0].toFixed(5)})`,
      )
    }
    const cell: SimilarityCell = {
      ...base,
      status: 'ok',
      queriesTimed: timing.queriesTimed,
      reps: timing.reps,
      bestSeconds: timing.bestSeconds,
      medianSeconds: timing.medianSeconds,
      queriesPerSec: timing.queriesTimed / timing.bestSeconds,
      gflops,
      ...(peak ? { fractionOfFmaPeak: gflops / (threads * peak) } : {}),
      ...(q === 1 ? scanFields(n * dim * 4, timing.bestSeconds, machine.readGbPerSec[threads]) : {}),
      top1Ok,
      recallQuery0: hit / k,
      ...(timing.otherCpu !== undefined ? { otherCpu: timing.otherCpu } : {}),
    }
    const subset = timing.queriesTimed < q ? ` (timed on ${timing.queriesTimed} of ${q})` : ''
    const busy =
      timing.otherCpu !== undefined && timing.otherCpu > busyThreshold
        ? `, other processes used ${(timing.otherCpu * 100).toFixed(0)}% CPU`
        : ''
    log(
      `  ${tool.name} t=${threads} Q=${q} k=${k}: ${cell.queriesPerSec?.toFixed(1)} q/s, ${gflops.toFixed(1)} GFLOP/s${subset}${busy}`,
    )
    return cell
  } catch (err) {
    const message = (err as Error).message
    log(`  ${tool.name} t=${threads} Q=${q} k=${k}: ERROR ${message}`)
    return { ...base, status: 'error', error: message }
  }
}

/** Cells timed while other processes used more than this share of the CPUs are flagged. */
export const busyThreshold = 0.05

/** GB/s scanned at Q = 1 and its fraction of the streaming-read probe. */
function scanFields(bytes: number, seconds: number, readGbPerSec: number | undefined): Partial<SimilarityCell> {
  const scanGbPerSec = bytes / seconds / 1e9
  return { scanGbPerSec, ...(readGbPerSec ? { fractionOfReadBandwidth: scanGbPerSec / readGbPerSec } : {}) }
}

/** Fills `ratioToBestPeer` on simsage rows: queries/s over the fastest non-simsage row. */
function addRatios(cells: SimilarityCell[]): void {
  const cellKey = (c: SimilarityCell): string => `${c.threads}/${c.queries}/${c.k}`
  const best = new Map<string, SimilarityCell>()
  for (const c of cells) {
    if (c.isSimsage || c.status !== 'ok' || c.queriesPerSec === undefined) continue
    const cur = best.get(cellKey(c))
    if (!cur || (cur.queriesPerSec ?? 0) < c.queriesPerSec) best.set(cellKey(c), c)
  }
  for (let i = 0; i < cells.length; i++) {
    const c = cells[i]
    const peer = best.get(cellKey(c))
    if (!c.isSimsage || c.status !== 'ok' || !peer || c.queriesPerSec === undefined) continue
    cells[i] = { ...c, ratioToBestPeer: c.queriesPerSec / (peer.queriesPerSec as number), bestPeer: peer.tool }
  }
}
