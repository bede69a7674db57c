/**
 * Plain TypeScript triplet mining: what a Node user writes without a native library. Used as the
 * baseline of `simsage bench mining` (and nothing else). Same definitions as simsage's: squared
 * Euclidean distances, batch-hard (farthest positive, closest negative, ties to the smaller index),
 * semi-hard (closest negative farther than the positive, pairs without one dropped).
 */

/** B x B squared Euclidean distances (row-major), each pair computed once, accumulated in float64. */
export function plainPairwiseSq(e: Float32Array, b: number, dim: number, out = new Float32Array(b * b)): Float32Array {
  for (let i = 0; i < b; i++) {
    out[i * b + i] = 0
    const oi = i * dim
    for (let j = i + 1; j < b; j++) {
      const oj = j * dim
      let s = 0
      for (let d = 0; d < dim; d++) {
        const t = e[oi + d] - e[oj + d]
        s += t * t
      }
      out[i * b + j] = s
      out[j * b + i] = s
    }
  }
  return out
}

/** Batch-hard triplets (flat a, p, n) from a distance matrix. */
export function plainBatchHard(dist: Float32Array, labels: Int32Array, b: number): Int32Array {
  const out: number[] = []
  for (let a = 0; a < b; a++) {
    const row = a * b
    const la = labels[a]
    let bp = -1
    let bn = -1
    let vp = -Infinity
    let vn = Infinity
    for (let j = 0; j < b; j++) {
      const v = dist[row + j]
      if (labels[j] === la) {
        if (j !== a && v > vp) {
          vp = v
          bp = j
        }
      } else if (v < vn) {
        vn = v
        bn = j
      }
    }
    if (bp >= 0 && bn >= 0) out.push(a, bp, bn)
  }
  return Int32Array.from(out)
}

/** Semi-hard triplets (flat a, p, n) from a distance matrix. */
export function plainSemiHard(dist: Float32Array, labels: Int32Array, b: number): Int32Array {
  const out: number[] = []
  for (let a = 0; a < b; a++) {
    const row = a * b
    const la = labels[a]
    for (let p = 0; p < b; p++) {
      if (p === a || labels[p] !== la) continue
      const dp = dist[row + p]
      let bn = -1
      let vn = Infinity
      for (let n = 0; n < b; n++) {
        const v = dist[row + n]
        if (labels[n] !== la && v > dp && v < vn) {
          vn = v
          bn = n
        }
      }
      if (bn >= 0) out.push(a, p, bn)
    }
  }
  return Int32Array.from(out)
}
