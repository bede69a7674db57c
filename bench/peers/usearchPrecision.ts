/**
 * usearch's own reduced-precision exact search, for the precision section of `bench similarity`.
 *
 * What usearch 2.25's Node binding offers (javascript/lib.cpp, usearch.d.ts):
 * - `exactSearch(dataset, queries, dim, k, metric, threads)` takes Float64Array, Float32Array or
 *   Int8Array and searches in that type: f32 and i8 exact search exist. Its i8 inner product is
 *   the plain integer dot product of the codes (distance `1 - sum a_i b_i`): the caller quantises,
 *   and no per-vector scale can be passed, so the corpus uses one global scale (127 / max |x|) and
 *   each query its own (a per-query scale does not change that query's ranking).
 * - No bf16 or f16 exact search: exactSearch rejects Uint16Array ("Unsupported TypedArray"), and
 *   `new Index({ quantization: 'bf16' | 'f16' | 'i8' })` stores those types but its
 *   `search(vectors, k, threads)` is the HNSW search only (no `exact` argument; the C++ core's
 *   `search(..., exact)` flag is not bound).
 * Scratch and byteOffset limits are those of the f32 peer (see ./usearch.ts).
 */
import { atOffsetZero } from './usearch.js'

type UsearchModule = typeof import('usearch')

/** Storage types usearch's binding can search exactly. */
export type UsearchExactStorage = 'f32' | 'i8'

/** Why bf16 and f16 have no usearch rows (printed and stored in the report). */
export const usearchMissing: Readonly<Record<'bf16' | 'f16', string>> = {
  bf16:
    "usearch 2.25's Node binding has no bf16 exact search: exactSearch accepts only Float64Array, " +
    "Float32Array and Int8Array, and Index({ quantization: 'bf16' }).search is HNSW-only (no exact flag)",
  f16:
    "usearch 2.25's Node binding has no f16 exact search: exactSearch accepts only Float64Array, " +
    "Float32Array and Int8Array, and Index({ quantization: 'f16' }).search is HNSW-only (no exact flag)",
}

/** Upper bound on usearch's per-call scratch (16 bytes x queries x N); 1 GiB. */
const maxScratchBytes = 1 << 30

/** One corpus prepared for usearch's exact search in one storage type. */
export interface UsearchExact {
  readonly storage: UsearchExactStorage
  /** Bytes per stored vector. */
  readonly bytesPerVector: number
  /** Top-k ids of `nq` f32 queries (quantised here for i8, included in the time). */
  search(queries: Float32Array, nq: number, k: number, threads: number): BigUint64Array
}

/** Loads usearch, or the reason it cannot be used. */
export async function loadUsearch(): Promise<UsearchModule | string> {
  try {
    const loaded = (await import('usearch')) as UsearchModule & { default?: UsearchModule }
    const mod = typeof loaded.exactSearch === 'function' ? loaded : loaded.default
    if (!mod || typeof mod.exactSearch !== 'function') return 'usearch has no exactSearch export'
    return mod
  } catch (err) {
    return `usearch not installed or failed to load (${(err as Error).message.split('\n')[0]})`
  }
}

/** Symmetric i8 codes of `x` with one scale (127 / max |x|) into `out`. */
function quantizeI8(x: Float32Array, out: Int8Array): void {
  let max = 0
  for (let i = 0; i < x.length; i++) max = Math.max(max, Math.abs(x[i]))
  const s = max > 0 ? 127 / max : 0
  for (let i = 0; i < x.length; i++) out[i] = Math.max(-127, Math.min(127, Math.round(x[i] * s)))
}

/** Prepares `corpus` (n x dim) for usearch's exact search in `storage`. */
export function usearchExact(
  mod: UsearchModule,
  storage: UsearchExactStorage,
  corpus: Float32Array,
  n: number,
  dim: number,
): UsearchExact {
  const chunk = Math.max(1, Math.floor(maxScratchBytes / (16 * n)))
  const data: Float32Array | Int8Array =
    storage === 'f32' ? atOffsetZero(corpus.subarray(0, n * dim)) : new Int8Array(n * dim)
  if (data instanceof Int8Array) quantizeI8(corpus.subarray(0, n * dim), data)
  let qCodes = new Int8Array(0)
  return {
    storage,
    bytesPerVector: dim * (storage === 'f32' ? 4 : 1),
    search(queries, nq, k, threads) {
      const ids = new BigUint64Array(nq * k)
      if (storage === 'i8' && qCodes.length < nq * dim) qCodes = new Int8Array(nq * dim)
      for (let start = 0; start < nq; start += chunk) {
        const count = Math.min(chunk, nq - start)
        let part: Float32Array | Int8Array
        if (storage === 'f32') part = atOffsetZero(queries.subarray(start * dim, (start + count) * dim))
        else {
          part = new Int8Array(qCodes.buffer, 0, count * dim)
          for (let i = 0; i < count; i++) {
            const row = start + i
            quantizeI8(queries.subarray(row * dim, (row + 1) * dim), part.subarray(i * dim, (i + 1) * dim))
          }
        }
        const res = mod.exactSearch(data, part, dim, k, mod.MetricKind.IP, threads)
        ids.set(res.keys, start * k)
      }
      return ids
    },
  }
}
