/**
 * The temporal benchmark's settings, defaults and report types, and the parsing of its options
 * (`simsage bench temporal`; the run itself: bench/temporal.ts).
 */
import type { MachineProbe } from './machine.js'
import { parseIntList, parsePositive } from './parse.js'
import type { StreamResult } from './temporal-stream.js'
import type { TargetCheck } from './temporal-format.js'

/** Benchmark settings, already validated. */
export interface TemporalOptions {
  readonly quick: boolean
  /** Conv and TCN channel counts C (C_in = C_out = C). */
  readonly channels: readonly number[]
  /** Conv and TCN sequence lengths T. */
  readonly steps: readonly number[]
  /** Conv dilations d. */
  readonly dilations: readonly number[]
  /** Conv and TCN batch B. */
  readonly batch: number
  readonly kernelSize: number
  /** Dilations of the 4-block TCN cells, one per block. */
  readonly tcnDilations: readonly number[]
  readonly gru: { readonly batch: number; readonly steps: number; readonly hidden: number; readonly input: number }
  /** Streaming TCN: channels and per-block dilations (receptive field ≥ 256 by default). */
  readonly streamChannels: number
  readonly streamDilations: readonly number[]
  /** Streams stepped in one call. */
  readonly streams: number
  readonly threads: readonly number[]
  readonly budgetSeconds: number
  readonly maxReps: number
  readonly seed: number
  /** Sequences the plain loop runs per timed call (a prefix of the batch). */
  readonly plainBatch: number
  /** The plain loop runs conv cells with C and T at most these (and the GRU). */
  readonly plainMaxChannels: number
  readonly plainMaxSteps: number
  readonly sections: readonly Section[]
  /** Case-insensitive substrings of tool names to run; empty runs all. */
  readonly tools: readonly string[]
  readonly log: (line: string) => void
}

export type Section = 'conv' | 'tcn' | 'gru' | 'stream'
export const SECTIONS: readonly Section[] = ['conv', 'tcn', 'gru', 'stream']
export type Tool = 'simsage' | 'onnxruntime' | 'plain TS'
export type Op = 'forward' | 'forward+backward'

/** One (section, op, tool, threads, shape) measurement. */
export interface TemporalCell {
  readonly section: 'conv' | 'tcn' | 'gru'
  readonly op: Op
  readonly tool: Tool
  readonly threads: number
  /** "C=64 T=256 d=1", "B=256 T=50 H=128 D=128". */
  readonly shape: string
  readonly c?: number
  readonly t: number
  readonly d?: number
  readonly status: 'ok' | 'error'
  readonly error?: string
  /** Sequences in each timed call (the plain loop: a prefix of the batch). */
  readonly batchTimed?: number
  readonly bestSeconds?: number
  readonly medianSeconds?: number
  readonly reps?: number
  readonly gflops?: number
  /** gflops / (threads × the single-thread FMA peak measured in this run). */
  readonly fractionOfPeak?: number
  /** Share of CPU capacity other processes used while this cell was timed (0..1). */
  readonly otherCpu?: number
  /** simsage rows: gflops over onnxruntime's forward at the same shape and threads. */
  readonly vsOnnxruntime?: number
  /** simsage rows: gflops over the plain loop's forward at the same shape. */
  readonly vsPlain?: number
  /** simsage forward rows: max |simsage − peer| over the output, and max |peer| for scale. */
  readonly check?: { readonly vs: Tool; readonly maxAbsDiff: number; readonly maxAbs: number }[]
}

/** Everything one run measured; written as JSON. */
export interface TemporalReport {
  readonly bench: 'temporal'
  readonly date: string
  readonly options: Omit<TemporalOptions, 'log'>
  readonly machine: MachineProbe
  readonly notes: string[]
  readonly cells: TemporalCell[]
  readonly streaming: StreamResult[]
  readonly targets: TargetCheck[]
  readonly loadAvgAtStart: number
  readonly otherCpuDuringRun: number
  readonly totalSeconds: number
}

