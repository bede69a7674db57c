/**
 * Matryoshka prefixes of embeddings: the first m of each vector's d values, L2-normalised, are
 * themselves an embedding (what a loss on that prefix trained, e.g. searchsage's query → query
 * task on `queryPrefix` dimensions).
 */
import { normalizeRows } from './towers.js'

/** The first m of each row's d values (n rows), L2-normalised; x itself when m = d. */
export function prefixRows(x: Float32Array, n: number, d: number, m: number): Float32Array {
  if (m === d) return x
  const out = new Float32Array(n * m)
  for (let i = 0; i < n; i++) out.set(x.subarray(i * d, i * d + m), i * m)
  return normalizeRows(out, n, m)
}
