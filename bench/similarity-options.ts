/**
 * The similarity benchmark's settings, defaults and report types, and the parsing of its options
 * (`simsage bench similarity`; the run itself: bench/similarity.ts).
 */
import type { MachineProbe } from './machine.js'
import { parseIntList, parsePositive } from './parse.js'
import type { UsearchExactStorage } from './peers/usearchPrecision.js'
import type { FashionEmbedding, PrecisionDataKind } from './precision-data.js'

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
  /** Storage types of the precision section (`--precision f32,bf16,f16,i8`); empty skips it. */
  readonly precision: readonly PrecisionStorage[]
  /** Data of the precision section (`--precision-data random|fashion`). */
  readonly precisionData: PrecisionDataKind
  /** Fashion-MNIST directory for `--precision-data fashion`. */
  readonly fashionDir: string
  /** How `--precision-data fashion` embeds the images (`--fashion-embed`, `--fashion-epochs`). */
  readonly fashionEmbedding: FashionEmbedding
  /** Progress lines (stderr by default). */
  readonly log: (line: string) => void
}

/**
 * Storage types the precision section measures: 'i8' is i8 with per-vector scales, 'i8-dim' i8 with
 * per-dimension scales learned from the first {@link DIM_SCALE_ROWS} rows (one add), then the rest.
 */
export type PrecisionStorage = 'f32' | 'bf16' | 'f16' | 'i8' | 'i8-dim'

/** Rows of the first add of an 'i8-dim' index (the rows its per-dimension scales come from). */
export const DIM_SCALE_ROWS = 10_000

/** One storage type of the precision section: memory, encoding, recall against the exact f32 index. */
export interface PrecisionSummary {
  readonly storage: PrecisionStorage
  /** Bytes per stored vector without the f32 copies (EmbeddingIndex.stats, less 4 x dim when kept). */
  readonly bytesPerVector: number
  /** Vectors encoded per second by add (0 for f32). */
  readonly quantizeRowsPerSec: number
  /** Queries the recall is measured on, and k. */
  readonly recallQueries: number
  readonly k: number
  /** Mean |top-k ∩ exact f32 top-k| / k, without re-ranking. */
  readonly recall: number
  /** The same with `rerank: 4k`. */
  readonly recallRerank: number
  /** Share of queries whose re-ranked top-k equals the exact top-k as a set (the true top-k was
   * within the quantised top-4k). */
  readonly rerankExactShare: number
  /** 'i8-dim': values saturated by the scales learned from the first add. */
  readonly saturatedValues?: number
}

/** usearch's exact search in one storage type: recall against simsage's exact f32 index. */
export interface PeerPrecisionSummary {
  readonly storage: UsearchExactStorage
  readonly bytesPerVector: number
  readonly recall: number
}

/** One timed (storage, threads, Q) cell of usearch's exact search, with simsage's ratio. */
export interface PeerPrecisionCell {
  readonly storage: UsearchExactStorage
  readonly threads: number
  readonly queries: number
  /** Queries in each timed call (usearch is timed on a prefix when a batch is slow). */
  readonly queriesTimed: number
  readonly k: number
  readonly queriesPerSec: number
  /** simsage's queries/s in the same (storage, no re-ranking, threads, Q) over usearch's. */
  readonly simsageOverPeer?: number
}

/** The precision section's results. */
export interface PrecisionSection {
  /** What the data is, its size. */
  readonly data: string
  readonly n: number
  readonly dim: number
  readonly summaries: PrecisionSummary[]
  readonly cells: PrecisionCell[]
  /** usearch's exact search at the storage types its binding offers. */
  readonly peer?: {
    readonly name: string
    readonly summaries: PeerPrecisionSummary[]
    readonly cells: PeerPrecisionCell[]
  }
  /** What could not be measured, and why (usearch storage types it lacks, usearch absent). */
  readonly notes: string[]
}

/** One timed (storage, rerank, threads, Q) cell of the precision section. */
export interface PrecisionCell {
  readonly storage: PrecisionStorage
  readonly rerank: number
  readonly threads: number
  readonly queries: number
  readonly k: number
  readonly queriesPerSec: number
  /** queries/s over the f32 index's (no re-ranking) in the same (threads, Q). */
  readonly ratioToF32?: number
  /** ran.kernel of the timed search. */
  readonly kernel: string
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
  /** The precision section (`--precision`), when asked for. */
  readonly precision?: PrecisionSection
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
  fashionDir: '../shared/data/fashion-mnist',
  fashionEpochs: 3,
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
  precision?: string | readonly string[]
  precisionData?: string
  fashionDir?: string
  fashionEmbed?: string
  fashionEpochs?: string | number
  log?: (line: string) => void
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
    precision: parsePrecision(raw.precision),
    precisionData: parsePrecisionData(raw.precisionData),
    fashionDir: raw.fashionDir ?? similarityDefaults.fashionDir,
    fashionEmbedding: parseFashionEmbedding(raw.fashionEmbed, raw.fashionEpochs),
    log: raw.log ?? ((line) => process.stderr.write(`${line}\n`)),
  }
}

const STORAGES: readonly PrecisionStorage[] = ['f32', 'bf16', 'f16', 'i8', 'i8-dim']

/** Parses "f32,bf16,f16,i8" (f32 is always measured: the ratios need it). */
function parsePrecision(value: string | readonly string[] | undefined): PrecisionStorage[] {
  if (value === undefined) return []
  const items = (typeof value === 'string' ? value.split(',') : [...value]).map((s) => s.trim()).filter(Boolean)
  for (const s of items) {
    if (!STORAGES.includes(s as PrecisionStorage)) {
      throw new RangeError(`--precision: expected storage types among ${STORAGES.join(', ')}, got "${s}"`)
    }
  }
  return STORAGES.filter((s) => s === 'f32' || items.includes(s))
}

/** Parses `--precision-data`: 'random' (default) or 'fashion'. */
function parsePrecisionData(value: string | undefined): PrecisionDataKind {
  if (value === undefined || value === 'random') return 'random'
  if (value === 'fashion') return 'fashion'
  throw new RangeError(`--precision-data: expected random or fashion, got "${value}"`)
}

/** Parses `--fashion-embed tower|projection` (default tower) and `--fashion-epochs`. */
function parseFashionEmbedding(kind: string | undefined, epochs: string | number | undefined): FashionEmbedding {
  if (kind === 'projection') return { kind }
  if (kind !== undefined && kind !== 'tower') {
    throw new RangeError(`--fashion-embed: expected tower or projection, got "${kind}"`)
  }
  const e = epochs !== undefined ? parsePositive(epochs, '--fashion-epochs', true) : similarityDefaults.fashionEpochs
  return { kind: 'tower', epochs: e }
}

/** Id of row 0, position `j`, as a number (-1 when absent). */
