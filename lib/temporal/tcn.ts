/**
 * Temporal convolutional network (Bai, Kolter & Koltun 2018, the TCN HierTCN uses): a stack of
 * residual temporal blocks over channels-last sequences [batch, steps, channels].
 */
import { callNative, ErrorCodes, SimsageError } from '../errors.js'
import { binding } from '../native/binding.js'
import { Parameter, Scratch } from '../nn/module.js'
import { checkBatchSize, checkFeatures, needForward } from '../nn/validate.js'
import { defaultRng, type RandomSource } from '../random.js'
import { checkBool, checkF32, checkNumber, describe } from '../validate.js'
import { MAX_DILATION, MAX_KERNEL_SIZE, type SequenceModule } from './conv.js'
import { TCNStream } from './tcn-stream.js'
import { checkPositiveOption, checkRng, checkRows, checkSteps, fillUniform } from './validate.js'

/** Options of {@link TCN}. */
export interface TCNOptions {
  /** Channels of the input sequence. */
  inputSize: number
  /** Output channels of each block (one block per entry). */
  channels: number[]
  /** Taps K >= 1 of every conv. */
  kernelSize: number
  /** Dilation of each block (same length as channels), e.g. [1, 2, 4, 8]. */
  dilations: number[]
  /** Dropout probability after each conv's ReLU, in [0, 1) (default 0). Active while `training`. */
  dropout?: number
  /** Generator for the initial weights and the dropout seeds (default: the process-wide one). */
  rng?: RandomSource
}

/** One block's parameters and saved activations. */
interface Block {
  readonly inChannels: number
  readonly outChannels: number
  readonly dilation: number
  readonly w1: Parameter
  readonly b1: Parameter
  readonly w2: Parameter
  readonly b2: Parameter
  readonly wd: Parameter | undefined
  readonly bd: Parameter | undefined
  readonly a1: Scratch
  readonly a2: Scratch
  readonly y: Scratch
  readonly dx: Scratch
  x: Float32Array | undefined
}

/**
 * A TCN: block i maps channels[i-1] (inputSize for the first) to channels[i] with
 *   a1 = dropout(relu(conv1(x))), a2 = dropout(relu(conv2(a1))), y = relu(a2 + res(x)),
 * both convs causal with kernel size K and dilation dilations[i]; res is the identity when the
 * channel counts match and a 1x1 conv ("downsample") otherwise. No weight norm (Bai et al. use it;
 * it is a reparametrisation that does not change what the network can represent).
 *
 * Follows the {@link SequenceModule} contract: forward(x, batch, steps) -> [batch, steps,
 * outputSize] (own buffer), backward(dy) -> dX [batch, steps, inputSize], adding into each
 * Parameter.grad. Parameter names are stable: "blocks.{i}.conv1.weight" [out, in, K],
 * "blocks.{i}.conv1.bias", "blocks.{i}.conv2.weight", "blocks.{i}.conv2.bias", and for a
 * projection "blocks.{i}.downsample.weight" [out, in, 1], "blocks.{i}.downsample.bias".
 * Initialised as torch.nn.Conv1d (uniform ±1/sqrt(fan_in)). Values are not scanned for NaN.
 */
export class TCN implements SequenceModule {
  readonly inputSize: number
  readonly outputSize: number
  readonly kernelSize: number
  readonly channels: readonly number[]
  readonly dilations: readonly number[]
  readonly dropout: number
  /** Steps of input that one output depends on: 1 + sum over blocks of 2 (K - 1) d. */
  readonly receptiveField: number
  /** Dropout on (default true); set false for evaluation. Streaming always runs without dropout. */
  training = true
  readonly #blocks: Block[] = []
  #seedBase: number
  #calls = 0
  #batch = 0
  #steps = 0
  #ran = false

