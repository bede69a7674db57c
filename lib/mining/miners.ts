/**
 * Triplet miners: turn a batch (embeddings, labels) into (anchor, positive, negative) row-index
 * triplets, returned as {@link Triplets} (a flat T x 3 Int32Array [a0, p0, n0, a1, p1, n1, ...] with a
 * row accessor). A triplet is valid
 * when a ≠ p, labels[a] = labels[p] and labels[n] ≠ labels[a]. Miners run natively over one B x B
 * distance matrix (see {@link pairwiseDistances}); results do not depend on the thread count.
 *
 * Each miner keeps the B x B float32 distance matrix of its last batch (4·B² bytes: 64 MB at B = 4096)
 * and reuses it for the next batch of the same or a smaller size: a fresh matrix per call would cost
 * one page fault per 4 KiB, about as long as the mining itself at B = 4096.
 *
 * Bad input fails with a stable code: labels length ≠ B → ERR_SIMSAGE_DIM_MISMATCH; an empty batch,
 * fewer than two classes or a negative margin → ERR_SIMSAGE_INVALID_ARGUMENT; NaN or ±Infinity in
 * the embeddings → ERR_SIMSAGE_NON_FINITE.
 */
import { callNative, ErrorCodes, SimsageError } from '../errors.js'
import { binding } from '../native/binding.js'
import type { RawMineArgs } from '../native/mining-types.js'
import { checkThreads, describe } from '../validate.js'
import { Triplets } from './triplets.js'
import type { DistanceMetric, Labels } from './types.js'
import { checkDistanceMetric, checkEmbeddingBatch, checkMargin, toLabels } from './validate.js'

/** What every miner offers. */
export interface TripletMiner {
  /**
   * Mines triplets from a batch.
   *
   * @param embeddings B x dim row-major Float32Array.
   * @param labels B class ids (int32).
   * @param dim Vector dimension D.
   * @returns the T triplets (a, p, n) found, as row indices into the batch.
   */
  mine(embeddings: Float32Array, labels: Labels, dim: number): Triplets
}

/** Options every distance-based miner takes. */
export interface MinerOptions {
  /** Distance the miner ranks by (default 'sqeuclidean', the Deep Ranking distance). */
  metric?: DistanceMetric
  /** Worker threads (default: the process-wide setting). */
  threads?: number
}

const DEFAULT_MARGIN = 0.2

/** A miner's distance matrix, kept between calls: grows to the largest B² asked for; views of exactly B². */
class DistanceBuffer {
  #buf = new Float32Array(0)
  #view = new Float32Array(0)

  get(rows: number): Float32Array {
    const n = rows * rows
    if (this.#view.length === n) return this.#view
    if (this.#buf.length < n) {
      this.#buf = new Float32Array(0) // let the old matrix go before the larger one is allocated
      try {
        this.#buf = new Float32Array(n)
      } catch (err) {
        throw new SimsageError(
          ErrorCodes.OUT_OF_MEMORY,
          `cannot allocate the ${rows} x ${rows} distance matrix (${(err as Error).message})`,
        )
      }
    }
    this.#view = this.#buf.subarray(0, n)
    return this.#view
  }
}

type MineExtra = Omit<RawMineArgs, 'embeddings' | 'labels' | 'dim' | 'distanceBuffer'>

function run(
  embeddings: Float32Array,
  labels: Labels,
  dim: number,
  extra: MineExtra,
  distances: DistanceBuffer,
): Triplets {
  const b = checkEmbeddingBatch(embeddings, dim)
  const lab = toLabels(labels, b.rows)
  const distanceBuffer = distances.get(b.rows)
  const r = callNative(() => binding().miningMine({ embeddings, labels: lab, dim: b.dim, ...extra, distanceBuffer }))
  return new Triplets(r.triplets, r.total, { backend: r.backend })
}

function checkMaxTriplets(v: unknown): number | undefined {
  if (v === undefined) return undefined
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > 0x7fffffff / 3) {
    throw new SimsageError(
      ErrorCodes.INVALID_ARGUMENT,
      `maxTriplets must be an integer in [0, 715827882], got ${describe(v)}`,
    )
  }
  return v
}

