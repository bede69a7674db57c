/**
 * An exponential moving average of weights (Polyak averaging): a shadow copy of every weight array
 * that follows the trained weights: the bias-corrected exponential average (as Adam's moments)
 *   a_t = Σ_{i≤t} decay^(t−i) (1 − decay) w_i / (1 − decay^t),
 * kept as a_t = a_{t−1} + (1 − decay) / (1 − decay^t) · (w_t − a_{t−1}), a_1 = w_1: a weighted mean
 * of the weights seen (a short run's average is not pulled towards the initial weights, and a
 * weight that never changes keeps its exact value). The average of
 * the last few hundred steps sits nearer the middle of the valley that the steps bounce across, and
 * usually evaluates better than the last step's weights; {@link WeightAverage.swap} exchanges the
 * weights and the averages in place (evaluate or keep the averages, then swap back to train on).
 *
 * With `every` = k > 1 the weights are averaged on the 1st, (k+1)-th, (2k+1)-th … update with decay^k
 * (the same horizon of 1 / (1 − decay) steps, sampled every k steps): one pass over all weights per
 * k steps, which matters when the weights include a large embedding table.
 */
import { ErrorCodes, SimsageError } from '../errors.js'
import { checkNumber, describe } from '../validate.js'

/** Options of {@link WeightAverage}. */
export interface WeightAverageOptions {
  /** Per-step decay in [0, 1): 0.99 averages over about the last 100 steps. */
  decay: number
  /** Average every `every` updates with decay^every (integer >= 1; default 1). */
  every?: number
}

/** The moving average of a fixed list of weight arrays (updated in place by an optimizer). */
export class WeightAverage {
  readonly decay: number
  readonly every: number
  readonly #weights: Float32Array[]
  readonly #shadow: Float32Array[]
  #calls = 0
  #samples = 0
  #swapped = false

  constructor(weights: readonly Float32Array[], options: WeightAverageOptions) {
    if (!Array.isArray(weights) || weights.some((w) => !(w instanceof Float32Array))) {
      throw new SimsageError(
        ErrorCodes.INVALID_TYPE,
        `weights must be an array of Float32Array, got ${describe(weights)}`,
      )
    }
    this.decay = checkNumber(options?.decay, 'decay', 0, 1, false, true)
    const every = options?.every ?? 1
    if (!(Number.isInteger(every) && every >= 1)) {
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `every must be an integer >= 1, got ${describe(every)}`)
    }
    this.every = every
    this.#weights = weights.slice()
    this.#shadow = weights.map((w) => new Float32Array(w.length))
  }

  /** Moves the averages towards the current weights (on every `every`-th call). */
  update(): void {
    if (this.#swapped) {
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, 'the weights hold the averages: swap() back before update()')
    }
    if (this.#calls++ % this.every !== 0) return
    this.#samples++
    const d = this.decay ** this.every
    const a = (1 - d) / (1 - d ** this.#samples)
    this.#weights.forEach((w, i) => {
      const s = this.#shadow[i]
      for (let k = 0; k < w.length; k++) s[k] += a * (w[k] - s[k])
    })
  }

  /** Exchanges the weights and their averages in place; twice: back as before. Before any update the average is the weights. */
  swap(): void {
    if (this.#samples === 0) {
      this.#swapped = !this.#swapped
      return
    }
    this.#weights.forEach((w, i) => {
      const s = this.#shadow[i]
      for (let k = 0; k < w.length; k++) {
        const t = w[k]
        w[k] = s[k]
        s[k] = t
      }
    })
    this.#swapped = !this.#swapped
  }

  /** Whether the weights hold the averages now. */
  get swapped(): boolean {
    return this.#swapped
  }
}
