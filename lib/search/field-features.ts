/**
 * Featurised text fields of a fixed set of items (the entities of a catalog, or the queries of a
 * data set), computed once and gathered per batch: texts are featurised by the hash bag's
 * featuriser at construction; `gather(ids)` returns the CSR features of the chosen items in
 * item-major, field-minor order (segment i·F + f is field f of ids[i]) plus a presence mask (an
 * empty field has no tokens and must not contribute: its bag output would be LayerNorm(0) = beta).
 */
import type { HashEmbeddingBag } from '../text/hash-bag.js'
import type { TextFeatures } from '../text/features.js'

/** Per-batch features and which segments hold text. */
export interface GatheredFields {
  features: TextFeatures
  /** 1 where the segment has at least one token, else 0; length ids.length · fields. */
  present: Float32Array
}

/** Featurised fields of `count` items. */
export class FieldFeatures {
  readonly count: number
  readonly fields: number
  readonly #all: TextFeatures

  /**
   * @param texts one array per field, each with one text per item ('' for an absent field).
   */
  constructor(bag: HashEmbeddingBag, texts: readonly (readonly string[])[]) {
    this.fields = texts.length
    this.count = texts[0]?.length ?? 0
    // Featurise item-major: segment i·F + f. Empty texts are featurised as one space (no tokens).
    const flat: string[] = new Array(this.count * this.fields)
    for (let i = 0; i < this.count; i++)
      for (let f = 0; f < this.fields; f++) flat[i * this.fields + f] = texts[f][i] || '-'
    this.#all = bag.featurize(flat)
    // '-' has no word characters: no tokens. Texts that were given but hold no word character are
    // absent too, which is what the presence mask reports.
  }

  /** Tokens held (all items, all fields). */
  get tokens(): number {
    return this.#all.hashes.length
  }

  /** The features of items `ids` (see the file comment). */
  gather(ids: ArrayLike<number>): GatheredFields {
    const F = this.fields
    const src = this.#all
    const n = ids.length * F
    const offsets = new Int32Array(n + 1)
    const present = new Float32Array(n)
    for (let i = 0; i < ids.length; i++)
      for (let f = 0; f < F; f++) {
        const s = ids[i] * F + f
        const len = src.offsets[s + 1] - src.offsets[s]
        offsets[i * F + f + 1] = offsets[i * F + f] + len
        present[i * F + f] = len > 0 ? 1 : 0
      }
    const hashes = new BigUint64Array(offsets[n])
    const kinds = new Uint8Array(offsets[n])
    for (let i = 0; i < ids.length; i++)
      for (let f = 0; f < F; f++) {
        const s = ids[i] * F + f
        const a = src.offsets[s]
        const b = src.offsets[s + 1]
        hashes.set(src.hashes.subarray(a, b), offsets[i * F + f])
        kinds.set(src.kinds.subarray(a, b), offsets[i * F + f])
      }
    return { features: { count: n, offsets, hashes, kinds, seed: src.seed }, present }
  }
}

/** Two gathered batches as one (a's segments, then b's); both hashed with the same seed. */
export function concatGathered(a: GatheredFields, b: GatheredFields): GatheredFields {
  const fa = a.features
  const fb = b.features
  const n = fa.count + fb.count
  const offsets = new Int32Array(n + 1)
  offsets.set(fa.offsets)
  const base = fa.offsets[fa.count]
  for (let i = 1; i <= fb.count; i++) offsets[fa.count + i] = base + fb.offsets[i]
  const hashes = new BigUint64Array(offsets[n])
  hashes.set(fa.hashes)
  hashes.set(fb.hashes, base)
  const kinds = new Uint8Array(offsets[n])
  kinds.set(fa.kinds)
  kinds.set(fb.kinds, base)
  const present = new Float32Array(n)
  present.set(a.present)
  present.set(b.present, fa.count)
  return { features: { count: n, offsets, hashes, kinds, seed: fa.seed }, present }
}

/**
 * Token dropout (training only): a copy of `g` without each token with probability `p`, keeping at
 * least one token of every segment that had any (so presence does not change). `next()` draws
 * uniform [0, 1) numbers (the trainer's seeded generator).
 */
export function dropTokens(g: GatheredFields, p: number, next: () => number): GatheredFields {
  if (!(p > 0)) return g
  const src = g.features
  const n = src.count
  const offsets = new Int32Array(n + 1)
  const keep = new Uint8Array(src.hashes.length)
  let total = 0
  for (let s = 0; s < n; s++) {
    const a = src.offsets[s]
    const b = src.offsets[s + 1]
    let kept = 0
    for (let t = a; t < b; t++) {
      if (next() >= p) {
        keep[t] = 1
        kept++
      }
    }
    if (kept === 0 && b > a) {
      keep[a + Math.floor(next() * (b - a))] = 1
      kept = 1
    }
    total += kept
    offsets[s + 1] = total
  }
  const hashes = new BigUint64Array(total)
  const kinds = new Uint8Array(total)
  let at = 0
  for (let t = 0; t < keep.length; t++) {
    if (!keep[t]) continue
    hashes[at] = src.hashes[t]
    kinds[at] = src.kinds[t]
    at++
  }
  return { features: { count: n, offsets, hashes, kinds, seed: src.seed }, present: g.present }
}
