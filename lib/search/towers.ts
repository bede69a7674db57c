/**
 * OmniSearchSage's towers. A {@link TextTower} embeds items given as F text fields (and optionally
 * a frozen vector per item): each field through one shared {@link HashEmbeddingBag}, the present
 * fields summed, the frozen vector appended, then an MLP (Linear → ReLU … → Linear) to the output
 * dimension. Outputs are NOT normalised: the loss normalises (per Matryoshka prefix) and
 * {@link embedNormalized} normalises for serving.
 *
 * The query tower is a TextTower with one field; the entity tower, shared by every entity type
 * that has text, one field per text field (path, folders, historically engaged queries, ...) and
 * the optional frozen pre-existing embedding.
 */
import { ErrorCodes, SimsageError } from '../errors.js'
import { Linear, ReLU } from '../nn/layers.js'
import { Scratch } from '../nn/module.js'
import { Sequential } from '../nn/sequential.js'
import { Random } from '../random.js'
import { type HashBagGrads, HashEmbeddingBag } from '../text/hash-bag.js'
import type { GatheredFields } from './field-features.js'

/** Shape of a {@link TextTower}. */
export interface TextTowerSpec {
  /** Names of the text fields, in order (a query tower: ['text']). */
  fields: string[]
  /** Hash table rows R (default 100,000). */
  bagRows?: number
  /** Hash embedding dimension E. */
  bagDim: number
  /** Hidden widths of the MLP. */
  hidden: number[]
  /** Output dimension D. */
  outputDim: number
  /** Dimension of the frozen vector appended to the pooled text (0: none). */
  frozenDim?: number
  /** Seed of the initial weights and of the bag's hashing. */
  seed?: number
}

/** Text fields (+ frozen vector) → vector. */
export class TextTower {
  readonly spec: Readonly<Required<TextTowerSpec>>
  readonly bag: HashEmbeddingBag
  readonly mlp: Sequential
  #pooled = new Scratch()
  #dbag = new Scratch()
  #present: Float32Array | undefined
  #n = 0

  /**
   * @param shared.bag a bag to use instead of a new one (towers sharing one vocabulary: the same
   *   token has the same rows in both); its rows and dim must be the spec's.
   */
  constructor(spec: TextTowerSpec, shared: { bag?: HashEmbeddingBag } = {}) {
    const s: Required<TextTowerSpec> = {
      fields: spec.fields,
      bagRows: spec.bagRows ?? 100_000,
      bagDim: spec.bagDim,
      hidden: spec.hidden,
      outputDim: spec.outputDim,
      frozenDim: spec.frozenDim ?? 0,
      seed: spec.seed ?? 1,
    }
    if (!Array.isArray(s.fields) || s.fields.length === 0 || s.fields.some((f) => typeof f !== 'string' || !f)) {
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, 'fields must be a non-empty list of field names')
    }
    if (!Number.isInteger(s.frozenDim) || s.frozenDim < 0) {
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `frozenDim must be an integer >= 0, got ${s.frozenDim}`)
    }
    this.spec = Object.freeze(s)
    if (shared.bag && (shared.bag.rows !== s.bagRows || shared.bag.dim !== s.bagDim)) {
      throw new SimsageError(
        ErrorCodes.DIM_MISMATCH,
        `a shared bag must have ${s.bagRows} rows of dim ${s.bagDim}, got ${shared.bag.rows} x ${shared.bag.dim}`,
      )
    }
    this.bag =
      shared.bag ??
      new HashEmbeddingBag({ rows: s.bagRows, dim: s.bagDim, initSeed: s.seed, featurize: { seed: s.seed } })
    const rng = new Random(s.seed + 1)
    const widths = [s.bagDim + s.frozenDim, ...s.hidden, s.outputDim]
    const layers = []
    for (let i = 1; i < widths.length; i++) {
      layers.push(new Linear(widths[i - 1], widths[i], { rng }))
      if (i < widths.length - 1) layers.push(new ReLU())
    }
    this.mlp = new Sequential(...layers)
  }

  get outputDim(): number {
    return this.spec.outputDim
  }

  /**
   * Forward of n items: `g` from FieldFeatures.gather (n · F segments), `frozen` [n, frozenDim]
   * when the spec has one. Returns [n, outputDim] (the MLP's buffer, valid until the next forward).
   */
  forward(g: GatheredFields, n: number, frozen?: Float32Array): Float32Array {
    const F = this.spec.fields.length
    const E = this.spec.bagDim
    const Z = this.spec.frozenDim
    if (g.features.count !== n * F) {
      throw new SimsageError(
        ErrorCodes.DIM_MISMATCH,
        `features hold ${g.features.count} segments, expected ${n} x ${F}`,
      )
    }
    if (Z > 0 && (!frozen || frozen.length !== n * Z)) {
      throw new SimsageError(ErrorCodes.DIM_MISMATCH, `frozen must hold ${n} x ${Z} values`)
    }
    const bagOut = this.bag.forward(g.features)
    const W = E + Z
    const pooled = this.#pooled.get(n * W).fill(0)
    for (let i = 0; i < n; i++) {
      for (let f = 0; f < F; f++) {
        if (!g.present[i * F + f]) continue
        const src = (i * F + f) * E
        for (let k = 0; k < E; k++) pooled[i * W + k] += bagOut[src + k]
      }
      if (Z > 0) pooled.set((frozen as Float32Array).subarray(i * Z, i * Z + Z), i * W + E)
    }
    this.#present = g.present
    this.#n = n
    return this.mlp.forward(pooled, n)
  }

  /** Backward of the last forward: MLP gradients are added to its parameters; returns the bag's sparse gradients. */
  backward(dy: Float32Array): HashBagGrads {
    const present = this.#present
    if (!present) throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, 'backward needs a forward first')
    const F = this.spec.fields.length
    const E = this.spec.bagDim
    const W = E + this.spec.frozenDim
    const dp = this.mlp.backward(dy)
    const n = this.#n
    const dbag = this.#dbag.get(n * F * E)
    for (let i = 0; i < n; i++)
      for (let f = 0; f < F; f++) {
        const o = (i * F + f) * E
        if (!present[i * F + f]) dbag.fill(0, o, o + E)
        else dbag.set(dp.subarray(i * W, i * W + E), o)
      }
    return this.bag.backward(dbag)
  }
}

/** Rows of x [n, d] scaled to unit L2 norm, in place (zero rows stay zero). Returns x. */
export function normalizeRows(x: Float32Array, n: number, d: number): Float32Array {
  for (let i = 0; i < n; i++) {
    let s = 0
    for (let k = 0; k < d; k++) s += x[i * d + k] * x[i * d + k]
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0
    for (let k = 0; k < d; k++) x[i * d + k] *= inv
  }
  return x
}
