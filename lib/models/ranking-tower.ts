/**
 * The Deep Ranking tower (Wang et al., CVPR 2014): an MLP (input → hidden ReLU layers → embedding,
 * L2-normalised), its batched forward ({@link embed}) and its safetensors checkpoints. Trained by
 * `trainRanking` (lib/train/ranking.ts).
 */
import { ErrorCodes, SimsageError } from '../errors.js'
import { L2Normalize, Linear, ReLU } from '../nn/layers.js'
import { Sequential } from '../nn/sequential.js'
import { Random } from '../random.js'
import { loadSafetensors, saveSafetensors } from '../io/safetensors.js'

/** Shape of a ranking tower. */
export interface TowerSpec {
  inputDim: number
  /** Hidden layer widths, each followed by ReLU. */
  hidden: number[]
  embeddingDim: number
}

/** Builds Linear/ReLU layers ending in an L2-normalised embedding, initialised from `seed`. */
export function rankingTower(spec: TowerSpec, seed = 1): Sequential {
  const rng = new Random(seed)
  const layers = []
  let width = spec.inputDim
  for (const h of spec.hidden) {
    layers.push(new Linear(width, h, { rng, inputGrad: layers.length > 0 }), new ReLU())
    width = h
  }
  layers.push(new Linear(width, spec.embeddingDim, { rng, inputGrad: layers.length > 0 }), new L2Normalize())
  return new Sequential(...layers)
}

/** Embeds n rows (n x inputDim) in batches; returns n x embeddingDim (a new array). */
export function embed(
  model: Sequential,
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
  await saveSafetensors(path, tensors, { ...metadata, format: 'simsage-ranking-tower', tower: JSON.stringify(spec) })
}

/** Loads a tower saved by {@link saveTower}. */
export async function loadTower(
  path: string,
): Promise<{ model: Sequential; spec: TowerSpec; metadata: Record<string, string> }> {
  const { tensors, metadata } = await loadSafetensors(path)
  if (metadata.format !== 'simsage-ranking-tower' || !metadata.tower) {
    throw new SimsageError(ErrorCodes.CORRUPT_FILE, `${path} is not a simsage ranking tower checkpoint`)
  }
  let spec: TowerSpec
  try {
    spec = JSON.parse(metadata.tower)
  } catch {
    throw new SimsageError(ErrorCodes.CORRUPT_FILE, `${path}: tower metadata is not JSON`)
  }
  const model = rankingTower(spec)
  model.load(tensors)
  return { model, spec, metadata }
}