/** The shapes (default) and the smoke-test shapes (`quick`). */
export const temporalDefaults = {
  channels: [64, 256],
  steps: [256, 1024],
  dilations: [1, 2, 4, 8],
  batch: 32,
  kernelSize: 3,
  tcnDilations: [1, 2, 4, 8],
  gru: { batch: 256, steps: 50, hidden: 128, input: 128 },
  streamChannels: 64,
  // 1 + 2·(K−1)·Σd = 1 + 4·85 = 341 ≥ 256 at K = 3 (two convs per block).
  streamDilations: [1, 4, 16, 64],
  streams: 1000,
  threads: [1, 2],
  budgetSeconds: 0.3,
  maxReps: 5,
  seed: 42,
  plainBatch: 2,
  plainMaxChannels: 64,
  plainMaxSteps: 256,
} as const

const quickDefaults = {
  channels: [64],
  steps: [256],
  dilations: [1, 4],
  gru: { batch: 64, steps: 50, hidden: 128, input: 128 },
  budgetSeconds: 0.03,
  maxReps: 2,
  plainBatch: 1,
} as const

/** Raw option values as the command line gives them. */
export interface RawTemporalOptions {
  quick?: boolean
  threads?: string
  channels?: string
  steps?: string
  dilations?: string
  budget?: string | number
  maxReps?: string | number
  seed?: string | number
  sections?: string
  tools?: string
  log?: (line: string) => void
}

/** Applies defaults (`quick`: C = 64, T = 256, d ∈ {1, 4}, GRU B = 64, tiny budgets) and validates. */
export function parseTemporalOptions(raw: RawTemporalOptions = {}): TemporalOptions {
  const d = temporalDefaults
  const q = raw.quick === true
  const sections = raw.sections === undefined ? [...SECTIONS] : raw.sections.split(',').map((s) => s.trim())
  for (const s of sections) {
    if (!SECTIONS.includes(s as Section)) throw new RangeError(`--sections: unknown "${s}" (${SECTIONS.join(', ')})`)
  }
  return {
    quick: q,
    channels: raw.channels ? parseIntList(raw.channels, '--channels') : [...(q ? quickDefaults.channels : d.channels)],
    steps: raw.steps ? parseIntList(raw.steps, '--steps') : [...(q ? quickDefaults.steps : d.steps)],
    dilations: raw.dilations
      ? parseIntList(raw.dilations, '--dilations')
      : [...(q ? quickDefaults.dilations : d.dilations)],
    batch: d.batch,
    kernelSize: d.kernelSize,
    tcnDilations: [...d.tcnDilations],
    gru: { ...(q ? quickDefaults.gru : d.gru) },
    streamChannels: d.streamChannels,
    streamDilations: [...d.streamDilations],
    streams: d.streams,
    threads: raw.threads ? parseIntList(raw.threads, '--threads') : [...d.threads],
    budgetSeconds:
      raw.budget !== undefined
        ? parsePositive(raw.budget, '--budget', false)
        : q
          ? quickDefaults.budgetSeconds
          : d.budgetSeconds,
    maxReps:
      raw.maxReps !== undefined
        ? parsePositive(raw.maxReps, '--max-reps', true)
        : q
          ? quickDefaults.maxReps
          : d.maxReps,
    seed: raw.seed !== undefined ? Math.trunc(Number(raw.seed)) : d.seed,
    plainBatch: q ? quickDefaults.plainBatch : d.plainBatch,
    plainMaxChannels: d.plainMaxChannels,
    plainMaxSteps: d.plainMaxSteps,
    sections: sections as Section[],
    tools: (raw.tools ?? '')
      .split(',')
      .map((t) => t.trim().toLowerCase())
      .filter(Boolean),
    log: raw.log ?? ((line) => process.stderr.write(`${line}\n`)),
  }
}
