/**
 * The hash embedding bag ({@link HashEmbeddingBag}): texts → token hashes → two rows of a hashed
 * table per token, mixed by learned per-token importance weights, sum-pooled per text, layer-normed
 * (Svenstrup et al. 2017's hash embeddings; OmniSearchSage's text encoder). Native forward and
 * sparse backward; state through safetensors.
 */
import { callNative, ErrorCodes, SimsageError } from '../errors.js'
import { loadSafetensors, saveSafetensors, type Tensor } from '../io/safetensors.js'
import { binding } from '../native/binding.js'
import type { RawHashBagArgs } from '../native/text-types.js'
import { Scratch } from '../nn/module.js'
import { Random } from '../random.js'
import { checkF32, checkNumber, describe } from '../validate.js'
import { type FeaturizeOptions, featurizeNormalized, resolveFeaturizeOptions, type TextFeatures } from './features.js'
import { hashRows } from './hash.js'
import { normalizeText } from './normalize.js'
import { checkSize, checkTexts } from './validate.js'

/** Options of {@link HashEmbeddingBag}. */
export interface HashEmbeddingBagOptions {
  /** Rows R of the embedding table (default 100,000). */
  rows?: number
  /** Embedding dimension D. */
  dim: number
  /** Rows Q of the importance table, 2 weights each (default: rows). */
  importanceRows?: number
  /** Featurisation used by {@link HashEmbeddingBag.embed} (seed, token kinds); stored in checkpoints. */
  featurize?: Omit<FeaturizeOptions, 'threads'>
  /** Layer norm epsilon (default 1e-5). */
  eps?: number
  /** Seed of the initial weights (default 1): table N(0, 1/√D), importance 1, gamma 1, beta 0. */
  initSeed?: number
  /** Threads of the native calls (default: the library default). */
  threads?: number
}

/** One table's sparse gradient: distinct rows (ascending) and one gradient row each. */
export interface SparseGrad {
  /** Distinct row indices, strictly increasing. */
  rows: Int32Array
  /** rows.length x width, row-major. */
  values: Float32Array
}

/** Gradients of one {@link HashEmbeddingBag.backward}. */
export interface HashBagGrads {
  /** The table's touched rows, width dim. */
  table: SparseGrad
  /** The importance table's touched rows, width 2. */
  importance: SparseGrad
  /** dL/dgamma, [dim]. */
  gamma: Float32Array
  /** dL/dbeta, [dim]. */
  beta: Float32Array
}

/** Per-token rows of {@link HashEmbeddingBag.tokenRows}, each [tokens]. */
export interface TokenRows {
  /** First table row (from the hash's low 32 bits). */
  a: Int32Array
  /** Second table row (from the high 32 bits). */
  b: Int32Array
  /** Importance-table row. */
  importance: Int32Array
  /** The text (CSR segment) the token belongs to. */
  segment: Int32Array
}

/** The bag's trainable arrays (what the sparse optimizers update). */
export interface HashBagTensors {
  /** [rows, dim]. */
  table: Float32Array
  /** [importanceRows, 2]. */
  importance: Float32Array
  /** [dim]. */
  gamma: Float32Array
  /** [dim]. */
  beta: Float32Array
}

/**
 * A hash embedding bag: for token t with hash halves (lo, hi), rows a = ⌊lo·R/2³²⌋, b = ⌊hi·R/2³²⌋
 * of the table E [R, D] and importance row q ({@link hashRows}) of P [Q, 2]:
 * e_t = P[q,0]·E[a] + P[q,1]·E[b]; per text j, s_j = Σ_t e_t (sum pooling; one text = one field);
 * y_j = LayerNorm(s_j)·gamma + beta.
 *
 * Buffer contract (as the nn modules): `forward` returns the bag's own [batch, dim] buffer, reused
 * by the next forward, and keeps the features for `backward`. `backward` returns sparse gradients
 * (new arrays) for a {@link SparseAdagrad} or {@link LazyAdam} step. `dispose()` drops the tables;
 * any later call throws ERR_SIMSAGE_DISPOSED.
 */
export class HashEmbeddingBag {
  readonly rows: number
  readonly dim: number
  readonly importanceRows: number
  readonly eps: number
  readonly #feat: ReturnType<typeof resolveFeaturizeOptions>
  #t: HashBagTensors | undefined
  #pooled = new Scratch()
  #mean = new Scratch()
  #rstd = new Scratch()
  #y = new Scratch()
  #last: TextFeatures | undefined

