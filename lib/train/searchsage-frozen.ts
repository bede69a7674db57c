/**
 * Frozen pre-existing entity embeddings of searchsage's `frozen` task (a fixed entity tower):
 * [entities, dim] rows aligned with the catalog, an all-zero row meaning "none for this entity".
 */
import { ErrorCodes, SimsageError } from '../errors.js'

/** Frozen vectors and which entities have one. */
export interface FrozenRows {
  vectors: Float32Array
  has: Uint8Array
}

/** Checks frozen vectors ([entities, dim], finite; all-zero rows = none). */
export function checkFrozen(v: unknown, entities: number, dim: number): FrozenRows {
  if (!(v instanceof Float32Array)) {
    throw new SimsageError(ErrorCodes.INVALID_TYPE, 'the frozen task needs options.frozen as a Float32Array')
  }
  if (v.length !== entities * dim) {
    throw new SimsageError(
      ErrorCodes.DIM_MISMATCH,
      `frozen must be ${entities} entities x dim ${dim}, got ${v.length} values`,
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
  return { vectors: v, has }
}
