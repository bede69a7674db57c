/**
 * A small seeded pseudo-random generator for weight initialisation: mulberry32 (32-bit state,
 * period 2^32), with uniform and normal draws. The same seed gives the same numbers on every
 * platform. Not for cryptography.
 */
import { ErrorCodes, SimsageError } from '../errors.js'

/** Anything that draws uniform floats in [0, 1): an {@link Rng}, or simsage's other generators. */
export interface RandomSource {
  /** A float in [0, 1). */
  next(): number
}

/** A seeded generator (mulberry32). */
export class Rng implements RandomSource {
  #a: number
  #spare: number | undefined

  /** @param seed Any 32-bit integer (other numbers are truncated to 32 bits). */
  constructor(seed = 0x5eed) {
    if (typeof seed !== 'number' || !Number.isFinite(seed)) {
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `seed must be a finite number, got ${String(seed)}`)
    }
    this.#a = seed >>> 0
  }

  /** The next 32-bit unsigned integer. */
  nextU32(): number {
    this.#a = (this.#a + 0x6d2b79f5) >>> 0
    let t = this.#a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return (t ^ (t >>> 14)) >>> 0
  }

  /** A float in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296
  }

  /** A float in [lo, hi). */
  uniform(lo = 0, hi = 1): number {
    return lo + (hi - lo) * this.next()
  }

  /** A normal draw with the given mean and standard deviation (Box-Muller, pairs cached). */
  normal(mean = 0, std = 1): number {
    if (this.#spare !== undefined) {
      const z = this.#spare
      this.#spare = undefined
      return mean + std * z
    }
    const u = 1 - this.next() // (0, 1]: log is finite
    const r = Math.sqrt(-2 * Math.log(u))
    const th = 2 * Math.PI * this.next()
    this.#spare = r * Math.sin(th)
    return mean + std * r * Math.cos(th)
  }

  /** Fills `out` with uniform draws in [lo, hi); returns it. */
  fillUniform(out: Float32Array, lo: number, hi: number): Float32Array {
    for (let i = 0; i < out.length; i++) out[i] = this.uniform(lo, hi)
    return out
  }

  /** Fills `out` with normal draws; returns it. */
  fillNormal(out: Float32Array, mean = 0, std = 1): Float32Array {
    for (let i = 0; i < out.length; i++) out[i] = this.normal(mean, std)
    return out
  }
}

/** A uniform draw in [lo, hi) from any {@link RandomSource}. */
export function uniformFrom(rng: RandomSource, lo: number, hi: number): number {
  return lo + (hi - lo) * rng.next()
}

let shared: Rng | undefined

/**
 * The generator layers use when none is given: one per process, seeded with a fixed value, so a
 * program that builds the same layers in the same order gets the same weights.
 */
export function defaultRng(): Rng {
  shared ??= new Rng(0x5eed)
  return shared
}