  constructor(options: HashEmbeddingBagOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `options must be an object, got ${describe(options)}`)
    }
    this.rows = checkSize(options.rows ?? 100_000, 'rows', 1, 2 ** 31 - 1)
    this.dim = checkSize(options.dim, 'dim', 1, 1 << 20)
    this.importanceRows = checkSize(options.importanceRows ?? this.rows, 'importanceRows', 1, 2 ** 31 - 1)
    if (this.rows * this.dim > 2 ** 31) {
      throw new SimsageError(ErrorCodes.DIM_MISMATCH, `rows * dim must be <= 2^31, got ${this.rows * this.dim}`)
    }
    this.eps = checkNumber(options.eps ?? 1e-5, 'eps', 0, 1, true)
    this.#feat = resolveFeaturizeOptions({ ...(options.featurize ?? {}), threads: options.threads })
    const rng = new Random(checkNumber(options.initSeed ?? 1, 'initSeed', 0, 2 ** 32 - 1))
    const table = rng.fillNormal(new Float32Array(this.rows * this.dim), 0, 1 / Math.sqrt(this.dim))
    this.#t = {
      table,
      importance: new Float32Array(this.importanceRows * 2).fill(1),
      gamma: new Float32Array(this.dim).fill(1),
      beta: new Float32Array(this.dim),
    }
  }

  /** The trainable arrays (live: optimizers update them in place). */
  tensors(): HashBagTensors {
    return this.#live()
  }

  /** The featurisation options {@link embed} uses (seed and token kinds). */
  get featurizeOptions(): Required<Omit<FeaturizeOptions, 'threads'>> {
    const { seed, trigrams, words, bigrams } = this.#feat
    return { seed, trigrams, words, bigrams }
  }

  /** Featurises texts with this bag's options (native). */
  featurize(texts: readonly string[]): TextFeatures {
    this.#live()
    checkTexts(texts)
    return featurizeNormalized(texts.map(normalizeText), this.#feat)
  }

  /** featurize + forward: [texts.length, dim] (the bag's own buffer). */
  embed(texts: readonly string[]): Float32Array {
    return this.forward(this.featurize(texts))
  }

  /**
   * Embeds featurised texts: [features.count, dim], row-major (the bag's own buffer, reused by the
   * next forward). The features must be hashed with this bag's seed (ERR_SIMSAGE_INVALID_ARGUMENT
   * otherwise); their shape is checked here and natively. The importance weights, gamma and beta
   * are scanned for NaN / Infinity (ERR_SIMSAGE_NON_FINITE); the table is not (one pass less over
   * R × D floats per call: a non-finite row reaches only the outputs of texts that use it).
   */
  forward(features: TextFeatures): Float32Array {
    const t = this.#live()
    checkFeatures(features)
    if (features.seed !== this.#feat.seed) {
      throw new SimsageError(
        ErrorCodes.INVALID_ARGUMENT,
        `features were hashed with seed ${features.seed}, this bag's featurisation uses seed ${this.#feat.seed}`,
      )
    }
    const B = features.count
    this.#last = undefined
    const y = this.#y.get(B * this.dim)
    callNative(() => binding().textHashBagForward(this.#args(t, features)))
    this.#last = features
    return y
  }

  /**
   * Backward of the last forward from dL/dy [batch, dim]: sparse gradients of the table and the
   * importance table (touched rows only) and dense ones of gamma and beta (new arrays).
   */
  backward(dy: Float32Array): HashBagGrads {
    const t = this.#live()
    const f = this.#last
    if (!f) throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, 'backward needs a forward first')
    checkF32(dy, 'dy', f.count * this.dim, `batch ${f.count} x dim ${this.dim}`)
    const gamma = new Float32Array(this.dim)
    const beta = new Float32Array(this.dim)
    const r = callNative(() => binding().textHashBagBackward({ ...this.#args(t, f), dy, dgamma: gamma, dbeta: beta }))
    return {
      table: { rows: r.tableRows as Int32Array, values: r.tableGrad as Float32Array },
      importance: { rows: r.importanceRows as Int32Array, values: r.importanceGrad as Float32Array },
      gamma,
      beta,
    }
  }

  /**
   * The rows every token of `features` uses (each array [tokens]): `a`, `b` its two table rows,
   * `importance` its importance row, `segment` its text; what a Gather-based graph (ONNX) takes.
   */
  tokenRows(features: TextFeatures): TokenRows {
    this.#live()
    checkFeatures(features)
    const n = features.hashes.length
    const lanes = new Uint32Array(features.hashes.buffer, features.hashes.byteOffset, 2 * n)
    const out: TokenRows = {
      a: new Int32Array(n),
      b: new Int32Array(n),
      importance: new Int32Array(n),
      segment: new Int32Array(n),
    }
    for (let j = 0; j < features.count; j++) {
      for (let k = features.offsets[j]; k < features.offsets[j + 1]; k++) {
        const [a, b, q] = hashRows(lanes[2 * k], lanes[2 * k + 1], this.rows, this.importanceRows)
        out.a[k] = a
        out.b[k] = b
        out.importance[k] = q
        out.segment[k] = j
      }
    }
    return out
  }

  /** The tensors as safetensors entries (table, importance, gamma, beta). */
  state(): Record<string, Tensor> {
    const t = this.#live()
    return {
      table: { shape: [this.rows, this.dim], data: t.table },
      importance: { shape: [this.importanceRows, 2], data: t.importance },
      gamma: { shape: [this.dim], data: t.gamma },
      beta: { shape: [this.dim], data: t.beta },
    }
  }

  /** Saves the bag (tensors + sizes and featurisation in the metadata) to a safetensors file. */
  async save(path: string): Promise<void> {
    const { seed, trigrams, words, bigrams } = this.#feat
    await saveSafetensors(path, this.state(), {
      format: 'simsage.hash_embedding_bag.v1',
      rows: String(this.rows),
      dim: String(this.dim),
      importanceRows: String(this.importanceRows),
      eps: String(this.eps),
      featurize: JSON.stringify({ seed, trigrams, words, bigrams }),
    })
  }

  /** Loads a bag written by {@link save} (ERR_SIMSAGE_CORRUPT_FILE for a file that is not one). */
  static async load(path: string, options: { threads?: number } = {}): Promise<HashEmbeddingBag> {
    const { tensors, metadata } = await loadSafetensors(path)
    const bad = (why: string) => new SimsageError(ErrorCodes.CORRUPT_FILE, `${path}: not a hash embedding bag: ${why}`)
    if (metadata.format !== 'simsage.hash_embedding_bag.v1') throw bad('format metadata missing')
    let featurize: FeaturizeOptions
    try {
      featurize = JSON.parse(metadata.featurize ?? '')
    } catch {
      throw bad('featurize metadata is not JSON')
    }
    let bag: HashEmbeddingBag
    try {
      bag = new HashEmbeddingBag({
        rows: Number(metadata.rows),
        dim: Number(metadata.dim),
        importanceRows: Number(metadata.importanceRows),
        eps: Number(metadata.eps),
        featurize,
        threads: options.threads,
      })
    } catch (e) {
      throw bad(`bad sizes or options in the metadata (${(e as Error).message})`)
    }
    const t = bag.#live()
    for (const name of ['table', 'importance', 'gamma', 'beta'] as const) {
      const src = tensors[name]
      if (!src || src.data.length !== t[name].length) throw bad(`tensor ${name} missing or of the wrong size`)
      t[name].set(src.data)
    }
    return bag
  }

  /** Drops the tables; later calls throw ERR_SIMSAGE_DISPOSED. */
  dispose(): void {
    this.#t = undefined
    this.#last = undefined
  }

  [Symbol.dispose](): void {
    this.dispose()
  }

  #live(): HashBagTensors {
    if (!this.#t) throw new SimsageError(ErrorCodes.DISPOSED, 'this HashEmbeddingBag has been disposed')
    return this.#t
  }

  #args(t: HashBagTensors, f: TextFeatures): RawHashBagArgs {
    const B = f.count
    return {
      offsets: f.offsets,
      hashes: f.hashes,
      rows: this.rows,
      dim: this.dim,
      importanceRows: this.importanceRows,
      table: t.table,
      importance: t.importance,
      gamma: t.gamma,
      beta: t.beta,
      eps: this.eps,
      pooled: this.#pooled.get(B * this.dim),
      mean: this.#mean.get(B),
      rstd: this.#rstd.get(B),
      y: this.#y.get(B * this.dim),
      ...(this.#feat.threads !== undefined ? { threads: this.#feat.threads } : {}),
    }
  }
}

/** A TextFeatures object's shape (offsets, hashes, count). */
function checkFeatures(f: unknown): asserts f is TextFeatures {
  const o = f as TextFeatures
  if (
    typeof f !== 'object' ||
    f === null ||
    !(o.offsets instanceof Int32Array) ||
    !(o.hashes instanceof BigUint64Array)
  ) {
    throw new SimsageError(
      ErrorCodes.INVALID_ARGUMENT,
      `features must be a TextFeatures object ({count, offsets: Int32Array, hashes: BigUint64Array}), got ${describe(f)}`,
    )
  }
  if (o.offsets.length !== o.count + 1) {
    throw new SimsageError(
      ErrorCodes.DIM_MISMATCH,
      `features.offsets has length ${o.offsets.length}, expected count + 1 = ${o.count + 1}`,
    )
  }
  if (o.count < 1) throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, 'features must hold at least one text')
  if (o.offsets[o.count] !== o.hashes.length) {
    throw new SimsageError(
      ErrorCodes.DIM_MISMATCH,
      `features.offsets ends at ${o.offsets[o.count]} but there are ${o.hashes.length} hashes`,
    )
  }
}
