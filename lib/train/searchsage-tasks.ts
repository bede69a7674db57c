/**
 * The tasks of OmniSearchSage training (lib/train/searchsage.ts): their weights, and the split of
 * the query → entity pairs into one task over every entity or one task per entity type.
 */
import { ErrorCodes, SimsageError } from '../errors.js'
import type { EntityCatalog } from '../data/search-data.js'

/** Task weights of {@link SearchSageOptions.tasks}. */
export interface SearchSageTasks {
  entity?: number | Readonly<Record<string, number>>
  query?: number
  frozen?: number
}

/** The query → entity tasks' weight: `tasks.entity`, or the sum of its per-type weights. */
export function entityWeight(tasks: SearchSageTasks): number {
  const e = tasks.entity
  return typeof e === 'number' ? e : Object.values(e ?? {}).reduce((a, w) => a + w, 0)
}

/** Whether `tasks` trains a query → entity task (a weight > 0, or a type's). */
export function hasEntityTask(tasks: SearchSageTasks): boolean {
  return entityWeight(tasks) > 0
}

/** A query → entity task: its training pairs (indices into train.entity) and its negatives' pool. */
export interface EntityTask {
  name: string
  weight: number
  /** The entity type of a per-type task. */
  type?: string
  pairs: Int32Array
  /** Entities random negatives are drawn from (undefined: all). */
  pool?: Int32Array
}

/**
 * The query → entity tasks of `weight` (see {@link SearchSageOptions.tasks}): none for 0 or
 * absent, one over every entity for a number, one per type with weight > 0 for a record.
 */
export function entityTaskSplit(
  weight: SearchSageTasks['entity'],
  catalog: EntityCatalog,
  pairEntity: Int32Array,
): EntityTask[] {
  const bad = (why: string) => new SimsageError(ErrorCodes.INVALID_ARGUMENT, why)
  if (weight === undefined || typeof weight === 'number') {
    const w = weight ?? 0
    if (!(w >= 0 && w < Number.POSITIVE_INFINITY)) throw bad(`the entity task's weight must be >= 0, got ${w}`)
    return w > 0 ? [{ name: 'entity', weight: w, pairs: Int32Array.from(pairEntity.keys()) }] : []
  }
  if (weight === null || typeof weight !== 'object' || Array.isArray(weight)) {
    throw bad('tasks.entity must be a weight or an object of weights per entity type')
  }
  const types = catalog.types
  const known = [...new Set(types ?? [])].filter((x) => x !== '')
  const out: EntityTask[] = []
  for (const [type, w] of Object.entries(weight)) {
    if (!types || !known.includes(type)) {
      throw bad(`no entity type "${type}" (the entities' types: ${known.map((x) => `"${x}"`).join(', ') || 'none'})`)
    }
    if (!(typeof w === 'number' && w >= 0 && w < Number.POSITIVE_INFINITY)) {
      throw bad(`the weight of entity type "${type}" must be a number >= 0, got ${w}`)
    }
    if (w === 0) continue
    const pairs = Int32Array.from(pairEntity.keys()).filter((i) => types[pairEntity[i]] === type)
    if (pairs.length === 0) throw bad(`entity type "${type}" has no training pairs`)
    const pool = Int32Array.from(types.keys()).filter((e) => types[e] === type)
    out.push({ name: type, weight: w, type, pairs, pool })
  }
  return out
}
