/**
 * A lookup table of trainable rows: {@link Embedding}. Row i is the vector of token (item) i.
 */
import { ErrorCodes, SimsageError } from '../errors.js'
import { defaultRng, type RandomSource } from '../random.js'
import { Parameter, Scratch } from './module.js'
import { checkFeatures } from './validate.js'

/** Options of {@link Embedding}. */
export interface EmbeddingOptions {
  /** Generator for the initial rows (default: the process-wide seeded generator). */
  rng?: RandomSource
  /** Standard deviation of the normal initialisation (default 1 / sqrt(dim)). */
  scale?: number
}

/**
 * An embedding table [count, dim], initialised N(0, scale²). `forward(indices)` gathers rows (an
 * index of -1 gives a zero row: padding); `backward(dy)` scatter-adds dy into `weight.grad` for the
 * indices of the most recent forward. Indices outside [-1, count) are ERR_SIMSAGE_INVALID_ID.
 */
export class Embedding {
  readonly count: number
  readonly dim: number
  /** [count, dim]. */
  readonly weight: Parameter
  #idx: Int32Array | undefined
  #y = new Scratch()

  constructor(count: number, dim: number, options: EmbeddingOptions = {}) {
    this.count = checkFeatures(count, 'count')
    this.dim = checkFeatures(dim, 'dim')
    const rng = options.rng ?? defaultRng()
    const scale = options.scale ?? 1 / Math.sqrt(dim)
    this.weight = new Parameter('weight', [count, dim])
    const w = this.weight.data
    for (let i = 0; i < w.length; i += 2) {
      // Box-Muller: two normals per two uniforms.
      const u = Math.max(rng.next(), 1e-12)
      const v = rng.next()
      const r = Math.sqrt(-2 * Math.log(u)) * scale
      w[i] = r * Math.cos(2 * Math.PI * v)
      if (i + 1 < w.length) w[i + 1] = r * Math.sin(2 * Math.PI * v)
    }
  }

  /** Gathers rows: returns [indices.length, dim] (the module's own buffer). */
  forward(indices: Int32Array): Float32Array {
    this.#check(indices)
    const d = this.dim
    const y = this.#y.get(indices.length * d)
    const w = this.weight.data
    for (let r = 0; r < indices.length; r++) {
      const i = indices[r]
      if (i < 0) y.fill(0, r * d, r * d + d)
      else y.set(w.subarray(i * d, i * d + d), r * d)
    }
    this.#idx = indices
    return y
  }

  /** Adds dy's rows into weight.grad at the indices of the most recent forward (padding rows skipped). */
  backward(dy: Float32Array): void {
    const idx = this.#idx
    if (!idx) throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, 'Embedding.backward() called before forward()')
    const d = this.dim
    if (dy.length !== idx.length * d) {
      throw new SimsageError(ErrorCodes.DIM_MISMATCH, `dy length ${dy.length}, expected ${idx.length} x ${d}`)
    }
    const g = this.weight.grad
    for (let r = 0; r < idx.length; r++) {
      const i = idx[r]
      if (i < 0) continue
      const o = i * d
      const s = r * d
      for (let j = 0; j < d; j++) g[o + j] += dy[s + j]
    }
  }

  parameters(): Parameter[] {
    return [this.weight]
  }

  #check(indices: Int32Array): void {
    if (!(indices instanceof Int32Array)) {
      throw new SimsageError(ErrorCodes.INVALID_TYPE, 'indices must be an Int32Array')
    }
    for (let r = 0; r < indices.length; r++) {
      const i = indices[r]
      if (i < -1 || i >= this.count) {
        throw new SimsageError(ErrorCodes.INVALID_ID, `index ${i} at ${r} is outside [-1, ${this.count})`)
      }
    }
  }
}
