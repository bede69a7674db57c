/**
 * The Deep Ranking tower (Wang et al., CVPR 2014): an MLP (input → hidden ReLU layers → embedding,
 * L2-normalised), its batched forward ({@link embed}) and its safetensors checkpoints. Trained by
 * `trainRanking` (lib/train/ranking.ts).
 */
import { ErrorCodes, SimsageError } from '../errors.js'
import { L2Normalize, Linear, ReLU } from '../nn/layers.js'
import type { Module } from '../nn/module.js'
import { Sequential } from '../nn/sequential.js'
import { Random } from '../random.js'
import { checkPath } from '../io/fs.js'
import { parseSafetensorsHeader, readSafetensorsFile, saveSafetensors, tensorsOf } from '../io/safetensors.js'
import { describe } from '../validate.js'

/** Shape of a ranking tower. */
export interface TowerSpec {
  inputDim: number
  /** Hidden layer widths, each followed by ReLU. */
  hidden: number[]
  embeddingDim: number
}

/** Widest layer a tower may have (the Linear layer's own limit). */
const MAX_WIDTH = 1 << 24
/** Most weights one layer may hold (2^31 floats = 8 GiB, before gradients and optimizer state). */
const MAX_LAYER_WEIGHTS = 2 ** 31

/**
 * Checks a tower spec: an object whose inputDim, hidden widths and embeddingDim are integers in
 * [1, 2^24], at most 64 hidden layers, no layer over 2^31 weights. Throws ERR_SIMSAGE_INVALID_ARGUMENT
 * naming the field. Returns the spec's Linear layers as [in, out] pairs.
 */
export function checkTowerSpec(spec: unknown, name = 'spec'): [number, number][] {
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) {
    throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `${name} must be a tower spec object, got ${describe(spec)}`)
  }
  const s = spec as Record<string, unknown>
  const width = (v: unknown, field: string): number => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > MAX_WIDTH) {
      throw new SimsageError(
        ErrorCodes.INVALID_ARGUMENT,
        `${name}.${field} must be an integer in [1, ${MAX_WIDTH}], got ${describe(v)}`,
      )
    }
    return v
  }
  if (!Array.isArray(s.hidden) || s.hidden.length > 64) {
    throw new SimsageError(
      ErrorCodes.INVALID_ARGUMENT,
      `${name}.hidden must be a list of at most 64 layer widths, got ${describe(s.hidden)}`,
    )
  }
  const widths = [
    width(s.inputDim, 'inputDim'),
    ...s.hidden.map((h, i) => width(h, `hidden[${i}]`)),
    width(s.embeddingDim, 'embeddingDim'),
  ]
  const layers: [number, number][] = []
  for (let i = 1; i < widths.length; i++) {
    if (widths[i - 1] * widths[i] > MAX_LAYER_WEIGHTS) {
      throw new SimsageError(
        ErrorCodes.INVALID_ARGUMENT,
        `${name}: layer ${i} (${widths[i - 1]} -> ${widths[i]}) would hold more than ${MAX_LAYER_WEIGHTS} weights`,
      )
    }
    layers.push([widths[i - 1], widths[i]])
  }
  return layers
}

/**
 * Builds Linear/ReLU layers ending in an L2-normalised embedding, initialised from `seed`. The spec
 * is checked first ({@link checkTowerSpec}); memory that cannot be had is ERR_SIMSAGE_OUT_OF_MEMORY.
 */
export function rankingTower(spec: TowerSpec, seed = 1): Sequential {
  const shapes = checkTowerSpec(spec)
  const rng = new Random(seed)
  const layers: Module[] = []
  try {
    for (const [i, [inF, outF]] of shapes.entries()) {
      layers.push(
        new Linear(inF, outF, { rng, inputGrad: layers.length > 0 }),
        i < shapes.length - 1 ? new ReLU() : new L2Normalize(),
      )
    }
  } catch (e) {
    if (e instanceof RangeError) {
      throw new SimsageError(ErrorCodes.OUT_OF_MEMORY, `cannot allocate a tower of shape ${JSON.stringify(spec)}`, {
        cause: e,
      })
    }
    throw e
  }
  return new Sequential(...layers)
}

