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
import { loadUsearch, type UsearchExactStorage, usearchExact, usearchMissing } from './peers/usearchPrecision.js'
import { fashionPrecisionData, type PrecisionData } from './precision-data.js'
import { loadSimsage, type SimsageApi } from './simsageApi.js'
import {
  DIM_SCALE_ROWS,
  type SimilarityOptions,
  type PrecisionSummary,
  type PeerPrecisionSummary,
  type PeerPrecisionCell,
  type PrecisionSection,
  type PrecisionCell,
  type SimilarityCell,
  type SimilarityBuild,
  type Top1Mismatch,
  type SimilarityReport,
} from './similarity-options.js'

export * from './similarity-options.js'

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
  const precision =
    options.precision.length > 0 && typeof api !== 'string'
      ? await runPrecisionOn(api, options, corpus, queries)
      : undefined
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
    ...(precision ? { precision } : {}),
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

/**
 * The precision section on the data `--precision-data` names: the run's seeded corpus and queries
 * (`random`) or Fashion-MNIST embeddings (`fashion`; skipped with a note when not found).
 */
async function runPrecisionOn(
  api: SimsageApi,
  options: SimilarityOptions,
  corpus: Float32Array,
  queries: Float32Array,
): Promise<PrecisionSection | undefined> {
  const { n, dim, log } = options
  const maxQ = options.queries[options.queries.length - 1]
  if (options.precisionData === 'random') {
    const label = 'seeded normal float32, queries from seed + 1'
    const data = { label, corpus, n, dim, queries, nQueries: maxQ, recallQueries: Math.min(maxQ, 256) }
    return runPrecision(api, options, data)
  }
  const t0 = performance.now()
  const data = await fashionPrecisionData(api, options.fashionDir, options.seed, options.fashionEmbedding)
  if (typeof data === 'string') {
    log(`precision: skipped, ${data}`)
    return undefined
  }
  log(`precision data: ${data.label} (${((performance.now() - t0) / 1000).toFixed(1)} s)`)
  return runPrecision(api, options, data)
}

/** Mean |got top-k ∩ want top-k| / k over the first `nq` queries, and the share of queries equal as sets. */
function overlapAt(
  want: ArrayLike<number | bigint>,
  got: ArrayLike<number | bigint>,
  nq: number,
  k: number,
): { recall: number; exactShare: number } {
  let hit = 0
  let full = 0
  for (let i = 0; i < nq; i++) {
    const w = new Set<number>()
    for (let j = 0; j < k; j++) w.add(Number(want[i * k + j]))
    let h = 0
    for (let j = 0; j < k; j++) if (w.has(Number(got[i * k + j]))) h++
    hit += h
    if (h === k) full++
  }
  return { recall: hit / (nq * k), exactShare: full / nq }
}

/**
 * The precision section: per storage type an 'ip' EmbeddingIndex with keepF32 over the corpus;
 * recall@k of the first `recallQueries` queries against the f32 index's exact top-k, without and
 * with `rerank: 4k`; queries/s at every (threads, Q <= the queries available) with k = the
 * smallest --k, without and with re-ranking; bytes per vector and encoding rate from `stats`.
 * Then usearch's exactSearch at the storage types its binding offers (f32, i8), on the same data
 * and queries: recall against the same exact top-k, queries/s, simsage's ratio; a note for each
 * requested type it lacks.
 */
