/**
 * A multi-layer GRU over batches of sequences ({@link GRU}), on the native temporal kernels, with
 * PyTorch's conventions (torch.nn.GRU with batch_first = true), so weights load from and check
 * against PyTorch.
 */
import { callNative, ErrorCodes, SimsageError } from '../errors.js'
import { binding } from '../native/binding.js'
import { Parameter, Scratch } from '../nn/module.js'
import { defaultRng, type RandomSource } from '../random.js'
import { checkF32, describe } from '../validate.js'
import { GRUStream } from './gru-stream.js'
import { checkSize, checkU8 } from './gru-validate.js'

/** Options of {@link GRU}. */
export interface GRUOptions {
  /** Features per input step (D >= 1). */
  inputSize: number
  /** State size (H >= 1). */
  hiddenSize: number
  /** Stacked layers (1-64, default 1); layer l > 0 takes layer l - 1's states as input. */
  layers?: number
  /** Generator for the initial weights (default: the process-wide seeded defaultRng()). */
  rng?: RandomSource
}

/** Per-call options of {@link GRU.forward}. */
export interface GRUForwardOptions {
  /** Initial state, [layers, batch, hiddenSize] (default zeros). */
  h0?: Float32Array
  /**
   * [batch * steps]: before step t of row b, every layer's state is multiplied by carry[b*steps+t]
   * (0 resets: a new user in that batch slot; exp(-gap/tau) decays between sessions; 1 is a plain
   * step). Gradients flow through the product, not into carry.
   */
  carry?: Float32Array
  /**
   * [batch * steps]: 0 skips step t of row b (padding, variable lengths): every layer's state stays
   * as it was (carry is not applied either) and the output row is that state.
   */
  mask?: Uint8Array
}

/**
 * A multi-layer gated recurrent unit (Cho et al. 2014) with PyTorch's gate equations, per layer:
 * r = σ(W_ir x + b_ir + W_hr h + b_hr), z = σ(W_iz x + b_iz + W_hz h + b_hz),
 * n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)), h' = (1 − z) ⊙ n + z ⊙ h.
 * Parameters are initialised as PyTorch's: uniform in [−1/√H, 1/√H).
 *
 * Buffer contract (as the nn modules): `forward` returns the GRU's own output buffer and keeps
 * references to its inputs (x, carry, mask) for `backward`: do not modify them until backward has
 * run. `backward` adds to every parameter's `grad`.
 */
export class GRU {
  readonly inputSize: number
  readonly hiddenSize: number
  readonly layers: number
  readonly #params: Parameter[]
  #y = new Scratch()
  #hN = new Scratch()
  #ws = new Scratch()
  #dx = new Scratch()
  #dh0 = new Scratch()
  #backwardRan = false
  #last: { x: Float32Array; batch: number; steps: number; carry?: Float32Array; mask?: Uint8Array } | undefined

