/**
 * Causal dilated 1-D convolution over channels-last sequences, and the sequence-module contract
 * that {@link CausalConv1d} and {@link TCN} share.
 *
 * Layout: a batch of B sequences of T steps with C channels is one row-major Float32Array
 * [B, T, C] (batch, time, channels). Weights follow PyTorch's Conv1d ([outChannels, inChannels,
 * kernelSize]), so they can be checked against PyTorch or ONNX. Values are not scanned for NaN
 * (as the nn layers: one pass less per call); NaN propagates to the outputs.
 */
import { callNative, ErrorCodes, SimsageError } from '../errors.js'
import { binding } from '../native/binding.js'
import { Parameter, Scratch } from '../nn/module.js'
import { checkBatchSize, checkFeatures, needForward } from '../nn/validate.js'
import { defaultRng, type RandomSource } from '../random.js'
import { checkBool, checkF32 } from '../validate.js'
import { checkPositiveOption, checkRng, checkRows, checkSteps, fillUniform } from './validate.js'

/**
 * A differentiable map from [batch, steps, inputs] to [batch, steps, outputs] sequences (the
 * "sequence module" contract). `forward` keeps what `backward` needs; `backward` takes dL/dY of the
 * most recent forward, returns dL/dX and ADDS parameter gradients into each `Parameter.grad`.
 * Returned arrays are the module's own buffers, valid until its next forward / backward: copy them
 * to keep them, and do not modify a forward input until backward has run.
 */
export interface SequenceModule {
  /**
   * @param x [batch, steps, inputs], row-major.
   * @returns [batch, steps, outputs] (own buffer).
   */
  forward(x: Float32Array, batch: number, steps: number): Float32Array
  /** @param dy [batch, steps, outputs] of the last forward. @returns dX [batch, steps, inputs] (own buffer). */
  backward(dy: Float32Array): Float32Array
  /** Trainable parameters in a stable order. */
  parameters(): Parameter[]
}

/** Options of {@link CausalConv1d}. */
export interface CausalConv1dOptions {
  /** Taps K >= 1. */
  kernelSize: number
  /** Spacing d >= 1 between taps (default 1). */
  dilation?: number
  /** Learn an additive bias (default true). */
  bias?: boolean
  /** Generator for the initial weights (default: the process-wide seeded generator). */
  rng?: RandomSource
}

/** Largest kernel size accepted. */
export const MAX_KERNEL_SIZE = 4096
/** Largest dilation accepted. */
export const MAX_DILATION = 2 ** 20

/**
 * Causal dilated convolution:
 * y[b, t, o] = bias[o] + sum_k sum_c W[o, c, k] * x[b, t - (K-1-k)*d, c], terms before the sequence
 * start are zero (left padding (K-1)*d, PyTorch's Conv1d with padding (K-1)*d and the right end
 * chomped). Initialised as torch.nn.Conv1d: W and b uniform in ±1/sqrt(inChannels * K).
 * The native kernel folds the K taps into one GEMM (no im2col buffer).
 */
export class CausalConv1d implements SequenceModule {
  readonly inChannels: number
  readonly outChannels: number
  readonly kernelSize: number
  readonly dilation: number
  /** [outChannels, inChannels, kernelSize]. */
  readonly weight: Parameter
  /** [outChannels], or undefined without bias. */
  readonly bias: Parameter | undefined
  #x: Float32Array | undefined
  #batch = 0
  #steps = 0
  #y = new Scratch()
  #dx = new Scratch()

  constructor(inChannels: number, outChannels: number, options: CausalConv1dOptions) {
    this.inChannels = checkFeatures(inChannels, 'inChannels')
    this.outChannels = checkFeatures(outChannels, 'outChannels')
    if (typeof options !== 'object' || options === null) {
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, 'CausalConv1d options must be an object with kernelSize')
    }
    this.kernelSize = checkPositiveOption(options.kernelSize, 'kernelSize', MAX_KERNEL_SIZE)
    this.dilation = checkPositiveOption(options.dilation ?? 1, 'dilation', MAX_DILATION)
    const useBias = options.bias === undefined ? true : checkBool(options.bias, 'bias')
    const rng = checkRng(options.rng ?? defaultRng())
    const bound = 1 / Math.sqrt(inChannels * this.kernelSize)
    this.weight = new Parameter('weight', [outChannels, inChannels, this.kernelSize])
    fillUniform(this.weight.data, bound, rng)
    if (useBias) {
      this.bias = new Parameter('bias', [outChannels])
      fillUniform(this.bias.data, bound, rng)
    }
  }

  #shape(batch: number, steps: number) {
    return {
      batch,
      steps,
      inChannels: this.inChannels,
      outChannels: this.outChannels,
      kernelSize: this.kernelSize,
      dilation: this.dilation,
    }
  }

  /** @param x [batch, steps, inChannels]. @returns [batch, steps, outChannels] (own buffer). */
  forward(x: Float32Array, batch: number, steps: number): Float32Array {
    checkBatchSize(batch)
    checkSteps(steps)
    checkRows(batch, steps, Math.max(this.inChannels, this.outChannels))
    checkF32(x, 'x', batch * steps * this.inChannels, `batch ${batch} x steps ${steps} x inChannels ${this.inChannels}`)
    const y = this.#y.get(batch * steps * this.outChannels)
    const args = { ...this.#shape(batch, steps), x, w: this.weight.data, b: this.bias?.data, y }
    callNative(() => binding().temporalConv1dForward(args))
    this.#x = x
    this.#batch = batch
    this.#steps = steps
    return y
  }

  /**
   * @param dy [batch, steps, outChannels] of the last forward.
   * @returns dX [batch, steps, inChannels] (own buffer); adds to weight.grad and bias.grad.
   */
  backward(dy: Float32Array): Float32Array {
    needForward(this.#x !== undefined, 'CausalConv1d')
    const batch = this.#batch
    const steps = this.#steps
    checkF32(dy, 'dy', batch * steps * this.outChannels, `batch ${batch} x steps ${steps} x outChannels ${this.outChannels}`)
    const dx = this.#dx.get(batch * steps * this.inChannels)
    const args = {
      ...this.#shape(batch, steps),
      x: this.#x,
      w: this.weight.data,
      dy,
      dx,
      dw: this.weight.grad,
      db: this.bias?.grad,
      accumulate: true,
    }
    callNative(() => binding().temporalConv1dBackward(args))
    return dx
  }

  parameters(): Parameter[] {
    return this.bias ? [this.weight, this.bias] : [this.weight]
  }
}
