/**
 * Convolutional ranking towers for small images (sized for Fashion-MNIST's 28 x 28 x 1), trained by
 * `trainRanking` like the MLP tower of ranking-tower.ts:
 *
 * - `conv`: stages of [Conv2d 3x3 pad 1 -> GroupNorm -> ReLU -> MaxPool2d 2], then Linear to the
 *   embedding, L2-normalised.
 * - `multiscale` (Deep Ranking, Wang et al. CVPR 2014, Fig. 3, scaled to 28 x 28): the same
 *   ConvNet trunk on the full image plus two shallow paths [Conv2d 3x3 pad 1 -> ReLU -> MaxPool2d 2]
 *   on copies down-sampled by 2 and 4 (average pooling); each path's output L2-normalised, the
 *   three concatenated, Linear to the embedding, L2-normalised.
 *
 * Rows are images in NCHW order (C x H x W floats). Checkpoints (conv-tower-checkpoint.ts) record
 * the tower type and spec.
 */
import { ErrorCodes, SimsageError } from '../errors.js'
import { Conv2d } from '../nn/conv2d.js'
import { L2Normalize, Linear, ReLU } from '../nn/layers.js'
import type { Module, Parameter } from '../nn/module.js'
import { GroupNorm } from '../nn/norm.js'
import { Downsample2d, MaxPool2d } from '../nn/pool.js'
import { Sequential } from '../nn/sequential.js'
import { Random } from '../random.js'
import { describe } from '../validate.js'
import { Branches, namedParameters } from './branches.js'

/** The tower kinds of the ranking experiment. */
export type TowerType = 'mlp' | 'conv' | 'multiscale'

/** Shape of a convolutional tower. */
export interface ConvTowerSpec {
  type: 'conv' | 'multiscale'
  /** Input channels C. */
  channels: number
  /** Input height H, pixels. */
  height: number
  /** Input width W, pixels. */
  width: number
  /** Output channels of each trunk stage (each halves H and W). */
  widths: number[]
  /** GroupNorm groups per trunk stage (capped at the stage width; must divide it). */
  groups: number
  /** Output channels of each shallow path's conv (multiscale only). */
  shallowWidth: number
  embeddingDim: number
}

/** The default 28 x 28 x 1 tower of a type: trunk 16-32-64, 4 groups, shallow paths 16, 64-d. */
export function defaultConvTowerSpec(type: 'conv' | 'multiscale', embeddingDim = 64): ConvTowerSpec {
  return { type, channels: 1, height: 28, width: 28, widths: [16, 32, 64], groups: 4, shallowWidth: 16, embeddingDim }
}

/**
 * Checks a spec (ERR_SIMSAGE_INVALID_ARGUMENT naming the field): type, integer sizes in range, at
 * most 8 stages, images large enough for every stage's pooling.
 */
export function checkConvTowerSpec(spec: unknown, name = 'spec'): ConvTowerSpec {
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) {
    throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `${name} must be a conv tower spec, got ${describe(spec)}`)
  }
  const s = spec as Record<string, unknown>
  const int = (v: unknown, field: string, hi: number) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > hi) {
      throw new SimsageError(
        ErrorCodes.INVALID_ARGUMENT,
        `${name}.${field} must be an integer in [1, ${hi}], got ${describe(v)}`,
      )
    }
    return v
  }
  if (s.type !== 'conv' && s.type !== 'multiscale') {
    throw new SimsageError(
      ErrorCodes.INVALID_ARGUMENT,
      `${name}.type must be conv or multiscale, got ${describe(s.type)}`,
    )
  }
  if (!Array.isArray(s.widths) || s.widths.length < 1 || s.widths.length > 8) {
    throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `${name}.widths must list 1 to 8 stage widths`)
  }
  const out: ConvTowerSpec = {
    type: s.type,
    channels: int(s.channels, 'channels', 4096),
    height: int(s.height, 'height', 4096),
    width: int(s.width, 'width', 4096),
    widths: s.widths.map((w, i) => int(w, `widths[${i}]`, 4096)),
    groups: int(s.groups, 'groups', 4096),
    shallowWidth: int(s.shallowWidth, 'shallowWidth', 4096),
    embeddingDim: int(s.embeddingDim, 'embeddingDim', 1 << 16),
  }
  const minSide = Math.min(out.height, out.width)
  if (minSide >> out.widths.length < 1 || (out.type === 'multiscale' && minSide < 8)) {
    throw new SimsageError(
      ErrorCodes.INVALID_ARGUMENT,
      `${name}: ${out.height} x ${out.width} images are too small for ${out.widths.length} stages` +
        (out.type === 'multiscale' ? ' and a 1/4-resolution path (at least 8 x 8)' : ''),
    )
  }
  for (const w of out.widths) {
    const g = Math.min(out.groups, w)
    if (w % g !== 0) {
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `${name}: ${g} groups do not divide stage width ${w}`)
    }
  }
  return out
}