  constructor(options: GRUOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `GRU options must be an object, got ${describe(options)}`)
    }
    this.inputSize = checkSize(options.inputSize, 'inputSize')
    this.hiddenSize = checkSize(options.hiddenSize, 'hiddenSize')
    this.layers = options.layers === undefined ? 1 : checkSize(options.layers, 'layers', 1, 64)
    const rng = options.rng ?? defaultRng()
    if (typeof rng?.next !== 'function') {
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, 'rng must have a next(): number method')
    }
    const H = this.hiddenSize
    const bound = 1 / Math.sqrt(H)
    this.#params = []
    for (let l = 0; l < this.layers; l++) {
      const inl = l === 0 ? this.inputSize : H
      const shapes: [string, number[]][] = [
        [`weight_ih_l${l}`, [3 * H, inl]],
        [`weight_hh_l${l}`, [3 * H, H]],
        [`bias_ih_l${l}`, [3 * H]],
        [`bias_hh_l${l}`, [3 * H]],
      ]
      for (const [name, shape] of shapes) {
        const p = new Parameter(name, shape)
        for (let i = 0; i < p.data.length; i++) p.data[i] = -bound + 2 * bound * rng.next()
        this.#params.push(p)
      }
    }
  }

  /**
   * The parameters in PyTorch's order and names: weight_ih_l0 [3H, D], weight_hh_l0 [3H, H],
   * bias_ih_l0 [3H], bias_hh_l0 [3H], weight_ih_l1 [3H, H], ... (gate blocks r, z, n).
   */
  parameters(): Parameter[] {
    return [...this.#params]
  }

  /** @internal The raw model arguments (shape + parameter arrays). */
  rawModel(): { layers: number; inputSize: number; hiddenSize: number; weights: Float32Array[] } {
    return {
      layers: this.layers,
      inputSize: this.inputSize,
      hiddenSize: this.hiddenSize,
      weights: this.#params.map((p) => p.data),
    }
  }

  /**
   * Runs the GRU over a batch of sequences.
   * @param x [batch, steps, inputSize], row-major.
   * @param batch Sequences (>= 1).
   * @param steps Steps per sequence (>= 1).
   * @returns [batch, steps, hiddenSize]: the top layer's state after every step (the GRU's own
   *   buffer, reused by the next forward with the same sizes).
   */
  forward(x: Float32Array, batch: number, steps: number, opts: GRUForwardOptions = {}): Float32Array {
    checkSize(batch, 'batch', 1, 2 ** 31)
    checkSize(steps, 'steps', 1, 2 ** 31)
    const L = this.layers,
      D = this.inputSize,
      H = this.hiddenSize
    checkF32(x, 'x', batch * steps * D, `batch ${batch} x steps ${steps} x inputSize ${D}`)
    if (typeof opts !== 'object' || opts === null) {
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `options must be an object, got ${describe(opts)}`)
    }
    const h0 = opts.h0 === undefined ? undefined : checkF32(opts.h0, 'h0', L * batch * H, 'layers x batch x hiddenSize')
    const carry = opts.carry === undefined ? undefined : checkF32(opts.carry, 'carry', batch * steps, 'batch x steps')
    const mask = opts.mask === undefined ? undefined : checkU8(opts.mask, 'mask', batch * steps)
    const y = this.#y.get(batch * steps * H)
    const hN = this.#hN.get(L * batch * H)
    const workspace = this.#ws.get(L * batch * steps * 6 * H)
    this.#last = undefined
    callNative(() => binding().gruForward({ ...this.rawModel(), batch, steps, x, h0, carry, mask, y, hN, workspace }))
    this.#last = { x, batch, steps, carry, mask }
    this.#backwardRan = false
    return y
  }

  /** [layers, batch, hiddenSize]: every layer's state after the last step of the latest forward. */
  get finalState(): Float32Array {
    this.#needForward('finalState')
    return this.#hN.get(this.layers * this.#last!.batch * this.hiddenSize)
  }

  /**
   * Backpropagation through time of the latest forward.
   * @param dy dL/dy, [batch, steps, hiddenSize].
   * @param dhN dL/d(finalState), [layers, batch, hiddenSize] (default zeros).
   * @returns dL/dx, [batch, steps, inputSize] (the GRU's own buffer). Adds to every parameter's
   *   grad; dL/dh0 is in {@link GRU.dh0}.
   */
  backward(dy: Float32Array, dhN?: Float32Array): Float32Array {
    this.#needForward('backward()')
    const { x, batch, steps, carry, mask } = this.#last!
    const L = this.layers,
      D = this.inputSize,
      H = this.hiddenSize
    checkF32(dy, 'dy', batch * steps * H, `batch ${batch} x steps ${steps} x hiddenSize ${H}`)
    if (dhN !== undefined) checkF32(dhN, 'dhN', L * batch * H, 'layers x batch x hiddenSize')
    const dx = this.#dx.get(batch * steps * D)
    const dh0 = this.#dh0.get(L * batch * H)
    const workspace = this.#ws.get(L * batch * steps * 6 * H)
    const grads = this.#params.map((p) => p.grad)
    callNative(() =>
      binding().gruBackward({ ...this.rawModel(), batch, steps, x, carry, mask, workspace, dy, dhN, dx, dh0, grads }),
    )
    this.#backwardRan = true
    return dx
  }

  /** dL/dh0 of the latest backward, [layers, batch, hiddenSize] (the GRU's own buffer). */
  get dh0(): Float32Array {
    if (!this.#backwardRan) throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, 'GRU.dh0 needs a backward() first')
    return this.#dh0.get(this.layers * this.#last!.batch * this.hiddenSize)
  }

  /**
   * A streaming view for serving: `streams` independent states, each stepped one input at a time
   * (see {@link GRUStream}). The stream snapshots the current weights.
   */
  stream(streams: number): GRUStream {
    return new GRUStream(this, streams)
  }

  #needForward(what: string): void {
    if (!this.#last) throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `GRU.${what} needs a forward() first`)
  }
}
