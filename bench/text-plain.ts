/**
 * The plain-TypeScript peer of `simsage bench text`: the same normalisation, tokens, hash (two
 * MurmurHash3-style lanes with Math.imul, native/text/text.h), rows and hash-bag forward (importance-
 * weighted sum of two rows per token, sum pooling, layer norm) written as a user would in JS, with
 * reusable buffers and no allocation per token.
 */

const NON_ASCII = /\P{ASCII}/u
const NON_ASCII_SEPARATOR = /[^\p{ASCII}\p{L}\p{M}\p{N}]+/gu

const rotl = (x: number, r: number) => (x << r) | (x >>> (32 - r))

function fmix32(h: number): number {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/** floor(h · n / 2^32), exact (partial products below 2^53). */
const range = (h: number, n: number) => Math.floor(((h >>> 16) * n + Math.floor(((h & 0xffff) * n) / 65536)) / 65536)

const isWord = (c: number) => c >= 0x80 || (c >= 48 && c <= 57) || (c >= 97 && c <= 122) || (c >= 65 && c <= 90)

/** Weights and sizes of the bag (copied from simsage's so outputs agree). */
export interface PlainBagWeights {
  rows: number
  dim: number
  importanceRows: number
  eps: number
  seed: number
  table: Float32Array
  importance: Float32Array
  gamma: Float32Array
  beta: Float32Array
}

/** Featurise + embed in plain TypeScript. */
export class PlainTextBag {
  readonly #w: PlainBagWeights
  readonly #sLo: number
  readonly #sHi: number
  #cps = new Int32Array(256)
  #tmp = new Int32Array(256)
  readonly #acc: Float64Array

  constructor(w: PlainBagWeights) {
    this.#w = w
    this.#sLo = w.seed >>> 0
    this.#sHi = (Math.floor(w.seed / 4294967296) ^ 0x9e3779b9) >>> 0
    this.#acc = new Float64Array(w.dim)
  }

  /** [texts.length, dim] row-major. */
  embed(texts: readonly string[], out = new Float32Array(texts.length * this.#w.dim)): Float32Array {
    for (let j = 0; j < texts.length; j++) this.#embedOne(texts[j], out, j * this.#w.dim)
    return out
  }

  #add(kind: number, buf: Int32Array, from: number, to: number): void {
    const k = Math.imul(kind + 1, 0x85ebca6b)
    let lo = this.#sLo ^ k
    let hi = this.#sHi ^ k
    for (let i = from; i < to; i++) {
      const c = buf[i]
      lo = (Math.imul(rotl(lo ^ Math.imul(rotl(Math.imul(c, 0xcc9e2d51), 15), 0x1b873593), 13), 5) + 0xe6546b64) | 0
      hi = (Math.imul(rotl(hi ^ Math.imul(rotl(Math.imul(c, 0x1b873593), 17), 0xcc9e2d51), 13), 5) + 0xe6546b64) | 0
    }
    const n = to - from
    lo = fmix32(lo ^ n)
    hi = fmix32(hi ^ n)
    const w = this.#w
    const a = range(lo, w.rows) * w.dim
    const b = range(hi, w.rows) * w.dim
    const q = range(fmix32(lo ^ rotl(hi, 16)), w.importanceRows)
    const w0 = w.importance[2 * q]
    const w1 = w.importance[2 * q + 1]
    const acc = this.#acc
    const t = w.table
    for (let i = 0; i < w.dim; i++) acc[i] += w0 * t[a + i] + w1 * t[b + i]
  }

  #embedOne(raw: string, out: Float32Array, at: number): void {
    const s = NON_ASCII.test(raw)
      ? raw.normalize('NFKC').toLowerCase().replace(NON_ASCII_SEPARATOR, ' ')
      : raw.toLowerCase()
    if (this.#cps.length < s.length + 2) this.#cps = new Int32Array(2 * s.length + 2)
    if (this.#tmp.length < 2 * s.length + 2) this.#tmp = new Int32Array(2 * s.length + 2)
    const cps = this.#cps
    // cps = '#' w0 '#' '#' w1 '#' ...: each word framed by marks, so trigrams are plain slices.
    let n = 0
    let prevB = -1
    let prevE = -1
    const acc = this.#acc.fill(0)
    let i = 0
    while (i < s.length) {
      let c = s.codePointAt(i) as number
      if (!isWord(c)) {
        i += c > 0xffff ? 2 : 1
        continue
      }
      cps[n++] = 35
      const b = n
      while (i < s.length) {
        c = s.codePointAt(i) as number
        if (!isWord(c)) break
        cps[n++] = c
        i += c > 0xffff ? 2 : 1
      }
      const e = n
      cps[n++] = 35
      for (let t = b - 1; t + 3 <= e + 1; t++) this.#add(0, cps, t, t + 3)
      this.#add(1, cps, b, e)
      if (prevB >= 0) {
        const tmp = this.#tmp
        let m = 0
        for (let k = prevB; k < prevE; k++) tmp[m++] = cps[k]
        tmp[m++] = 32
        for (let k = b; k < e; k++) tmp[m++] = cps[k]
        this.#add(2, tmp, 0, m)
      }
      prevB = b
      prevE = e
    }
    const w = this.#w
    const D = w.dim
    let mu = 0
    for (let k = 0; k < D; k++) mu += acc[k]
    mu /= D
    let v = 0
    for (let k = 0; k < D; k++) v += (acc[k] - mu) * (acc[k] - mu)
    const rs = 1 / Math.sqrt(v / D + w.eps)
    for (let k = 0; k < D; k++) out[at + k] = (acc[k] - mu) * rs * w.gamma[k] + w.beta[k]
  }
}
