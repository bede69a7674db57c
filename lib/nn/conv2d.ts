/**
 * 2-D convolution over NCHW images, as a {@link Module}: each row of the batch is one image of
 * inChannels x inputHeight x inputWidth floats (channel-major, then rows, then columns), and each
 * output row is outChannels x outputHeight x outputWidth.
 *
 * The native kernel runs the convolution as one GEMM over the register tiles of the nn family
 * whose packer gathers each panel of patches straight from the images (no im2col matrix), on the
 * thread pool; the backward pass reuses it for dL/dX (the transposed convolution) and reduces dL/dW
 * over fixed chunks, so results do not depend on the thread count.
 */
import { callNative, ErrorCodes, SimsageError } from '../errors.js'
import { binding } from '../native/binding.js'
import type { RawConv2dShape } from '../native/nn-types.js'
import { defaultRng, type RandomSource } from '../random.js'
import { checkBool, checkF32, describe } from '../validate.js'
import { type Module, Parameter, Scratch } from './module.js'
import { checkBatchSize, checkFeatures, needForward } from './validate.js'

/** Options of {@link Conv2d}. Pairs are [height, width]; a single number applies to both axes. */
export interface Conv2dOptions {
  /** Channels of the input image (>= 1). */
  inChannels: number
  /** Channels of the output image (>= 1). */
  outChannels: number
  /** Input height in pixels (>= 1). */
  inputHeight: number
  /** Input width in pixels (>= 1). */
  inputWidth: number
  /** Kernel size KH x KW (>= 1). */
  kernelSize: number | [number, number]
  /** Step between output pixels, in input pixels (>= 1; default 1). */
  stride?: number | [number, number]
  /** Zeros added on each side (>= 0; default 0; symmetric, as PyTorch's). */
  padding?: number | [number, number]
  /** Spacing between kernel taps (>= 1; default 1). */
  dilation?: number | [number, number]
  /** Learn an additive bias per output channel (default true). */
  bias?: boolean
  /**
   * Compute dL/dX in backward (default true). A first layer fed with data can set false to skip
   * that pass; its backward then returns an empty array.
   */
  inputGrad?: boolean
  /** Generator for the initial weights (default: the process-wide seeded {@link defaultRng}). */
  rng?: RandomSource
}

/** Largest kernel size, stride, padding or dilation accepted per axis. */
export const MAX_CONV2D_OPTION = 4096

function pair(v: unknown, name: string, min: number, fallback?: number): [number, number] {
  const value = v === undefined ? fallback : v
  const ok = (n: unknown): n is number =>
    typeof n === 'number' && Number.isInteger(n) && n >= min && n <= MAX_CONV2D_OPTION
  if (ok(value)) return [value, value]
  if (Array.isArray(value) && value.length === 2 && ok(value[0]) && ok(value[1])) return [value[0], value[1]]
  throw new SimsageError(
    ErrorCodes.INVALID_ARGUMENT,
    `${name} must be an integer in [${min}, ${MAX_CONV2D_OPTION}] or a pair of them, got ${describe(v)}`,
  )
}

/**
 * 2-D convolution (PyTorch's Conv2d with zero padding, groups 1):
 * y[b, o, i, j] = bias[o] + sum_{c, kh, kw} W[o, c, kh, kw] * x[b, c, i*sh - ph + kh*dh, j*sw - pw + kw*dw],
 * input pixels outside the image read as zero; outputHeight = floor((H + 2 ph - dh (KH - 1) - 1) / sh) + 1,
 * likewise outputWidth. Initialised as torch.nn.Conv2d: W and b uniform in ±1/sqrt(inChannels KH KW).
 * Inputs are scanned for NaN/Infinity (ERR_SIMSAGE_NON_FINITE); a kernel larger than the padded
 * input is ERR_SIMSAGE_DIM_MISMATCH at construction.
 */
export class Conv2d implements Module {
  readonly inChannels: number
  readonly outChannels: number
  readonly inputHeight: number
  readonly inputWidth: number
  /** [KH, KW]. */
  readonly kernelSize: readonly [number, number]
  /** [sh, sw]. */
  readonly stride: readonly [number, number]
  /** [ph, pw]. */
  readonly padding: readonly [number, number]
  /** [dh, dw]. */
  readonly dilation: readonly [number, number]
  readonly outputHeight: number
  readonly outputWidth: number
  /** inChannels x inputHeight x inputWidth. */
  readonly inFeatures: number
  /** outChannels x outputHeight x outputWidth. */
  readonly outFeatures: number
  /** [outChannels, inChannels, KH, KW] (PyTorch layout). */
  readonly weight: Parameter
  /** [outChannels], or undefined without bias. */
  readonly bias: Parameter | undefined
  /** Whether backward computes dL/dX. */
  readonly inputGrad: boolean
  #x: Float32Array | undefined
  #batch = 0
  #y = new Scratch()
  #dx = new Scratch()

