/**
 * The order in which a trainer draws a task's training pairs: {@link Cycle}, shuffled passes
 * (every pair once per pass), or {@link RecencySampler}, draws weighted towards the most recent
 * pairs (pairs given in time order, as a commit log's are).
 */
import type { Random } from '../random.js'

/** A shuffled cycle over [0, n): next(k) returns k indices, reshuffling at the end of each pass. */
export class Cycle {
  #order: Int32Array
  #at = 0
  readonly #rng: Random
  constructor(n: number, rng: Random) {
    this.#order = Int32Array.from({ length: n }, (_, i) => i)
    this.#rng = rng
    this.#shuffle()
  }
  #shuffle() {
    const o = this.#order
    for (let i = o.length - 1; i > 0; i--) {
      const j = Math.floor(this.#rng.next() * (i + 1))
      const t = o[i]
      o[i] = o[j]
      o[j] = t
    }
    this.#at = 0
  }
  next(k: number): Int32Array {
    const out = new Int32Array(k)
    for (let i = 0; i < k; i++) {
      if (this.#at === this.#order.length) this.#shuffle()
      out[i] = this.#order[this.#at++]
    }
    return out
  }
}

/**
 * Draws indices of [0, n) with probability ∝ weight (with replacement): the recency-weighted
 * order of a task's pairs. Weights 2^(−age / (halfLife · n)), age = n − 1 − i (pairs in time order).
 */
export class RecencySampler {
  readonly #cum: Float64Array
  readonly #rng: Random
  constructor(n: number, halfLife: number, rng: Random) {
    this.#cum = new Float64Array(n)
    let s = 0
    for (let i = 0; i < n; i++) {
      s += recencyWeight(i, n, halfLife)
      this.#cum[i] = s
    }
    this.#rng = rng
  }
  next(k: number): Int32Array {
    const out = new Int32Array(k)
    const c = this.#cum
    const total = c[c.length - 1]
    for (let i = 0; i < k; i++) {
      const u = this.#rng.next() * total
      let lo = 0
      let hi = c.length - 1
      while (lo < hi) {
        const mid = (lo + hi) >> 1
        if (c[mid] > u) hi = mid
        else lo = mid + 1
      }
      out[i] = lo
    }
    return out
  }
}

/** Sampling weight of pair i of n (pairs in time order); 1 when halfLife is 0 (uniform). */
export function recencyWeight(i: number, n: number, halfLife: number): number {
  return halfLife > 0 ? 2 ** (-(n - 1 - i) / (halfLife * n)) : 1
}
