/**
 * Triplet loss and its gradient with respect to the embeddings.
 */
import { callNative, ErrorCodes, SimsageError } from '../errors.js'
import { binding } from '../native/binding.js'
import { checkThreads, describe } from '../validate.js'
import { type MiningRan, Triplets } from './triplets.js'
import { checkEmbeddingBatch, checkMargin } from './validate.js'

/** Options of {@link tripletLoss}. */
export interface TripletLossOptions {
  /** Vector dimension D. */
  dim: number
  /** Hinge margin g >= 0 (default 0.2); unused by the soft-margin form. */
  margin?: number
  /** D(x, y): 'squared' |x − y|² (default, Deep Ranking) or 'euclidean' |x − y|. */
  distance?: 'squared' | 'euclidean'
  /** Use log(1 + exp(D(a, p) − D(a, n))) instead of the hinge. */
  softMargin?: boolean
  /** Reused gradient buffer of B * D floats (allocated when absent). */
  grad?: Float32Array
  threads?: number
}

/** Result of {@link tripletLoss}. */
export interface TripletLossResult {
  /** Mean of l_t over all T triplets (0 when T = 0). */
  loss: number
  /** Triplets with l_t > 0. */
  active: number
  /** d loss / d embeddings, B x D row-major. */
  grad: Float32Array
  /** Which backend computed the loss and gradient. */
  ran: MiningRan
}

/**
 * Triplet loss over T triplets: hinge l_t = max(0, g + D(a, p) − D(a, n)) (Wang et al. 2014, with
 * D squared Euclidean), or soft margin l_t = log(1 + exp(D(a, p) − D(a, n))) (Hermans et al. 2017).
 * The loss is the mean over all T triplets; the gradient is that of the mean. For 'euclidean', the
 * gradient of |a − p| at a = p is taken as 0. Computed in double, returned as float.
 *
 * @param embeddings B x D row-major Float32Array.
 * @param triplets T triplets: a miner's {@link Triplets}, or T x 3 row indices (a, p, n), flat.
 */
export function tripletLoss(
  embeddings: Float32Array,
  triplets: Triplets | Int32Array | ArrayLike<number>,
  options: TripletLossOptions,
): TripletLossResult {
  if (options === null || typeof options !== 'object') {
    throw new SimsageError(
      ErrorCodes.INVALID_ARGUMENT,
      'tripletLoss(embeddings, triplets, { dim, margin }) requires an options object',
    )
  }
  const { dim, rows } = checkEmbeddingBatch(embeddings, options.dim)
  const margin = checkMargin(options.margin, 0.2)
  const distance = options.distance ?? 'squared'
  if (distance !== 'squared' && distance !== 'euclidean') {
    throw new SimsageError(
      ErrorCodes.INVALID_ARGUMENT,
      `distance must be 'squared' or 'euclidean', got ${describe(distance)}`,
    )
  }
  const threads = checkThreads(options.threads)
  const t = toTriplets(triplets instanceof Triplets ? triplets.data : triplets, rows)
  let grad = options.grad
  if (grad === undefined) grad = new Float32Array(rows * dim)
  else if (!(grad instanceof Float32Array) || grad.length !== rows * dim) {
    throw new SimsageError(ErrorCodes.DIM_MISMATCH, `grad must be a Float32Array of B * D = ${rows * dim} floats`)
  }
  const g = grad
  const r = callNative(() =>
    binding().miningTripletLoss({
      embeddings,
      dim,
      triplets: t,
      margin,
      distance,
      softMargin: options.softMargin === true,
      grad: g,
      threads,
    }),
  )
  return { loss: r.loss, active: r.active, grad: g, ran: { backend: r.backend } }
}

function toTriplets(triplets: unknown, rows: number): Int32Array {
  if (triplets === null || typeof triplets !== 'object' || typeof (triplets as ArrayLike<number>).length !== 'number') {
    throw new SimsageError(
      ErrorCodes.INVALID_TYPE,
      `triplets must be an Int32Array of (a, p, n) rows, got ${describe(triplets)}`,
    )
  }
  const src = triplets as ArrayLike<unknown>
  if (src.length % 3 !== 0) {
    throw new SimsageError(ErrorCodes.DIM_MISMATCH, `triplets has length ${src.length}, which is not a multiple of 3`)
  }
  const out = triplets instanceof Int32Array ? triplets : new Int32Array(src.length)
  for (let i = 0; i < src.length; i++) {
    const v = src[i]
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= rows) {
      throw new SimsageError(
        ErrorCodes.INVALID_ARGUMENT,
        `triplets[${i}] = ${describe(v)} is not a row index in [0, ${rows})`,
      )
    }
    out[i] = v
  }
  return out
}
