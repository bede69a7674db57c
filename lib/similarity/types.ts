/**
 * Public types of the similarity API.
 */

/** Similarity metric: inner product, cosine similarity, or squared Euclidean distance. */
export type Metric = 'ip' | 'cosine' | 'l2'

/**
 * How an {@link EmbeddingIndex} stores its vectors: 'f32' (4 bytes per value, exact), 'bf16' or 'f16'
 * (2 bytes; bfloat16 / IEEE half, rounded to nearest even), 'i8' (1 byte plus a 4-byte scale per
 * vector: code = round(x / s), s = max|x| / 127). Queries stay f32; scores are those of the
 * decoded stored values.
 */
export type Storage = 'f32' | 'bf16' | 'f16' | 'i8'

/**
 * How 'i8' storage scales its codes. 'vector': one scale per vector, s = max|x| / 127. 'dimension':
 * one scale per dimension, s_d = max |x_d| / 127 learned from the rows of the first add (a
 * representative batch), fixed after that; a later value outside the learned range saturates to
 * the code ±127 (counted in `stats.saturatedValues`). Cosine adds a per-vector factor so each stored
 * vector has unit length.
 */
export type I8Scales = 'vector' | 'dimension'

/** Ids accepted at the API: non-negative safe integers. */
export type IdsInput = ArrayLike<number> | BigInt64Array | BigUint64Array
