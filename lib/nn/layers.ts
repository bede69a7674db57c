/**
 * Dense layers over the native nn kernels: {@link Linear}, {@link ReLU}, {@link L2Normalize},
 * {@link LayerNorm}. Each follows the {@link Module} buffer contract.
 */
import { callNative, ErrorCodes, SimsageError } from '../errors.js'
import { binding } from '../native/binding.js'
import { Parameter, Scratch, type Module } from './module.js'
import { defaultRng, type RandomSource } from '../random.js'
import { checkBool, checkF32, checkNumber } from '../validate.js'
import { checkBatchSize, checkFeatures, needForward } from './validate.js'

/** Options of {@link Linear}. */
export interface LinearOptions {
  /** Learn an additive bias (default true). */
  bias?: boolean
  /** Generator for the initial weights (default: the process-wide seeded {@link defaultRng}). */
  rng?: RandomSource
  /**
   * Compute dL/dX in backward (default true). A first layer fed with data can set false to skip
   * that GEMM (a third of the layer's training cost); its backward then returns an empty array.
   */
  inputGrad?: boolean
}

/**
 * Fully connected layer: Y = X W^T + b, with W of shape [outFeatures, inFeatures] (PyTorch's
 * layout). Initialised as torch.nn.Linear: W and b uniform in [-1/sqrt(in), 1/sqrt(in)) (kaiming
 * uniform with a = sqrt(5)).
 */
export class Linear implements Module {
  readonly inFeatures: number
  readonly outFeatures: number
  /** [outFeatures, inFeatures]. */
  readonly weight: Parameter
  /** [outFeatures], or undefined without bias. */
  readonly bias: Parameter | undefined
  /** Whether backward computes dL/dX. */
  readonly inputGrad: boolean
  #x: Float32Array | undefined
  #batch = 0
  #y = new Scratch()
  #dx = new Scratch()

  constructor(inFeatures: number, outFeatures: number, options: LinearOptions = {}) {
    this.inFeatures = checkFeatures(inFeatures, 'inFeatures')
    this.outFeatures = checkFeatures(outFeatures, 'outFeatures')
    const useBias = options.bias === undefined ? true : checkBool(options.bias, 'bias')
    this.inputGrad = options.inputGrad === undefined ? true : checkBool(options.inputGrad, 'inputGrad')
    const rng = options.rng ?? defaultRng()
    if (typeof rng?.next !== 'function') {
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, 'rng must have a next(): number method')
    }
    const bound = 1 / Math.sqrt(inFeatures)
    this.weight = new Parameter('weight', [outFeatures, inFeatures])
    for (let i = 0; i < this.weight.data.length; i++) this.weight.data[i] = -bound + 2 * bound * rng.next()
    if (useBias) {
      this.bias = new Parameter('bias', [outFeatures])
      for (let i = 0; i < outFeatures; i++) this.bias.data[i] = -bound + 2 * bound * rng.next()
    }
  }

  /** @param x batch x inFeatures. @returns batch x outFeatures. */
  forward(x: Float32Array, batch: number): Float32Array {
    checkBatchSize(batch)
    checkF32(x, 'x', batch * this.inFeatures, `batch ${batch} x inFeatures ${this.inFeatures}`)
    const y = this.#y.get(batch * this.outFeatures)
    const args = {
      x,
      w: this.weight.data,
      b: this.bias?.data,
      y,
      batch,
      inFeatures: this.inFeatures,
      outFeatures: this.outFeatures,
    }
    callNative(() => binding().nnLinearForward(args))
    this.#x = x
    this.#batch = batch
    return y
  }

  /**
   * @param dy batch x outFeatures.
   * @returns dX, batch x inFeatures (empty when inputGrad is false); adds to weight.grad and bias.grad.
   */
  backward(dy: Float32Array): Float32Array {
    needForward(this.#x !== undefined, 'Linear')
    const batch = this.#batch
    checkF32(dy, 'dy', batch * this.outFeatures, `batch ${batch} x outFeatures ${this.outFeatures}`)
    const dx = this.#dx.get(this.inputGrad ? batch * this.inFeatures : 0)
    const args = {
      x: this.#x!,
      w: this.weight.data,
      dy,
      dx: this.inputGrad ? dx : undefined,
      dw: this.weight.grad,
      db: this.bias?.grad,
      batch,
      inFeatures: this.inFeatures,
      outFeatures: this.outFeatures,
      accumulate: true,
    }
    callNative(() => binding().nnLinearBackward(args))
    return dx
  }

  parameters(): Parameter[] {
    return this.bias ? [this.weight, this.bias] : [this.weight]
  }
}

/** Rows in x for a batch (x.length must be a multiple of batch unless batch is 0). */
function featuresOf(x: Float32Array, batch: number, module: string): number {
  if (batch === 0) {
    if (x.length !== 0) throw new SimsageError(ErrorCodes.DIM_MISMATCH, `${module}: batch 0 with ${x.length} values`)
    return 0
  }
  if (x.length % batch !== 0 || x.length === 0) {
    throw new SimsageError(ErrorCodes.DIM_MISMATCH, `${module}: x length ${x.length} is not batch ${batch} x features`)
  }
  return x.length / batch
}

/** Elementwise max(x, 0); the gradient at 0 is 0. Any feature count. */
export class ReLU implements Module {
  #y = new Scratch()
  #dx = new Scratch()
  #out: Float32Array | undefined