async function runPrecision(
  api: SimsageApi,
  options: SimilarityOptions,
  data: PrecisionData,
): Promise<PrecisionSection> {
  const { log } = options
  const { n, dim, corpus, queries } = data
  const k = options.k[0]
  const m = 4 * k
  const nr = data.recallQueries
  const qs = options.queries.filter((q) => q <= data.nQueries)
  const ids = new Int32Array(n)
  for (let i = 0; i < n; i++) ids[i] = i
  const summaries: PrecisionSummary[] = []
  const cells: PrecisionCell[] = []
  const notes: string[] = []
  let exact: Float64Array | undefined
  const f32Qps = new Map<string, number>()
  const simsageQps = new Map<string, number>()
  for (const storage of options.precision) {
    const dimScaled = storage === 'i8-dim'
    const index = new api.EmbeddingIndex({
      dim,
      metric: 'ip',
      storage: dimScaled ? 'i8' : storage,
      keepF32: storage !== 'f32',
      ...(storage.startsWith('i8') ? { i8Scales: dimScaled ? 'dimension' : 'vector' } : {}),
    })
    try {
      const first = dimScaled ? Math.min(n, DIM_SCALE_ROWS) : n
      index.add(ids.subarray(0, first), corpus.subarray(0, first * dim))
      if (first < n) index.add(ids.subarray(first), corpus.subarray(first * dim, n * dim))
      const st = index.stats
      const rq = queries.subarray(0, nr * dim)
      const plain = index.searchSync(rq, k)
      exact ??= plain.ids
      const reranked = storage === 'f32' ? plain : index.searchSync(rq, k, { rerank: m })
      const a = overlapAt(exact, plain.ids, nr, k)
      const b = overlapAt(exact, reranked.ids, nr, k)
      const summary: PrecisionSummary = {
        storage,
        bytesPerVector: st.bytesPerVector - (st.keepF32 ? 4 * dim : 0),
        quantizeRowsPerSec: st.quantizeRowsPerSecond,
        recallQueries: nr,
        k,
        recall: a.recall,
        recallRerank: b.recall,
        rerankExactShare: b.exactShare,
        ...(dimScaled ? { saturatedValues: st.saturatedValues } : {}),
      }
      summaries.push(summary)
      log(
        `precision ${storage}: ${summary.bytesPerVector} B/vector, recall@${k} ${a.recall.toFixed(4)}, ` +
          `with rerank ${m} ${b.recall.toFixed(4)} (${(b.exactShare * 100).toFixed(1)}% of queries exact)` +
          (dimScaled ? `, scales from the first ${first} rows, ${st.saturatedValues} values saturated` : ''),
      )
      for (const rerank of storage === 'f32' ? [0] : [0, m]) {
        for (const threads of options.threads) {
          for (const q of qs) {
            let kernel = ''
            const timing = await timeCell(
              (nq) => {
                const r = index.searchSync(queries.subarray(0, nq * dim), k, rerank ? { threads, rerank } : { threads })
                kernel = r.ran.kernel ?? ''
                return { ids: r.ids }
              },
              q,
              true,
              { budgetSeconds: options.budgetSeconds, maxReps: options.maxReps },
            )
            const qps = timing.queriesTimed / timing.bestSeconds
            const key = `${threads}/${q}`
            if (storage === 'f32') f32Qps.set(key, qps)
            if (rerank === 0) simsageQps.set(`${storage}/${key}`, qps)
            const base = f32Qps.get(key)
            cells.push({
              storage,
              rerank,
              threads,
              queries: q,
              k,
              queriesPerSec: qps,
              kernel,
              ...(base ? { ratioToF32: qps / base } : {}),
            })
            log(
              `  ${storage}${rerank ? ` rerank ${rerank}` : ''} t=${threads} Q=${q}: ${qps.toFixed(1)} q/s` +
                (base ? ` (${(qps / base).toFixed(2)}x f32)` : ''),
            )
          }
        }
      }
    } finally {
      index.dispose()
    }
  }

  const section = { data: data.label, n, dim, summaries, cells, notes }
  const mod = await loadUsearch()
  if (typeof mod === 'string') {
    notes.push(`usearch rows skipped: ${mod}`)
    log(`precision: usearch rows skipped, ${mod}`)
    return section
  }
  for (const s of options.precision) if (s === 'bf16' || s === 'f16') notes.push(usearchMissing[s])
  for (const note of notes) log(`precision: ${note}`)
  const peerSummaries: PeerPrecisionSummary[] = []
  const peerCells: PeerPrecisionCell[] = []
  for (const storage of options.precision.filter((s): s is UsearchExactStorage => s === 'f32' || s === 'i8')) {
    const us = usearchExact(mod, storage, corpus, n, dim)
    // Recall in calls of 16 queries: the ids do not depend on the batching, and usearch's
    // per-query cost grows with the batch (its 16 x Q x N bytes of scratch).
    const got = new BigUint64Array(nr * k)
    for (let q0 = 0; q0 < nr; q0 += 16) {
      const c = Math.min(16, nr - q0)
      got.set(us.search(queries.subarray(q0 * dim, (q0 + c) * dim), c, k, Math.max(...options.threads)), q0 * k)
    }
    const recall = overlapAt(exact as Float64Array, got, nr, k).recall
    peerSummaries.push({ storage, bytesPerVector: us.bytesPerVector, recall })
    log(`precision usearch ${storage}: ${us.bytesPerVector} B/vector, recall@${k} ${recall.toFixed(4)}`)
    for (const threads of options.threads) {
      for (const q of qs) {
        const timing = await timeCell(
          (nq) => ({ ids: us.search(queries.subarray(0, nq * dim), nq, k, threads) }),
          q,
          false,
          { budgetSeconds: options.budgetSeconds, maxReps: options.maxReps },
        )
        const qps = timing.queriesTimed / timing.bestSeconds
        const mine = simsageQps.get(`${storage}/${threads}/${q}`)
        peerCells.push({
          storage,
          threads,
          queries: q,
          queriesTimed: timing.queriesTimed,
          k,
          queriesPerSec: qps,
          ...(mine ? { simsageOverPeer: mine / qps } : {}),
        })
        log(
          `  usearch ${storage} t=${threads} Q=${q}: ${qps.toFixed(1)} q/s` +
            (mine ? ` (simsage ${(mine / qps).toFixed(2)}x)` : ''),
        )
      }
    }
  }
  return { ...section, peer: { name: 'usearch exactSearch', summaries: peerSummaries, cells: peerCells } }
}