/** Options of {@link BatchAllMiner}. */
export interface BatchAllOptions extends MinerOptions {
  /** Keep only triplets with d(a, n) < d(a, p) + margin (non-zero hinge loss). Default false: all valid triplets. */
  onlyViolating?: boolean
  /** Margin used by onlyViolating (>= 0, default 0.2). */
  margin?: number
  /**
   * Most triplets returned: the first ones in (a, p, n) order. A batch has up to B³/4 valid
   * triplets; use {@link BatchAllMiner.count} to size it first. Default: no cap.
   */
  maxTriplets?: number
}

/** A miner that runs the native filter miner: every valid triplet (a, p, n) its filter keeps, in order. */
abstract class FilterMiner implements TripletMiner {
  readonly metric: DistanceMetric
  readonly margin: number
  readonly maxTriplets: number | undefined
  readonly threads: number | undefined
  readonly #distances = new DistanceBuffer()

  constructor(options: MinerOptions & { margin?: number; maxTriplets?: number }) {
    this.metric = checkDistanceMetric(options.metric)
    this.margin = checkMargin(options.margin, DEFAULT_MARGIN)
    this.maxTriplets = checkMaxTriplets(options.maxTriplets)
    this.threads = checkThreads(options.threads)
  }

  /** The native filter: 'any' (every valid triplet), 'all' (margin violators), 'hard', 'semihard', 'easy'. */
  protected abstract filterType(): string

