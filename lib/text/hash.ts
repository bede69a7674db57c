/**
 * The token hash of the text family in TypeScript (native/text/text.h defines it; the native
 * featuriser computes the same values): two MurmurHash3-style 32-bit lanes over a token's code
 * points and kind, combined as hash = hi · 2^32 + lo; and the table rows a hash selects.
 */

/** Token kinds, as stored in {@link TextFeatures.kinds}. */
export const TokenKinds = { trigram: 0, word: 1, bigram: 2 } as const

/** A token kind's name. */
export type TokenKind = keyof typeof TokenKinds

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r))
}

/** MurmurHash3's 32-bit finaliser. */
export function fmix32(h: number): number {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/** The two 32-bit seeds of a 64-bit seed given as a safe integer. */
export function seedLanes(seed: number): [number, number] {
  return [seed >>> 0, (Math.floor(seed / 4294967296) ^ 0x9e3779b9) >>> 0]
}

/**
 * The two 32-bit lanes [lo, hi] of a token's hash over its code points (`cps`; a string is read
 * by code point, a lone surrogate being one code point). Allocation-free for the hot loop of the
 * plain-TypeScript benchmark peer.
 */
export function hashLanes(
  seedLo: number,
  seedHi: number,
  kind: number,
  cps: ArrayLike<number>,
  from = 0,
  to = cps.length,
): [number, number] {
  const k = Math.imul(kind + 1, 0x85ebca6b)
  let lo = seedLo ^ k
  let hi = seedHi ^ k
  for (let i = from; i < to; i++) {
    const c = cps[i]
    lo = (Math.imul(rotl(lo ^ Math.imul(rotl(Math.imul(c, 0xcc9e2d51), 15), 0x1b873593), 13), 5) + 0xe6546b64) | 0
    hi = (Math.imul(rotl(hi ^ Math.imul(rotl(Math.imul(c, 0x1b873593), 17), 0xcc9e2d51), 13), 5) + 0xe6546b64) | 0
  }
  const n = to - from
  return [fmix32(lo ^ n), fmix32(hi ^ n)]
}

/**
 * The 64-bit hash of one token (text as its code points) with the featuriser's seed: the value
 * {@link featurize} stores in `hashes`. Stable across platforms and versions of this format.
 */
export function hashToken(token: string, kind: TokenKind, seed = 0): bigint {
  const cps = Array.from(token, (c) => c.codePointAt(0) as number)
  const [sLo, sHi] = seedLanes(seed)
  const [lo, hi] = hashLanes(sLo, sHi, TokenKinds[kind], cps)
  return (BigInt(hi) << 32n) | BigInt(lo)
}

/** floor(h · n / 2^32) exactly for 32-bit h and n ≤ 2^31 (every partial product below 2^53). */
export function rangeReduce(h: number, n: number): number {
  return Math.floor(((h >>> 16) * n + Math.floor(((h & 0xffff) * n) / 65536)) / 65536)
}

/**
 * The rows of a hash (lanes lo, hi) in a table of `rows` rows and an importance table of
 * `importanceRows` rows, by multiply-shift range reduction r(h, n) = floor(h · n / 2^32):
 * a = r(lo, rows), b = r(hi, rows), q = r(fmix32(lo xor rotl(hi, 16)), importanceRows).
 */
export function hashRows(lo: number, hi: number, rows: number, importanceRows: number): [number, number, number] {
  return [rangeReduce(lo, rows), rangeReduce(hi, rows), rangeReduce(fmix32(lo ^ rotl(hi, 16)), importanceRows)]
}