  forward(x: Float32Array, batch: number): Float32Array {
    checkBatchSize(batch)
    checkF32(x, 'x')
    featuresOf(x, batch, 'ReLU')
    const y = this.#y.get(x.length)
    callNative(() => binding().nnReluForward({ x, y }))
    this.#out = y
    return y
  }

  backward(dy: Float32Array): Float32Array {
    needForward(this.#out !== undefined, 'ReLU')
    const y = this.#out!
    checkF32(dy, 'dy', y.length)
    const dx = this.#dx.get(y.length)
    callNative(() => binding().nnReluBackward({ y, dy, dx }))
    return dx
  }

  parameters(): Parameter[] {
    return []
  }
}

/** Options of {@link L2Normalize}. */
export interface L2NormalizeOptions {
  /** Rows shorter than eps are divided by eps instead (a zero row stays zero). Default 1e-12. */
  eps?: number
}

/** Scales each row to unit Euclidean length: y = x / max(|x|, eps) (F.normalize). */
export class L2Normalize implements Module {
  readonly eps: number
  #y = new Scratch()
  #dx = new Scratch()
  #norms = new Scratch()
  #rows = 0
  #dim = 0
  #ran = false

  constructor(options: L2NormalizeOptions = {}) {
    this.eps = options.eps === undefined ? 1e-12 : checkNumber(options.eps, 'eps', 0, Number.MAX_VALUE, true)
  }

  forward(x: Float32Array, batch: number): Float32Array {
    checkBatchSize(batch)
    checkF32(x, 'x')
    const dim = featuresOf(x, batch, 'L2Normalize')
    const y = this.#y.get(x.length)
    this.#rows = batch
    this.#dim = dim
    this.#ran = true
    if (batch === 0) return y
    const norms = this.#norms.get(batch)
    callNative(() => binding().nnL2NormalizeForward({ x, y, norms, rows: batch, dim, eps: this.eps }))
    return y
  }

  backward(dy: Float32Array): Float32Array {
    needForward(this.#ran, 'L2Normalize')
    const rows = this.#rows,
      dim = this.#dim
    checkF32(dy, 'dy', rows * dim)
    const dx = this.#dx.get(rows * dim)
    if (rows === 0) return dx
    const args = { y: this.#y.get(rows * dim), norms: this.#norms.get(rows), dy, dx, rows, dim, eps: this.eps }
    callNative(() => binding().nnL2NormalizeBackward(args))
    return dx
  }

  parameters(): Parameter[] {
    return []
  }
}

/** Options of {@link LayerNorm}. */
export interface LayerNormOptions {
  /** Added to the variance (default 1e-5, PyTorch's). */
  eps?: number
  /** Learn a per-feature scale (weight, init 1) and shift (bias, init 0). Default true. */
  elementwiseAffine?: boolean
}

/**
 * Layer normalisation over the last dimension (Ba et al. 2016): per row,
 * y = (x - mean) / sqrt(var + eps) * weight + bias, with the biased variance (as PyTorch).
 */
export class LayerNorm implements Module {
  readonly features: number
  readonly eps: number
  /** [features], init 1; undefined without elementwiseAffine. */
  readonly weight: Parameter | undefined
  /** [features], init 0; undefined without elementwiseAffine. */
  readonly bias: Parameter | undefined
  #y = new Scratch()
  #dx = new Scratch()
  #mean = new Scratch()
  #rstd = new Scratch()
  #x: Float32Array | undefined
  #rows = 0

  constructor(features: number, options: LayerNormOptions = {}) {
    this.features = checkFeatures(features, 'features')
    this.eps = options.eps === undefined ? 1e-5 : checkNumber(options.eps, 'eps', 0, Number.MAX_VALUE, true)
    const affine =
      options.elementwiseAffine === undefined ? true : checkBool(options.elementwiseAffine, 'elementwiseAffine')
    if (affine) {
      this.weight = new Parameter('weight', [features], new Float32Array(features).fill(1))
      this.bias = new Parameter('bias', [features])
    }
  }

  forward(x: Float32Array, batch: number): Float32Array {
    checkBatchSize(batch)
    checkF32(x, 'x', batch * this.features, `batch ${batch} x features ${this.features}`)
    const y = this.#y.get(x.length)
    const args = {
      x,
      gamma: this.weight?.data,
      beta: this.bias?.data,
      y,
      mean: this.#mean.get(batch),
      rstd: this.#rstd.get(batch),
      rows: batch,
      dim: this.features,
      eps: this.eps,
    }
    callNative(() => binding().nnLayerNormForward(args))
    this.#x = x
    this.#rows = batch
    return y
  }

  backward(dy: Float32Array): Float32Array {
    needForward(this.#x !== undefined, 'LayerNorm')
    const rows = this.#rows,
      dim = this.features
    checkF32(dy, 'dy', rows * dim)
    const dx = this.#dx.get(rows * dim)
    const args = {
      x: this.#x!,
      gamma: this.weight?.data,
      mean: this.#mean.get(rows),
      rstd: this.#rstd.get(rows),
      dy,
      dx,
      dgamma: this.weight?.grad,
      dbeta: this.bias?.grad,
      rows,
      dim,
      accumulate: true,
    }
    callNative(() => binding().nnLayerNormBackward(args))
    return dx
  }

  parameters(): Parameter[] {
    return this.weight && this.bias ? [this.weight, this.bias] : []
  }
}