  constructor(options: Conv2dOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, 'Conv2d options must be an object')
    }
    this.inChannels = checkFeatures(options.inChannels, 'inChannels')
    this.outChannels = checkFeatures(options.outChannels, 'outChannels')
    this.inputHeight = checkFeatures(options.inputHeight, 'inputHeight')
    this.inputWidth = checkFeatures(options.inputWidth, 'inputWidth')
    this.kernelSize = Object.freeze(pair(options.kernelSize, 'kernelSize', 1))
    this.stride = Object.freeze(pair(options.stride, 'stride', 1, 1))
    this.padding = Object.freeze(pair(options.padding, 'padding', 0, 0))
    this.dilation = Object.freeze(pair(options.dilation, 'dilation', 1, 1))
    const useBias = options.bias === undefined ? true : checkBool(options.bias, 'bias')
    this.inputGrad = options.inputGrad === undefined ? true : checkBool(options.inputGrad, 'inputGrad')
    const rng = options.rng ?? defaultRng()
    if (typeof rng?.next !== 'function') {
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, 'rng must have a next(): number method')
    }
    const [kh, kw] = this.kernelSize
    const effH = this.dilation[0] * (kh - 1) + 1
    const effW = this.dilation[1] * (kw - 1) + 1
    const paddedH = this.inputHeight + 2 * this.padding[0]
    const paddedW = this.inputWidth + 2 * this.padding[1]
    if (effH > paddedH || effW > paddedW) {
      throw new SimsageError(
        ErrorCodes.DIM_MISMATCH,
        `Conv2d: kernel ${effH} x ${effW} (with dilation) is larger than the padded input ${paddedH} x ${paddedW}`,
      )
    }
    this.outputHeight = Math.floor((paddedH - effH) / this.stride[0]) + 1
    this.outputWidth = Math.floor((paddedW - effW) / this.stride[1]) + 1
    this.inFeatures = this.inChannels * this.inputHeight * this.inputWidth
    this.outFeatures = this.outChannels * this.outputHeight * this.outputWidth
    if (this.inFeatures > 2 ** 31 || this.outFeatures > 2 ** 31) {
      throw new SimsageError(ErrorCodes.DIM_MISMATCH, `Conv2d: image of ${this.inFeatures} floats is too large`)
    }
    const fanIn = this.inChannels * kh * kw
    const bound = 1 / Math.sqrt(fanIn)
    this.weight = new Parameter('weight', [this.outChannels, this.inChannels, kh, kw])
    for (let i = 0; i < this.weight.data.length; i++) this.weight.data[i] = -bound + 2 * bound * rng.next()
    if (useBias) {
      this.bias = new Parameter('bias', [this.outChannels])
      for (let i = 0; i < this.outChannels; i++) this.bias.data[i] = -bound + 2 * bound * rng.next()
    }
  }

  #shape(batch: number): RawConv2dShape {
    return {
      batch,
      inChannels: this.inChannels,
      outChannels: this.outChannels,
      height: this.inputHeight,
      width: this.inputWidth,
      kernelH: this.kernelSize[0],
      kernelW: this.kernelSize[1],
      strideH: this.stride[0],
      strideW: this.stride[1],
      padH: this.padding[0],
      padW: this.padding[1],
      dilationH: this.dilation[0],
      dilationW: this.dilation[1],
    }
  }

  /**
   * @param x batch x inFeatures: batch NCHW images, row-major.
   * @returns batch x outFeatures (own buffer): batch NCHW output images.
   */
  forward(x: Float32Array, batch: number): Float32Array {
    checkBatchSize(batch)
    checkF32(
      x,
      'x',
      batch * this.inFeatures,
      `batch ${batch} x ${this.inChannels} x ${this.inputHeight} x ${this.inputWidth}`,
    )
    const y = this.#y.get(batch * this.outFeatures)
    const args = { ...this.#shape(batch), x, w: this.weight.data, b: this.bias?.data, y }
    callNative(() => binding().nnConv2dForward(args))
    this.#x = x
    this.#batch = batch
    return y
  }

  /**
   * @param dy dL/dY of the last forward, batch x outFeatures.
   * @returns dL/dX, batch x inFeatures (own buffer; empty when inputGrad is false); adds to
   * weight.grad and bias.grad.
   */
  backward(dy: Float32Array): Float32Array {
    needForward(this.#x !== undefined, 'Conv2d')
    const batch = this.#batch
    checkF32(
      dy,
      'dy',
      batch * this.outFeatures,
      `batch ${batch} x ${this.outChannels} x ${this.outputHeight} x ${this.outputWidth}`,
    )
    const dx = this.#dx.get(this.inputGrad ? batch * this.inFeatures : 0)
    const args = {
      ...this.#shape(batch),
      x: this.#x as Float32Array,
      w: this.weight.data,
      dy,
      dx: this.inputGrad ? dx : undefined,
      dw: this.weight.grad,
      db: this.bias?.grad,
      accumulate: true,
    }
    callNative(() => binding().nnConv2dBackward(args))
    return dx
  }

  parameters(): Parameter[] {
    return this.bias ? [this.weight, this.bias] : [this.weight]
  }
}
