/**
 * Seeded data for the similarity benchmark: standard normal float32 vectors and an exact
 * float64 reference for the first query, used to check every tool's answer.
 */

/** sfc32 generator seeded through splitmix32; returns uniform floats in [0, 1). */
function makeUniform(seed: number): () => number {
  let s = seed >>> 0
  const splitmix = (): number => {
    s = (s + 0x9e3779b9) >>> 0
    let z = s
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
    return (z ^ (z >>> 16)) >>> 0
  }
  let a = splitmix()
  let b = splitmix()
  let c = splitmix()
  let d = splitmix()
  return () => {
    const t = (((a + b) >>> 0) + d) >>> 0
    d = (d + 1) >>> 0
    a = b ^ (b >>> 9)
    b = (c + (c << 3)) >>> 0
    c = (c << 21) | (c >>> 11)
    c = (c + t) >>> 0
    return t / 4294967296
  }
}

/**
 * Fills a new Float32Array of `length` standard normal values (Box-Muller), deterministic in
 * `seed`.
 */
export function randomNormal(length: number, seed: number): Float32Array {
  const uniform = makeUniform(seed)
  const out = new Float32Array(length)
  for (let i = 0; i < length; i += 2) {
    const u1 = 1 - uniform() // (0, 1]
    const u2 = uniform()
    const r = Math.sqrt(-2 * Math.log(u1))
    out[i] = r * Math.cos(2 * Math.PI * u2)
    if (i + 1 < length) out[i + 1] = r * Math.sin(2 * Math.PI * u2)
  }
  return out
}

/** Exact top-k of one query, scores accumulated in float64. */
export interface ReferenceRow {
  /** Corpus row numbers, best first, length k. */
  readonly ids: number[]
  /** Inner products, float64, same order. */
  readonly scores: number[]
}

/**
 * Exact inner-product top-k of the query at row `row` of `queries` against the whole corpus
 * (`n * dim`, row-major), in float64; O(n * dim), done once per run.
 */
export function referenceTopK(
  corpus: Float32Array,
  n: number,
  dim: number,
  queries: Float32Array,
  row: number,
  k: number,
): ReferenceRow {
  const q = queries.subarray(row * dim, row * dim + dim)
  const ids: number[] = []
  const scores: number[] = []
  for (let i = 0; i < n; i++) {
    const base = i * dim
    let s = 0
    for (let j = 0; j < dim; j++) s += q[j] * corpus[base + j]
    if (ids.length === k && s <= scores[k - 1]) continue
    let pos = ids.length === k ? k - 1 : ids.length
    while (pos > 0 && scores[pos - 1] < s) {
      scores[pos] = scores[pos - 1]
      ids[pos] = ids[pos - 1]
      pos--
    }
    scores[pos] = s
    ids[pos] = i
  }
  return { ids, scores }
}

/** Float64 inner product of corpus row `id` with query row `row`. */
export function exactScore(corpus: Float32Array, dim: number, id: number, queries: Float32Array, row: number): number {
  let s = 0
  for (let j = 0; j < dim; j++) s += queries[row * dim + j] * corpus[id * dim + j]
  return s
}