/** A Sequential with its output geometry (C x H x W). */
interface Stack {
  seq: Sequential
  c: number
  h: number
  w: number
}

/** The ConvNet trunk: conv stages on a C x H x W input (the first conv skips dL/dX when told). */
function trunk(s: ConvTowerSpec, rng: Random, inputGrad: boolean): Stack {
  const layers: Module[] = []
  let c = s.channels
  let h = s.height
  let w = s.width
  for (const [i, width] of s.widths.entries()) {
    const conv = new Conv2d({
      inChannels: c,
      outChannels: width,
      inputHeight: h,
      inputWidth: w,
      kernelSize: 3,
      padding: 1,
      rng,
      inputGrad: inputGrad || i > 0,
    })
    const pool = new MaxPool2d({ channels: width, inputHeight: h, inputWidth: w, kernelSize: 2 })
    layers.push(
      conv,
      new GroupNorm({ groups: Math.min(s.groups, width), channels: width, spatial: h * w }),
      new ReLU(),
      pool,
    )
    c = width
    h = pool.outputHeight
    w = pool.outputWidth
  }
  return { seq: new Sequential(...layers), c, h, w }
}

/** A shallow path on the input down-sampled by `factor`: conv 3x3 pad 1 -> ReLU -> max pool 2. */
function shallow(s: ConvTowerSpec, factor: number, rng: Random) {
  const input = new Downsample2d({ channels: s.channels, inputHeight: s.height, inputWidth: s.width, factor })
  const h = input.outputHeight
  const w = input.outputWidth
  const conv = new Conv2d({
    inChannels: s.channels,
    outChannels: s.shallowWidth,
    inputHeight: h,
    inputWidth: w,
    kernelSize: 3,
    padding: 1,
    rng,
    inputGrad: false,
  })
  const pool = new MaxPool2d({ channels: s.shallowWidth, inputHeight: h, inputWidth: w, kernelSize: 2 })
  const out = s.shallowWidth * pool.outputHeight * pool.outputWidth
  return { input, body: new Sequential(conv, new ReLU(), pool, new L2Normalize()), outFeatures: out }
}

/**
 * A convolutional ranking tower (see the file comment): a {@link Module} from C*H*W input rows to
 * L2-normalised embeddingDim rows, with qualified parameter names for checkpoints.
 */
export class ConvTower implements Module {
  readonly spec: ConvTowerSpec
  readonly inFeatures: number
  readonly outFeatures: number
  /** The module tree (Sequential of a trunk or a Branches, then Linear and L2Normalize). */
  readonly root: Sequential
  #params: Parameter[]

  /** Builds and initialises a tower from `seed` (the spec is checked first). */
  constructor(spec: ConvTowerSpec, seed = 1) {
    const s = checkConvTowerSpec(spec)
    const rng = new Random(seed)
    this.spec = s
    this.inFeatures = s.channels * s.height * s.width
    this.outFeatures = s.embeddingDim
    let features: Module
    let width: number
    if (s.type === 'conv') {
      const t = trunk(s, rng, false)
      features = t.seq
      width = t.c * t.h * t.w
    } else {
      const t = trunk(s, rng, false)
      const full = { body: new Sequential(t.seq, new L2Normalize()), outFeatures: t.c * t.h * t.w }
      const paths = [full, shallow(s, 2, rng), shallow(s, 4, rng)]
      features = new Branches(this.inFeatures, paths, false)
      width = paths.reduce((a, p) => a + p.outFeatures, 0)
    }
    this.root = new Sequential(features, new Linear(width, s.embeddingDim, { rng }), new L2Normalize())
    this.#params = this.root.parameters()
  }

  /** @param x batch x (C*H*W). @returns batch x embeddingDim, unit rows. */
  forward(x: Float32Array, batch: number): Float32Array {
    return this.root.forward(x, batch)
  }

  /** @returns an empty array (the tower's first convs skip dL/dX); adds parameter gradients. */
  backward(dy: Float32Array): Float32Array {
    return this.root.backward(dy)
  }

  parameters(): Parameter[] {
    return this.#params
  }

  /** Parameters with qualified names ({@link namedParameters}), the checkpoint keys. */
  namedParameters(): [string, Parameter][] {
    return namedParameters(this.root)
  }

  zeroGrad(): void {
    for (const p of this.#params) p.grad.fill(0)
  }
}
