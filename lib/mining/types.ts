/**
 * Public types of the mining API.
 */

/**
 * Distance used by the distance matrix and the miners. Every metric is a distance (smaller = more
 * similar): 'sqeuclidean' |x − y|², 'euclidean' |x − y|, 'cosine' 1 − cos(x, y) ∈ [0, 2] (a zero
 * vector is at distance 1), 'dot' −⟨x, y⟩.
 */
export type DistanceMetric = 'sqeuclidean' | 'euclidean' | 'cosine' | 'dot'

/** Labels of a batch: one int32 class id per row. */
export type Labels = Int32Array | ArrayLike<number>
