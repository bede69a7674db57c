/**
 * Count-min sketch (Cormode & Muthukrishnan 2005): `depth` rows of `width` counters; a key adds to
 * one counter per row and its estimate is the smallest of them, so estimates never undercount and
 * overcount by at most e·total/width with probability 1 − e^−depth. OmniSearchSage estimates entity
 * and (query, entity) pair frequencies this way for the logQ correction of its sampled softmax,
 * in memory that does not grow with the number of distinct keys.
 *
 * Row i's counter of a key is (h1 + i·h2) mod width (double hashing) with h1, h2 two seeded 32-bit
 * FNV-1a hashes of the key's UTF-16 code units.
 */
import { ErrorCodes, SimsageError } from '../errors.js'

/** Options of {@link CountMinSketch}. */
export interface CountMinOptions {
  /** Counters per row (default 2^20). */
  width?: number
  /** Rows (default 4). */
  depth?: number
  /** Hash seed (default 1). */
  seed?: number
}

function fnv1a(key: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  // Final avalanche, so nearby keys spread over the row.
  return fmix(h)
}

/** murmur3's fmix32 of a 32-bit value. */
function fmix(h: number): number {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b) >>> 0
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35) >>> 0
  h ^= h >>> 16
  return h >>> 0
}

/** Approximate counts of string keys (or pairs of integer ids) in fixed memory. */
export class CountMinSketch {
  readonly width: number
  readonly depth: number
  readonly seed: number
  #counts: Float64Array
  #total = 0

  constructor(options: CountMinOptions = {}) {
    const width = options.width ?? 1 << 20
    const depth = options.depth ?? 4
    const seed = options.seed ?? 1
    if (!Number.isInteger(width) || width < 1 || width > 2 ** 28) {
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `width must be an integer in [1, 2^28], got ${width}`)
    }
    if (!Number.isInteger(depth) || depth < 1 || depth > 32) {
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `depth must be an integer in [1, 32], got ${depth}`)
    }
    if (!Number.isInteger(seed))
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `seed must be an integer, got ${seed}`)
    this.width = width
    this.depth = depth
    this.seed = seed
    this.#counts = new Float64Array(width * depth)
  }

  /** Bytes held by the counters. */
  get bytes(): number {
    return this.#counts.byteLength
  }

  /** Sum of every count added. */
  get total(): number {
    return this.#total
  }

  #slots(key: string, visit: (slot: number) => void): void {
    this.#rows(fnv1a(key, this.seed), fnv1a(key, this.seed ^ 0x5bd1e995) | 1, visit)
  }

  #rows(h1: number, h2: number, visit: (slot: number) => void): void {
    for (let i = 0; i < this.depth; i++) visit(i * this.width + (((h1 + Math.imul(i, h2)) >>> 0) % this.width))
  }

  // Two hashes of an integer pair (a, b), each a 32-bit value: fmix of a mixed with b and the seed.
  #pairSlots(a: number, b: number, visit: (slot: number) => void): void {
    const x = fmix((a ^ this.seed) >>> 0)
    const h1 = fmix((x ^ Math.imul(b >>> 0, 0x9e3779b1)) >>> 0)
    const h2 = fmix((h1 ^ 0x5bd1e995) >>> 0) | 1
    this.#rows(h1, h2, visit)
  }

  /** Adds `count` to the integer pair (a, b) (32-bit values; a faster key than a string). */
  addPair(a: number, b: number, count = 1): void {
    if (!(count >= 0 && Number.isFinite(count))) {
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `count must be a finite number >= 0, got ${count}`)
    }
    this.#pairSlots(a, b, (s) => {
      this.#counts[s] += count
    })
    this.#total += count
  }

  /** The estimated count of the pair (a, b): never below the true count. */
  estimatePair(a: number, b: number): number {
    // The slots of #pairSlots, inlined (this runs B x M times per training step).
    const x = fmix((a ^ this.seed) >>> 0)
    const h1 = fmix((x ^ Math.imul(b >>> 0, 0x9e3779b1)) >>> 0)
    const h2 = fmix((h1 ^ 0x5bd1e995) >>> 0) | 1
    const w = this.width
    const c = this.#counts
    let m = Number.POSITIVE_INFINITY
    for (let i = 0; i < this.depth; i++) {
      const v = c[i * w + (((h1 + Math.imul(i, h2)) >>> 0) % w)]
      if (v < m) m = v
    }
    return m
  }

  /** Adds `count` (default 1, finite and ≥ 0) to `key`. */
  add(key: string, count = 1): void {
    if (!(count >= 0 && Number.isFinite(count))) {
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `count must be a finite number >= 0, got ${count}`)
    }
    this.#slots(key, (s) => {
      this.#counts[s] += count
    })
    this.#total += count
  }

  /** The estimated count of `key`: never below the true count. */
  estimate(key: string): number {
    let m = Number.POSITIVE_INFINITY
    this.#slots(key, (s) => {
      if (this.#counts[s] < m) m = this.#counts[s]
    })
    return m
  }

  /** estimate(key) / total: the key's estimated share (0 before anything was added). */
  frequency(key: string): number {
    return this.#total > 0 ? this.estimate(key) / this.#total : 0
  }
}
