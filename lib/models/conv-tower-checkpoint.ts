/**
 * Safetensors checkpoints of the convolutional ranking towers (conv-tower.ts), and loading a ranking
 * tower checkpoint of any type. Metadata: format `simsage-ranking-tower` (shared with the MLP
 * tower), `towerType` (`conv` | `multiscale`; MLP checkpoints say `mlp` or, older, nothing) and
 * `tower` (the spec as JSON). Loading a checkpoint of another tower type than asked is
 * ERR_SIMSAGE_STATE_MISMATCH; a damaged file or a spec that does not match its tensors is
 * ERR_SIMSAGE_CORRUPT_FILE.
 */
import { ErrorCodes, SimsageError } from '../errors.js'
import { checkPath } from '../io/fs.js'
import { parseSafetensorsHeader, readSafetensorsFile, saveSafetensors, tensorsOf } from '../io/safetensors.js'
import type { Module } from '../nn/module.js'
import { checkConvTowerSpec, ConvTower, type ConvTowerSpec, type TowerType } from './conv-tower.js'
import { loadTower, type TowerSpec } from './ranking-tower.js'

const FORMAT = 'simsage-ranking-tower'

/** Saves a conv tower's weights with its type, spec and any string metadata. */
export async function saveConvTower(
  path: string,
  tower: ConvTower,
  metadata: Record<string, string> = {},
): Promise<void> {
  const tensors = Object.fromEntries(
    tower.namedParameters().map(([k, p]) => [k, { shape: [...p.shape], data: p.data }]),
  )
  await saveSafetensors(path, tensors, {
    ...metadata,
    format: FORMAT,
    towerType: tower.spec.type,
    tower: JSON.stringify(tower.spec),
  })
}

/** The tower type a ranking checkpoint's metadata declares (`mlp` when it declares none). */
export function towerTypeOf(metadata: Record<string, string>): string {
  return metadata.towerType ?? 'mlp'
}

/**
 * Loads a conv tower saved by {@link saveConvTower}; with `expect`, the checkpoint must be of that
 * type. Header, spec and every tensor's shape are checked before any weight is copied.
 */
export async function loadConvTower(
  path: string,
  expect?: 'conv' | 'multiscale',
): Promise<{ model: ConvTower; spec: ConvTowerSpec; metadata: Record<string, string> }> {
  checkPath(path)
  const bytes = await readSafetensorsFile(path)
  const { entries, metadata, base } = parseSafetensorsHeader(bytes, path)
  const bad = (why: string, cause?: unknown) =>
    new SimsageError(ErrorCodes.CORRUPT_FILE, `${path} is not a valid conv tower checkpoint: ${why}`, { cause })
  if (metadata.format !== FORMAT || !metadata.tower) throw bad(`no ${FORMAT} metadata`)
  const type = towerTypeOf(metadata)
  if ((type !== 'conv' && type !== 'multiscale') || (expect && type !== expect)) {
    throw new SimsageError(
      ErrorCodes.STATE_MISMATCH,
      `${path} holds a ${type} tower, not ${expect ? `a ${expect}` : 'a conv or multiscale'} tower`,
    )
  }
  let spec: ConvTowerSpec
  try {
    spec = checkConvTowerSpec(JSON.parse(metadata.tower), 'tower')
  } catch (e) {
    throw bad((e as Error).message, e)
  }
  if (spec.type !== type) throw bad(`towerType ${type} but the spec says ${spec.type}`)
  const model = new ConvTower(spec)
  const named = model.namedParameters()
  for (const [name, p] of named) {
    const e = entries[name]
    if (!e) throw bad(`tensor ${name} is missing`)
    if (e.shape.length !== p.shape.length || e.shape.some((d, i) => d !== p.shape[i]))
      throw bad(`tensor ${name} has shape [${e.shape}], the spec needs [${p.shape}]`)
  }
  const names = new Set(named.map(([n]) => n))
  const extra = Object.keys(entries).filter((n) => !names.has(n))
  if (extra.length) throw bad(`unexpected tensors ${extra.slice(0, 5).join(', ')}`)
  const tensors = tensorsOf(bytes, entries, base)
  for (const [name, p] of named) p.data.set(tensors[name].data)
  return { model, spec, metadata }
}

/** A ranking tower of any type, loaded from its checkpoint. */
export interface LoadedTower {
  type: TowerType
  model: Module
  /** The spec: a TowerSpec for `mlp`, a ConvTowerSpec otherwise. */
  spec: TowerSpec | ConvTowerSpec
  inputDim: number
  embeddingDim: number
  metadata: Record<string, string>
}

/** Loads an MLP, conv or multiscale ranking tower checkpoint, whichever it holds. */
export async function loadAnyTower(path: string): Promise<LoadedTower> {
  checkPath(path)
  const { metadata } = parseSafetensorsHeader(await readSafetensorsFile(path), path)
  if (towerTypeOf(metadata) === 'mlp') {
    const t = await loadTower(path)
    return { type: 'mlp', ...t, inputDim: t.spec.inputDim, embeddingDim: t.spec.embeddingDim }
  }
  const t = await loadConvTower(path)
  const s = t.spec
  return { type: s.type, ...t, inputDim: s.channels * s.height * s.width, embeddingDim: s.embeddingDim }
}
