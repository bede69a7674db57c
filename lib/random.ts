/**
 * A small seeded pseudo-random generator (xoshiro128**, seeded through splitmix32), so runs with the
 * same seed draw the same numbers on every platform. Not for cryptography.
 */
import { ErrorCodes, SimsageError } from './errors.js'
/** Anything that draws uniform floats in [0, 1): a {@link Random}, or a caller's own generator. */
export interface RandomSource {
  /** A float in [0, 1). */
  next(): number
}

/** The seeded generator. */
export class Random implements RandomSource {
  #s = new Uint32Array(4)
  #spare: number | undefined

  /** @param seed any 32-bit integer (other numbers are truncated to 32 bits) */
  constructor(seed = 1) {
    if (typeof seed !== 'number' || !Number.isFinite(seed)) {
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `seed must be a finite number, got ${String(seed)}`)
    }
    let x = seed >>> 0
    for (let i = 0; i < 4; i++) {
      // splitmix32
      x = (x + 0x9e3779b9) >>> 0
      let z = x
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
      this.#s[i] = (z ^ (z >>> 16)) >>> 0
    }
  }

  /** Next 32-bit unsigned integer. */
  nextU32(): number {
    const s = this.#s
    const r = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0
    const t = (s[1] << 9) >>> 0
    s[2] ^= s[0]
    s[3] ^= s[1]
    s[1] ^= s[2]
    s[0] ^= s[3]
    s[2] ^= t
    s[3] = rotl(s[3], 11)
    return r
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296
  }

  /** Uniform in (0, 1): never 0, for logs and powers. */
  nextOpen(): number {
    return (this.nextU32() + 0.5) / 4294967296
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n)
  }

  /** Uniform in [lo, hi). */
  uniform(lo = 0, hi = 1): number {
    return lo + (hi - lo) * this.next()
  }

  /** Normal with the given mean and standard deviation (Box-Muller, caching the second value). */
  normal(mean = 0, std = 1): number {
    if (this.#spare !== undefined) {
      const z = this.#spare
      this.#spare = undefined
      return mean + std * z
    }
    const u = this.nextOpen(),
      v = this.next()
    const r = Math.sqrt(-2 * Math.log(u))
    this.#spare = r * Math.sin(2 * Math.PI * v)
    return mean + std * r * Math.cos(2 * Math.PI * v)
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

  /** Shuffles an array in place (Fisher-Yates). */
  shuffle<T>(a: T[] | Int32Array | Uint32Array): typeof a {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1)
      const t = a[i]
      a[i] = a[j]
      a[j] = t
    }
    return a
  }
}

let shared: Random | undefined

/**
 * The generator used when none is given (e.g. layer initialisation): one per process with a fixed
 * seed, so a program that builds the same layers in the same order gets the same weights.
 */
export function defaultRng(): Random {
  shared ??= new Random(0x5eed)
  return shared
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0
}
