/**
 * A small seeded pseudo-random generator (xoshiro128**, seeded through splitmix32), so runs with the
 * same seed draw the same numbers on every platform. Not for cryptography.
 */
export class Random {
  #s = new Uint32Array(4)
  #spare: number | undefined

  /** @param seed any 32-bit integer */
  constructor(seed = 1) {
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

  /** Standard normal (Box-Muller, caching the second value). */
  normal(): number {
    if (this.#spare !== undefined) {
      const v = this.#spare
      this.#spare = undefined
      return v
    }
    const u = this.nextOpen(), v = this.next()
    const r = Math.sqrt(-2 * Math.log(u))
    this.#spare = r * Math.sin(2 * Math.PI * v)
    return r * Math.cos(2 * Math.PI * v)
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

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0
}
