/**
 * 2-D pooling over NCHW images (native part `spatial`, native/nn/nn.h): {@link MaxPool2d},
 * {@link AvgPool2d}, {@link Downsample2d} (the multiscale tower's down-sampling) and
 * {@link GlobalAvgPool2d}. Each follows the {@link Module} buffer contract: a row is one image,
 * C x H x W floats in NCHW order; the output row is C x OH x OW with
 * OH = floor((H + 2 padding - kernel) / stride) + 1 (PyTorch, ceil_mode false), likewise OW.
 */
import { callNative, ErrorCodes, SimsageError } from '../errors.js'
import { binding } from '../native/binding.js'
import type { RawPool2dShape } from '../native/nn-types.js'
import { describe, checkF32 } from '../validate.js'
import { type Module, type Parameter, Scratch } from './module.js'
import { checkBatchSize, checkFeatures, needForward } from './validate.js'

/** Options of the pooling modules. Sizes are a number (both axes) or [height, width]. */
export interface Pool2dOptions {
  /** C. */
  channels: number
  /** H, pixels. */
  inputHeight: number
  /** W, pixels. */
  inputWidth: number
  /** Window size. */
  kernelSize: number | [number, number]
  /** Step between windows (default: the kernel size). */
  stride?: number | [number, number]
  /** Implicit padding on each side, at most kernel / 2 per axis (default 0). */
  padding?: number | [number, number]
}

function pair(v: unknown, name: string, min: number): [number, number] {
  const ok = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n >= min && n <= 1 << 24
  if (ok(v)) return [v, v]
  if (Array.isArray(v) && v.length === 2 && ok(v[0]) && ok(v[1])) return [v[0], v[1]]
  throw new SimsageError(
    ErrorCodes.INVALID_ARGUMENT,
    `${name} must be an integer >= ${min} or a pair of them, got ${describe(v)}`,
  )
}

/**
 * Shared geometry and buffers of the pooling modules (checks the options: a window larger than
 * the padded input is ERR_SIMSAGE_DIM_MISMATCH, bad sizes ERR_SIMSAGE_INVALID_ARGUMENT).
 */
export abstract class Pool2dBase implements Module {
  readonly channels: number
  readonly inputHeight: number
  readonly inputWidth: number
  /** [height, width]. */
  readonly kernelSize: readonly [number, number]
  readonly stride: readonly [number, number]
  readonly padding: readonly [number, number]
  readonly outputHeight: number
  readonly outputWidth: number
  /** C * H * W. */
  readonly inFeatures: number
  /** C * OH * OW. */
  readonly outFeatures: number
  protected readonly y = new Scratch()
  protected readonly dx = new Scratch()
  protected batch = -1

  constructor(o: Pool2dOptions, module: string) {
    if (o === null || typeof o !== 'object') {
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `${module} options must be an object, got ${describe(o)}`)
    }
    this.channels = checkFeatures(o.channels, 'channels')
    this.inputHeight = checkFeatures(o.inputHeight, 'inputHeight')
    this.inputWidth = checkFeatures(o.inputWidth, 'inputWidth')
    const k = pair(o.kernelSize, 'kernelSize', 1)
    const s = o.stride === undefined ? k : pair(o.stride, 'stride', 1)
    const p = o.padding === undefined ? ([0, 0] as [number, number]) : pair(o.padding, 'padding', 0)
    if (2 * p[0] > k[0] || 2 * p[1] > k[1]) {
      throw new SimsageError(
        ErrorCodes.INVALID_ARGUMENT,
        `${module}: padding [${p}] must be at most half the kernel [${k}] per axis`,
      )
    }
    if (k[0] > this.inputHeight + 2 * p[0] || k[1] > this.inputWidth + 2 * p[1]) {
      throw new SimsageError(
        ErrorCodes.DIM_MISMATCH,
        `${module}: kernel [${k}] is larger than the padded input ` +
          `${this.inputHeight + 2 * p[0]} x ${this.inputWidth + 2 * p[1]}`,
      )
    }
    this.kernelSize = Object.freeze(k)
    this.stride = Object.freeze(s)
    this.padding = Object.freeze(p)
    this.outputHeight = Math.floor((this.inputHeight + 2 * p[0] - k[0]) / s[0]) + 1
    this.outputWidth = Math.floor((this.inputWidth + 2 * p[1] - k[1]) / s[1]) + 1
    this.inFeatures = this.channels * this.inputHeight * this.inputWidth
    this.outFeatures = this.channels * this.outputHeight * this.outputWidth
  }

  protected shape(batch: number): RawPool2dShape {
    return {
      batch,
      channels: this.channels,
      height: this.inputHeight,
      width: this.inputWidth,
      kernelH: this.kernelSize[0],
      kernelW: this.kernelSize[1],
      strideH: this.stride[0],
      strideW: this.stride[1],
      padH: this.padding[0],
      padW: this.padding[1],
    }
  }

  protected checkInput(x: Float32Array, batch: number): void {
    checkBatchSize(batch)
    checkF32(x, 'x', batch * this.inFeatures, `batch ${batch} x C*H*W ${this.inFeatures}`)
  }

  protected checkGrad(dy: Float32Array, module: string): number {
    needForward(this.batch >= 0, module)
    checkF32(dy, 'dy', this.batch * this.outFeatures, `batch ${this.batch} x C*OH*OW ${this.outFeatures}`)
    return this.batch
  }

  abstract forward(x: Float32Array, batch: number): Float32Array
  abstract backward(dy: Float32Array): Float32Array

  parameters(): Parameter[] {
    return []
  }
}

