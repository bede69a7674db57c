/**
 * Raw binding types of the text family (internal; lib/text wraps them). Every function takes one
 * arguments object; tensors are dense row-major typed arrays whose lengths the native side checks
 * against the shapes (ERR_SIMSAGE_DIM_MISMATCH). The calls are synchronous.
 */

/**
 * Strings → token CSR (native/text/text.h documents the tokens and the hash): either `texts`, or
 * `text` (the texts joined) with `offsets` (count + 1 UTF-16 code-unit offsets into it), which
 * reads one string instead of one per text. Texts are already normalised (lib/text's normalizeText).
 */
export interface RawTextFeaturizeArgs {
  texts?: string[]
  text?: string
  offsets?: Int32Array
  /** 64-bit seed as a safe integer. */
  seed: number
  trigrams?: boolean
  words?: boolean
  bigrams?: boolean
  threads?: number
}

/** Tokens of string i: offsets[i] .. offsets[i + 1] - 1. */
export interface RawTextFeatures {
  offsets: Int32Array
  hashes: BigUint64Array
  /** 0 trigram, 1 word, 2 bigram. */
  kinds: Uint8Array
}

/** The hash bag's forward arguments (B = offsets.length - 1 segments, D = dim). */
export interface RawHashBagArgs {
  offsets: Int32Array
  hashes: BigUint64Array
  rows: number
  dim: number
  importanceRows: number
  /** rows x dim. */
  table: Float32Array
  /** importanceRows x 2. */
  importance: Float32Array
  /** dim, or absent (1). */
  gamma?: Float32Array
  /** dim, or absent (0). */
  beta?: Float32Array
  eps?: number
  /** B x dim (output: the pooled sums, kept for the backward). */
  pooled: Float32Array
  /** B (output). */
  mean: Float32Array
  /** B (output). */
  rstd: Float32Array
  /** B x dim (output). */
  y: Float32Array
  threads?: number
}

/** The backward's arguments: the forward's (pooled, mean, rstd as it wrote them) plus dy. */
export interface RawHashBagBackwardArgs extends RawHashBagArgs {
  /** B x dim. */
  dy: Float32Array
  /** Return the table's sparse gradient (default true). */
  tableGrad?: boolean
  /** Return the importance table's sparse gradient (default true). */
  importanceGrad?: boolean
  /** dim (output, overwritten), or absent. */
  dgamma?: Float32Array
  /** dim (output, overwritten), or absent. */
  dbeta?: Float32Array
}

/** Sparse gradients: distinct rows ascending, one gradient row each. */
export interface RawHashBagGrads {
  tableRows?: Int32Array
  /** tableRows.length x dim. */
  tableGrad?: Float32Array
  importanceRows?: Int32Array
  /** importanceRows.length x 2. */
  importanceGrad?: Float32Array
}

/** One sparse optimizer step over the listed rows of a table. */
export interface RawSparseOptimArgs {
  tableRows: number
  dim: number
  /** tableRows x dim, updated in place. */
  table: Float32Array
  /** Strictly increasing row indices. */
  rows: Int32Array
  /** rows.length x dim. */
  grad: Float32Array
  /** tableRows x dim: Adagrad's accumulator or Adam's first moment. */
  state1: Float32Array
  /** tableRows x dim: Adam's second moment. */
  state2?: Float32Array
  lr: number
  eps: number
  beta1?: number
  beta2?: number
  /** Adam's step count after this update (>= 1). */
  step?: number
  weightDecay?: number
  threads?: number
}

/** The text family's part of the raw binding. */
export interface RawTextBinding {
  textFeaturize(args: RawTextFeaturizeArgs): RawTextFeatures
  textHashBagForward(args: RawHashBagArgs): void
  textHashBagBackward(args: RawHashBagBackwardArgs): RawHashBagGrads
  textSparseAdagrad(args: RawSparseOptimArgs): void
  textSparseAdam(args: RawSparseOptimArgs & { state2: Float32Array; beta1: number; beta2: number; step: number }): void
}
