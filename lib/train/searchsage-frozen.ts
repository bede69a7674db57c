/**
 * Frozen pre-existing entity embeddings of searchsage's `frozen` task (a fixed entity tower):
 * [entities, d] rows aligned with the catalog, an all-zero row meaning "none for this entity",
 * d at most the query tower's dimension: with d < dim the frozen task trains (and searches) the
 * query vector's first d dimensions, a Matryoshka prefix.
 */
import { ErrorCodes, SimsageError } from '../errors.js'

/** Frozen vectors ([entities, dim]) and which entities have one. */
export interface FrozenRows {
  vectors: Float32Array
  has: Uint8Array
  dim: number
}

/** Checks frozen vectors ([entities, d], 1 <= d <= maxDim, finite; all-zero rows = none). */
export function checkFrozen(v: unknown, entities: number, maxDim: number): FrozenRows {
  if (!(v instanceof Float32Array)) {
    throw new SimsageError(ErrorCodes.INVALID_TYPE, 'the frozen task needs options.frozen as a Float32Array')
  }
  const dim = entities > 0 ? v.length / entities : 0
  if (!(Number.isInteger(dim) && dim >= 1 && dim <= maxDim)) {
    throw new SimsageError(
      ErrorCodes.DIM_MISMATCH,
      `frozen must be ${entities} entities x d values, 1 <= d <= dim ${maxDim}, got ${v.length} values`,
    )
  }
  const has = new Uint8Array(entities)
  for (let e = 0; e < entities; e++) {
    for (let k = 0; k < dim; k++) {
      const x = v[e * dim + k]
      if (!Number.isFinite(x)) throw new SimsageError(ErrorCodes.NON_FINITE, `frozen vector of entity ${e} holds ${x}`)
      if (x !== 0) has[e] = 1
    }
  }
  return { vectors: v, has, dim }
}

/**
 * The frozen rows of entities `ids`, [ids.length, width]: each row's `rows.dim` values, then zeros
 * (width >= rows.dim; zeros throughout without rows).
 */
export function frozenRowsOf(rows: FrozenRows | undefined, ids: ArrayLike<number>, width: number): Float32Array {
  const out = new Float32Array(ids.length * width)
  if (!rows) return out
  const d = rows.dim
  for (let i = 0; i < ids.length; i++) out.set(rows.vectors.subarray(ids[i] * d, ids[i] * d + d), i * width)
  return out
}