/**
 * Max pooling (torch.nn.MaxPool2d, dilation 1): padding never wins (-inf); ties go to the first
 * pixel of the window in row-major order. The argmax is kept for backward, which routes dL/dY to
 * the winners (adding where windows overlap). NaN / Inf in x: ERR_SIMSAGE_NON_FINITE.
 */
export class MaxPool2d extends Pool2dBase {
  #argmax = new Int32Array(0)

  constructor(options: Pool2dOptions) {
    super(options, 'MaxPool2d')
  }

  /** @param x batch x (C*H*W). @returns batch x (C*OH*OW). */
  forward(x: Float32Array, batch: number): Float32Array {
    this.checkInput(x, batch)
    const y = this.y.get(batch * this.outFeatures)
    if (this.#argmax.length !== y.length) this.#argmax = new Int32Array(y.length)
    const argmax = this.#argmax
    callNative(() => binding().nnMaxPool2dForward({ ...this.shape(batch), x, y, argmax }))
    this.batch = batch
    return y
  }

  backward(dy: Float32Array): Float32Array {
    const batch = this.checkGrad(dy, 'MaxPool2d')
    const dx = this.dx.get(batch * this.inFeatures)
    callNative(() => binding().nnMaxPool2dBackward({ ...this.shape(batch), argmax: this.#argmax, dy, dx }))
    return dx
  }
}

/**
 * Average pooling (torch.nn.AvgPool2d with count_include_pad = false): each output is the mean
 * of its window's real pixels. NaN / Inf in x: ERR_SIMSAGE_NON_FINITE.
 */
export class AvgPool2d extends Pool2dBase {
  constructor(options: Pool2dOptions, module = 'AvgPool2d') {
    super(options, module)
  }

  /** @param x batch x (C*H*W). @returns batch x (C*OH*OW). */
  forward(x: Float32Array, batch: number): Float32Array {
    this.checkInput(x, batch)
    const y = this.y.get(batch * this.outFeatures)
    callNative(() => binding().nnAvgPool2dForward({ ...this.shape(batch), x, y }))
    this.batch = batch
    return y
  }

  backward(dy: Float32Array): Float32Array {
    const batch = this.checkGrad(dy, 'AvgPool2d')
    const dx = this.dx.get(batch * this.inFeatures)
    callNative(() => binding().nnAvgPool2dBackward({ ...this.shape(batch), dy, dx }))
    return dx
  }
}

/** Options of {@link Downsample2d}. */
export interface Downsample2dOptions {
  channels: number
  inputHeight: number
  inputWidth: number
  /** Down-sampling factor f >= 1: output H / f x W / f (floored). */
  factor: number
}

/**
 * Down-sampling by an integer factor f: average pooling with kernel = stride = f, no padding
 * (the multiscale tower's 1/2 and 1/4 resolution copies, Wang et al. 2014).
 */
export class Downsample2d extends AvgPool2d {
  readonly factor: number

  constructor(o: Downsample2dOptions) {
    const f = o?.factor
    if (typeof f !== 'number' || !Number.isInteger(f) || f < 1) {
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `factor must be an integer >= 1, got ${describe(f)}`)
    }
    super({ channels: o.channels, inputHeight: o.inputHeight, inputWidth: o.inputWidth, kernelSize: f }, 'Downsample2d')
    this.factor = f
  }
}

/** Options of {@link GlobalAvgPool2d}. */
export interface GlobalAvgPool2dOptions {
  channels: number
  inputHeight: number
  inputWidth: number
}

/** Global average pooling: C x H x W -> C, the mean of each channel's plane. */
export class GlobalAvgPool2d extends AvgPool2d {
  constructor(o: GlobalAvgPool2dOptions) {
    super(
      {
        channels: o?.channels,
        inputHeight: o?.inputHeight,
        inputWidth: o?.inputWidth,
        kernelSize: [o?.inputHeight, o?.inputWidth],
      },
      'GlobalAvgPool2d',
    )
  }
}