/** Embeds n rows (n x inputDim) with any tower (MLP or conv) in batches; returns n x embeddingDim (a new array). */
export function embed(
  model: Module,
  x: Float32Array,
  inputDim: number,
  embeddingDim: number,
  batch = 1024,
): Float32Array {
  const n = x.length / inputDim
  const out = new Float32Array(n * embeddingDim)
  for (let i = 0; i < n; i += batch) {
    const b = Math.min(batch, n - i)
    out.set(model.forward(x.subarray(i * inputDim, (i + b) * inputDim), b), i * embeddingDim)
  }
  return out
}

/** Saves a tower's weights (safetensors) with its shape and any string metadata. */
export async function saveTower(
  path: string,
  model: Sequential,
  spec: TowerSpec,
  metadata: Record<string, string> = {},
): Promise<void> {
  const tensors = Object.fromEntries(
    Object.entries(model.state()).map(([k, v]) => [k, { shape: v.shape, data: v.data }]),
  )
  await saveSafetensors(path, tensors, {
    ...metadata,
    format: 'simsage-ranking-tower',
    towerType: 'mlp',
    tower: JSON.stringify(spec),
  })
}

/**
 * Loads a tower saved by {@link saveTower}. The file must be a regular file; its header, the tower
 * spec and every tensor's declared shape are checked against each other (and the file's size)
 * before any layer is built, so a damaged or hostile checkpoint fails fast with
 * ERR_SIMSAGE_CORRUPT_FILE; ERR_SIMSAGE_NOT_FOUND / ERR_SIMSAGE_IO for file-system errors. A
 * checkpoint of a conv or multiscale tower is ERR_SIMSAGE_STATE_MISMATCH.
 */
export async function loadTower(
  path: string,
): Promise<{ model: Sequential; spec: TowerSpec; metadata: Record<string, string> }> {
  checkPath(path)
  const bytes = await readSafetensorsFile(path)
  const { entries, metadata, base } = parseSafetensorsHeader(bytes, path)
  const bad = (why: string, cause?: unknown) =>
    new SimsageError(ErrorCodes.CORRUPT_FILE, `${path} is not a valid ranking tower checkpoint: ${why}`, { cause })
  if (metadata.format !== 'simsage-ranking-tower' || !metadata.tower) throw bad('no simsage-ranking-tower metadata')
  if (metadata.towerType !== undefined && metadata.towerType !== 'mlp') {
    throw new SimsageError(
      ErrorCodes.STATE_MISMATCH,
      `${path} holds a ${metadata.towerType} tower, not an MLP tower (load it with loadConvTower or loadAnyTower)`,
    )
  }
  let spec: TowerSpec
  let shapes: [number, number][]
  try {
    spec = JSON.parse(metadata.tower)
  } catch (e) {
    throw bad('the tower metadata is not JSON', e)
  }
  try {
    shapes = checkTowerSpec(spec, 'tower')
  } catch (e) {
    throw bad((e as Error).message, e)
  }
  // The tensors a tower of this spec holds (Sequential names: Linear layers at even indices).
  const expected = new Map<string, number[]>()
  shapes.forEach(([inF, outF], i) => {
    expected.set(`${2 * i}.weight`, [outF, inF])
    expected.set(`${2 * i}.bias`, [outF])
  })
  for (const [name, shape] of expected) {
    const e = entries[name]
    if (!e) throw bad(`tensor ${name} is missing for tower ${metadata.tower}`)
    if (e.shape.length !== shape.length || e.shape.some((d, i) => d !== shape[i]))
      throw bad(`tensor ${name} has shape [${e.shape}], the tower spec ${metadata.tower} needs [${shape}]`)
  }
  const extra = Object.keys(entries).filter((n) => !expected.has(n))
  if (extra.length) throw bad(`unexpected tensors ${extra.slice(0, 5).join(', ')}`)
  const model = rankingTower(spec)
  model.load(tensorsOf(bytes, entries, base))
  return { model, spec, metadata }
}