  constructor(options: TCNOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, 'TCN options must be an object')
    }
    this.inputSize = checkFeatures(options.inputSize, 'inputSize')
    this.kernelSize = checkPositiveOption(options.kernelSize, 'kernelSize', MAX_KERNEL_SIZE)
    const { channels, dilations } = options
    if (!Array.isArray(channels) || channels.length === 0) {
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `channels must be a non-empty array, got ${describe(channels)}`)
    }
    if (!Array.isArray(dilations) || dilations.length !== channels.length) {
      throw new SimsageError(
        ErrorCodes.INVALID_ARGUMENT,
        `dilations must be an array of ${channels.length} (one per block), got ${describe(dilations)}`,
      )
    }
    this.channels = Object.freeze(channels.map((c, i) => checkFeatures(c, `channels[${i}]`)))
    this.dilations = Object.freeze(dilations.map((d, i) => checkPositiveOption(d, `dilations[${i}]`, MAX_DILATION)))
    this.dropout = checkNumber(options.dropout ?? 0, 'dropout', 0, 1, false, true)
    const rng = checkRng(options.rng ?? defaultRng())
    const K = this.kernelSize
    let inC = this.inputSize
    let field = 1
    for (let i = 0; i < this.channels.length; i++) {
      const out = this.channels[i]!
      const d = this.dilations[i]!
      const p = `blocks.${i}.`
      const w1 = new Parameter(`${p}conv1.weight`, [out, inC, K])
      const b1 = new Parameter(`${p}conv1.bias`, [out])
      fillUniform(w1.data, 1 / Math.sqrt(inC * K), rng)
      fillUniform(b1.data, 1 / Math.sqrt(inC * K), rng)
      const w2 = new Parameter(`${p}conv2.weight`, [out, out, K])
      const b2 = new Parameter(`${p}conv2.bias`, [out])
      fillUniform(w2.data, 1 / Math.sqrt(out * K), rng)
      fillUniform(b2.data, 1 / Math.sqrt(out * K), rng)
      let wd: Parameter | undefined
      let bd: Parameter | undefined
      if (inC !== out) {
        wd = new Parameter(`${p}downsample.weight`, [out, inC, 1])
        bd = new Parameter(`${p}downsample.bias`, [out])
        fillUniform(wd.data, 1 / Math.sqrt(inC), rng)
        fillUniform(bd.data, 1 / Math.sqrt(inC), rng)
      }
      this.#blocks.push({
        inChannels: inC,
        outChannels: out,
        dilation: d,
        w1,
        b1,
        w2,
        b2,
        wd,
        bd,
        a1: new Scratch(),
        a2: new Scratch(),
        y: new Scratch(),
        dx: new Scratch(),
        x: undefined,
      })
      field += 2 * (K - 1) * d
      inC = out
    }
    this.outputSize = inC
    this.receptiveField = field
    this.#seedBase = Math.floor(rng.next() * 2 ** 40)
  }

  #shape(b: Block, batch: number, steps: number) {
    return {
      batch,
      steps,
      inChannels: b.inChannels,
      outChannels: b.outChannels,
      kernelSize: this.kernelSize,
      dilation: b.dilation,
    }
  }

  /**
   * @param x [batch, steps, inputSize].
   * @returns [batch, steps, outputSize] (own buffer, valid until the next forward).
   */
  forward(x: Float32Array, batch: number, steps: number): Float32Array {
    checkBatchSize(batch)
    checkSteps(steps)
    checkBool(this.training, 'training')
    checkRows(batch, steps, Math.max(this.inputSize, ...this.channels))
    checkF32(x, 'x', batch * steps * this.inputSize, `batch ${batch} x steps ${steps} x inputSize ${this.inputSize}`)
    const seed = (this.#seedBase + this.#calls++ * this.#blocks.length) % 2 ** 50
    let input = x
    for (let i = 0; i < this.#blocks.length; i++) {
      const b = this.#blocks[i]!
      const n = batch * steps * b.outChannels
      const args = {
        ...this.#shape(b, batch, steps),
        x: input,
        w1: b.w1.data,
        b1: b.b1.data,
        w2: b.w2.data,
        b2: b.b2.data,
        wd: b.wd?.data,
        bd: b.bd?.data,
        a1: b.a1.get(n),
        a2: b.a2.get(n),
        y: b.y.get(n),
        dropout: this.dropout,
        training: this.training,
        seed: seed + i,
      }
      callNative(() => binding().temporalBlockForward(args))
      b.x = input
      input = args.y
    }
    this.#batch = batch
    this.#steps = steps
    this.#ran = true
    return input
  }

  /**
   * @param dy [batch, steps, outputSize] of the last forward.
   * @returns dX [batch, steps, inputSize] (own buffer); adds into every parameter's grad.
   */
  backward(dy: Float32Array): Float32Array {
    needForward(this.#ran, 'TCN')
    const batch = this.#batch
    const steps = this.#steps
    checkF32(dy, 'dy', batch * steps * this.outputSize, `batch ${batch} x steps ${steps} x outputSize ${this.outputSize}`)
    let grad = dy
    for (let i = this.#blocks.length - 1; i >= 0; i--) {
      const b = this.#blocks[i]!
      const n = batch * steps * b.outChannels
      const dx = b.dx.get(batch * steps * b.inChannels)
      const args = {
        ...this.#shape(b, batch, steps),
        x: b.x!,
        w1: b.w1.data,
        w2: b.w2.data,
        wd: b.wd?.data,
        a1: b.a1.get(n),
        a2: b.a2.get(n),
        y: b.y.get(n),
        dy: grad,
        dx,
        dw1: b.w1.grad,
        db1: b.b1.grad,
        dw2: b.w2.grad,
        db2: b.b2.grad,
        dwd: b.wd?.grad,
        dbd: b.bd?.grad,
        dropout: this.dropout,
        training: this.training,
        accumulate: true,
      }
      callNative(() => binding().temporalBlockBackward(args))
      grad = dx
    }
    return grad
  }

  /** Every block's conv1, conv2 and downsample weight and bias, in block order. */
  parameters(): Parameter[] {
    const out: Parameter[] = []
    for (const b of this.#blocks) {
      out.push(b.w1, b.b1, b.w2, b.b2)
      if (b.wd && b.bd) out.push(b.wd, b.bd)
    }
    return out
  }

  /**
   * An incremental evaluator for `streams` independent sequences (eval mode, no dropout). It
   * snapshots the current weights: later training does not change it (create a new one to pick
   * up new weights).
   */
  stream(streams: number): TCNStream {
    const blocks = this.#blocks.map((b) => ({
      inChannels: b.inChannels,
      outChannels: b.outChannels,
      dilation: b.dilation,
      w1: b.w1.data,
      b1: b.b1.data,
      w2: b.w2.data,
      b2: b.b2.data,
      wd: b.wd?.data,
      bd: b.bd?.data,
    }))
    return new TCNStream(this.kernelSize, blocks, streams)
  }
}
