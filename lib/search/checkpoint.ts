/**
 * OmniSearchSage checkpoints: both towers (hash bags and MLPs) in one safetensors file, tensors
 * named `query.bag.*`, `query.mlp.*`, `entity.bag.*`, `entity.mlp.*`, with the towers' specs in the
 * metadata (`format: simsage.searchsage.v1`). Loading rebuilds the towers from the specs and
 * checks every tensor's presence and size: a file of another kind or a damaged one is
 * ERR_SIMSAGE_CORRUPT_FILE (a ranking or HierTCN checkpoint: ERR_SIMSAGE_STATE_MISMATCH).
 */
import { ErrorCodes, SimsageError } from '../errors.js'
import { checkPath } from '../io/fs.js'
import { loadSafetensors, saveSafetensors, type Tensor } from '../io/safetensors.js'
import { TextTower, type TextTowerSpec } from './towers.js'

export const SEARCHSAGE_FORMAT = 'simsage.searchsage.v1'

/** What a checkpoint holds. */
export interface SearchSageTowers {
  query: TextTower
  entity: TextTower
  /**
   * Most recent texts of a list-valued entity field the entity tower was trained with (commit logs:
   * subjects per file). The entity field names are in `entity.spec.fields`.
   */
  maxSubjects: number
  /**
   * Dimensions of the query vector the query → query task was trained on (a prefix; the query
   * tower's whole output when not given, and for a checkpoint written before the option existed).
   */
  queryPrefix?: number
}

function towerTensors(prefix: string, t: TextTower): Record<string, Tensor> {
  const out: Record<string, Tensor> = {}
  for (const [k, v] of Object.entries(t.bag.state())) out[`${prefix}.bag.${k}`] = v
  for (const [k, v] of Object.entries(t.mlp.state())) out[`${prefix}.mlp.${k}`] = v
  return out
}

/** Writes both towers (atomically). */
export async function saveSearchSage(path: string, m: SearchSageTowers): Promise<void> {
  checkPath(path)
  await saveSafetensors(
    path,
    { ...towerTensors('query', m.query), ...towerTensors('entity', m.entity) },
    {
      format: SEARCHSAGE_FORMAT,
      query: JSON.stringify(m.query.spec),
      entity: JSON.stringify(m.entity.spec),
      maxSubjects: String(m.maxSubjects),
      queryPrefix: String(m.queryPrefix ?? m.query.outputDim),
    },
  )
}

function restore(prefix: string, spec: TextTowerSpec, tensors: Record<string, Tensor>, path: string): TextTower {
  const bad = (why: string) => new SimsageError(ErrorCodes.CORRUPT_FILE, `${path}: ${prefix} tower: ${why}`)
  let t: TextTower
  try {
    t = new TextTower(spec)
  } catch (e) {
    throw bad(`bad spec in the metadata (${(e as Error).message})`)
  }
  const live = t.bag.tensors()
  for (const k of ['table', 'importance', 'gamma', 'beta'] as const) {
    const src = tensors[`${prefix}.bag.${k}`]
    if (!src || src.data.length !== live[k].length) throw bad(`tensor bag.${k} missing or of the wrong size`)
    live[k].set(src.data)
  }
  const mlp: Record<string, Tensor> = {}
  const head = `${prefix}.mlp.`
  for (const [k, v] of Object.entries(tensors)) if (k.startsWith(head)) mlp[k.slice(head.length)] = v
  try {
    t.mlp.load(mlp)
  } catch (e) {
    throw bad(`MLP tensors do not fit the spec (${(e as Error).message})`)
  }
  return t
}

/** Reads a checkpoint written by {@link saveSearchSage} (queryPrefix always set). */
export async function loadSearchSage(path: string): Promise<SearchSageTowers & { queryPrefix: number }> {
  checkPath(path)
  const { tensors, metadata } = await loadSafetensors(path)
  if (metadata.format !== SEARCHSAGE_FORMAT) {
    throw new SimsageError(
      metadata.format ? ErrorCodes.STATE_MISMATCH : ErrorCodes.CORRUPT_FILE,
      `${path} is not a searchsage checkpoint (format ${metadata.format ?? 'missing'})`,
    )
  }
  const spec = (k: string): TextTowerSpec => {
    try {
      return JSON.parse(metadata[k] ?? '') as TextTowerSpec
    } catch {
      throw new SimsageError(ErrorCodes.CORRUPT_FILE, `${path}: the ${k} tower's spec is not JSON`)
    }
  }
  const maxSubjects = Number(metadata.maxSubjects)
  if (!Number.isInteger(maxSubjects) || maxSubjects < 1) {
    throw new SimsageError(ErrorCodes.CORRUPT_FILE, `${path}: maxSubjects metadata is missing or invalid`)
  }
  const query = restore('query', spec('query'), tensors, path)
  const queryPrefix = metadata.queryPrefix === undefined ? query.outputDim : Number(metadata.queryPrefix)
  if (!Number.isInteger(queryPrefix) || queryPrefix < 1 || queryPrefix > query.outputDim) {
    throw new SimsageError(ErrorCodes.CORRUPT_FILE, `${path}: queryPrefix metadata is invalid`)
  }
  return {
    query,
    entity: restore('entity', spec('entity'), tensors, path),
    maxSubjects,
    queryPrefix,
  }
}
