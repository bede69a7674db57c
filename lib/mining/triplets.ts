/**
 * Mined triplets: a flat row-major T x 3 Int32Array inside, a row accessor outside (like
 * {@link SearchResults} for search).
 */
import { ErrorCodes, SimsageError } from '../errors.js'
import { describe } from '../validate.js'

/** One triplet: row indices into the mined batch. */
export interface Triplet {
  /** Row of the anchor a. */
  anchor: number
  /** Row of the positive p (same class as a, p ≠ a). */
  positive: number
  /** Row of the negative n (another class than a). */
  negative: number
}

/** Where a mining call ran: 'cuda' when the CUDA backend is preferred and built, 'cpu' otherwise. */
export interface MiningRan {
  /** The backend that ran the call. */
  backend: 'cpu' | 'cuda'
}

/** The triplets a {@link TripletMiner} found in one batch, in the miner's order. */
export class Triplets implements Iterable<Triplet> {
  /** T x 3 row indices, row-major: [a0, p0, n0, a1, p1, n1, ...] (what {@link tripletLoss} takes). */
  readonly data: Int32Array
  /** Number of triplets T held in `data`. */
  readonly length: number
  /**
   * Triplets the miner selected before any cap: larger than `length` when a `maxTriplets` option
   * cut the list, equal otherwise.
   */
  readonly total: number
  /** Which backend mined them (set by the built-in miners; undefined for triplets built by hand). */
  readonly ran: MiningRan | undefined

  /**
   * Wraps flat (a, p, n) row indices, e.g. in a custom {@link TripletMiner}.
   *
   * @param data T x 3 row-major Int32Array (kept, not copied).
   * @param total Triplets selected before a cap (default T).
   * @param ran Which backend mined them, when known.
   */
  constructor(data: Int32Array, total?: number, ran?: MiningRan) {
    if (!(data instanceof Int32Array)) {
      throw new SimsageError(
        ErrorCodes.INVALID_TYPE,
        `triplets must be an Int32Array of (a, p, n) rows, got ${describe(data)}`,
      )
    }
    if (data.length % 3 !== 0) {
      throw new SimsageError(
        ErrorCodes.DIM_MISMATCH,
        `triplets has length ${data.length}, which is not a multiple of 3`,
      )
    }
    this.data = data
    this.length = data.length / 3
    this.total = total ?? this.length
    this.ran = ran === undefined ? undefined : { backend: ran.backend }
  }

  /** Triplet i (0 ≤ i < length). */
  get(i: number): Triplet {
    if (!Number.isInteger(i) || i < 0 || i >= this.length) {
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `triplet index ${i} is out of range [0, ${this.length})`)
    }
    return { anchor: this.data[3 * i], positive: this.data[3 * i + 1], negative: this.data[3 * i + 2] }
  }

  *[Symbol.iterator](): Iterator<Triplet> {
    for (let i = 0; i < this.length; i++) yield this.get(i)
  }
}