  mine(embeddings: Float32Array, labels: Labels, dim: number): Triplets {
    return run(embeddings, labels, dim, this.args(this.maxTriplets), this.#distances)
  }

  /** How many triplets the filter keeps without a cap (writes none). */
  protected countAll(embeddings: Float32Array, labels: Labels, dim: number): number {
    return run(embeddings, labels, dim, this.args(0), this.#distances).total
  }

  protected args(maxTriplets: number | undefined): MineExtra {
    return {
      miner: 'filter',
      type: this.filterType(),
      margin: this.margin,
      metric: this.metric,
      maxTriplets: maxTriplets ?? -1,
      threads: this.threads,
    }
  }
}

/** Batch-all: every valid triplet of the batch, or every margin violator, in (a, p, n) order. */
export class BatchAllMiner extends FilterMiner {
  readonly onlyViolating: boolean

  constructor(options: BatchAllOptions = {}) {
    super(options)
    this.onlyViolating = options.onlyViolating === true
  }

  protected filterType(): string {
    return this.onlyViolating ? 'all' : 'any'
  }

  /** How many triplets {@link mine} would return without a cap (writes none). */
  count(embeddings: Float32Array, labels: Labels, dim: number): number {
    return this.countAll(embeddings, labels, dim)
  }
}

/** A miner that takes only a metric and threads and runs one native miner. */
abstract class SimpleMiner implements TripletMiner {
  readonly metric: DistanceMetric
  readonly threads: number | undefined
  protected abstract readonly kind: 'batchHard' | 'semiHard'
  readonly #distances = new DistanceBuffer()

  constructor(options: MinerOptions = {}) {
    this.metric = checkDistanceMetric(options.metric)
    this.threads = checkThreads(options.threads)
  }

  mine(embeddings: Float32Array, labels: Labels, dim: number): Triplets {
    return run(
      embeddings,
      labels,
      dim,
      { miner: this.kind, metric: this.metric, threads: this.threads },
      this.#distances,
    )
  }
}

/**
 * Batch-hard (Hermans et al. 2017): per anchor, its farthest positive and closest negative (ties to
 * the smaller index). Anchors of a singleton class are skipped. At most B triplets, in anchor order.
 */
export class BatchHardMiner extends SimpleMiner {
  protected readonly kind = 'batchHard' as const
}

/**
 * Semi-hard (FaceNet, Schroff et al. 2015): for every positive pair (a, p), the closest negative
 * farther than the positive, n = argmin { d(a, n) : d(a, n) > d(a, p) } (ties to the smaller index).
 * The margin does not enter the selection (as in TF-Addons' triplet_semihard_loss code); pairs with
 * no farther negative are dropped (TF-Addons would fall back to the farthest negative). Triplets in
 * (a, p) order. Use {@link TripletMarginMiner} with type 'semihard' for d(a, p) ≤ d(a, n) < d(a, p) + margin.
 */
export class SemiHardMiner extends SimpleMiner {
  protected readonly kind = 'semiHard' as const
}

/** Options of {@link DistanceWeightedMiner}. */
export interface DistanceWeightedOptions {
  /** Distances are clipped below this value before weighting (default 0.5, the paper's). */
  cutoff?: number
  /** Negatives at or beyond this distance get weight 0 (default 1.4, the paper's). */
  nonzeroLossCutoff?: number
  /** Seed (non-negative safe integer, default 0). The k-th call of mine() (from 0) uses seed + k. */
  seed?: number
  threads?: number
}

/**
 * Distance-weighted sampling (Wu et al. 2017, "Sampling Matters in Deep Embedding Learning"). Rows
 * are L2-normalised; a negative at unit-sphere distance d is drawn with probability ∝ 1 / q(d),
 * q(d) = d^(D−2) (1 − d²/4)^((D−3)/2), d clipped below at `cutoff`, and weight 0 at d ≥
 * `nonzeroLossCutoff` (uniform over negatives when all weights are 0). One negative per positive
 * pair (a, p), in (a, p) order; deterministic in the seed on every platform and thread count.
 */
export class DistanceWeightedMiner implements TripletMiner {
  readonly cutoff: number
  readonly nonzeroLossCutoff: number
  readonly seed: number
  readonly threads: number | undefined
  private calls = 0
  readonly #distances = new DistanceBuffer()

  constructor(options: DistanceWeightedOptions = {}) {
    this.cutoff = checkMargin(options.cutoff, 0.5, 'cutoff')
    this.nonzeroLossCutoff = checkMargin(options.nonzeroLossCutoff, 1.4, 'nonzeroLossCutoff')
    if (!(this.nonzeroLossCutoff > this.cutoff)) {
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, 'nonzeroLossCutoff must be larger than cutoff')
    }
    const seed = options.seed ?? 0
    if (typeof seed !== 'number' || !Number.isSafeInteger(seed) || seed < 0) {
      throw new SimsageError(
        ErrorCodes.INVALID_ARGUMENT,
        `seed must be a non-negative safe integer, got ${describe(seed)}`,
      )
    }
    this.seed = seed
    this.threads = checkThreads(options.threads)
  }

  mine(embeddings: Float32Array, labels: Labels, dim: number): Triplets {
    const seed = (this.seed + this.calls) % Number.MAX_SAFE_INTEGER
    const r = run(
      embeddings,
      labels,
      dim,
      {
        miner: 'distanceWeighted',
        cutoff: this.cutoff,
        nonzeroLossCutoff: this.nonzeroLossCutoff,
        seed,
        threads: this.threads,
      },
      this.#distances,
    )
    this.calls++
    return r
  }
}

/** Triplet types of {@link TripletMarginMiner}. */
export type TripletType = 'all' | 'hard' | 'semihard' | 'easy'

/** Options of {@link TripletMarginMiner}. */
export interface TripletMarginOptions extends MinerOptions {
  /** Margin m >= 0 (default 0.2). */
  margin?: number
  /** Which triplets to keep (default 'all'). */
  type?: TripletType
  /** Most triplets returned (the first in (a, p, n) order); default no cap. */
  maxTriplets?: number
}

/**
 * pytorch-metric-learning's TripletMarginMiner. With dp = d(a, p), dn = d(a, n): 'all' keeps
 * dn < dp + m (margin violators), 'hard' dn < dp, 'semihard' dp ≤ dn < dp + m, 'easy' dn ≥ dp + m
 * (easy, semihard and hard partition the valid triplets). Triplets in (a, p, n) order.
 */
export class TripletMarginMiner extends FilterMiner {
  readonly type: TripletType

  constructor(options: TripletMarginOptions = {}) {
    super(options)
    const type = options.type ?? 'all'
    if (!['all', 'hard', 'semihard', 'easy'].includes(type)) {
      throw new SimsageError(
        ErrorCodes.INVALID_ARGUMENT,
        `type must be 'all', 'hard', 'semihard' or 'easy', got ${describe(type)}`,
      )
    }
    this.type = type
  }

  protected filterType(): string {
    return this.type
  }
}
