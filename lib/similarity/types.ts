/**
 * Public types of the similarity API.
 */

/** Similarity metric: inner product, cosine similarity, or squared Euclidean distance. */
export type Metric = 'ip' | 'cosine' | 'l2'

/** Ids accepted at the API: non-negative safe integers. */
export type IdsInput = ArrayLike<number> | BigInt64Array | BigUint64Array
