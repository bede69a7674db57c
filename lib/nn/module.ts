/**
 * The module contract of simsage's dense layers, and the trainable parameter type.
 *
 * A module maps a batch of rows to a batch of rows (row-major Float32Array, `batch` rows).
 * `forward` keeps what `backward` needs (its input or output); `backward` takes dL/dY of the most
 * recent forward, returns dL/dX and ADDS parameter gradients into each parameter's `grad` (call
 * `zeroGrad` between steps). The arrays returned by forward/backward are the module's own buffers,
 * reused by the next call with the same batch size: copy them to keep them, and do not modify a
 * forward input until backward has run.
 */
import { ErrorCodes, SimsageError } from '../errors.js'

/** A trainable tensor: values and the gradient accumulated by backward passes, same shape. */
export class Parameter {
  /** Name inside its module ("weight", "bias"); containers prefix it ("0.weight"). */
  readonly name: string
  /** Dimensions, row-major (a linear weight is [outFeatures, inFeatures]). */
  readonly shape: readonly number[]
  /** Values, length = product of shape. */
  readonly data: Float32Array
  /** dL/d(data), same length; backward passes add to it. */
  readonly grad: Float32Array

  constructor(name: string, shape: readonly number[], data?: Float32Array) {
    const size = shape.reduce((a, b) => a * b, 1)
    if (data && data.length !== size) {
      throw new SimsageError(ErrorCodes.DIM_MISMATCH, `parameter ${name}: data length ${data.length}, shape [${shape}]`)
    }
    this.name = name
    this.shape = Object.freeze([...shape])
    this.data = data ?? new Float32Array(size)
    this.grad = new Float32Array(size)
  }

  /** Number of elements. */
  get size(): number {
    return this.data.length
  }

  /** Sets the gradient to zero. */
  zeroGrad(): void {
    this.grad.fill(0)
  }
}

/** A differentiable layer (see the file comment for the buffer contract). */
export interface Module {
  /**
   * Forward pass.
   * @param x batch x inFeatures, row-major.
   * @param batch Number of rows (>= 0).
   * @returns batch x outFeatures: the module's own buffer, valid until its next forward.
   */
  forward(x: Float32Array, batch: number): Float32Array
  /**
   * Backward pass of the most recent forward.
   * @param dy dL/dY, batch x outFeatures.
   * @returns dL/dX, batch x inFeatures (the module's own buffer). Parameter gradients are added to.
   */
  backward(dy: Float32Array): Float32Array
  /** Trainable parameters (empty for parameter-free modules), in a stable order. */
  parameters(): Parameter[]
}

/**
 * A reusable output buffer: grows to the largest size asked for and hands out a view of exactly
 * the size needed, cached while the size stays the same (no allocation, no page faults per call).
 */
export class Scratch {
  #buf = new Float32Array(0)
  #view = new Float32Array(0)

  get(n: number): Float32Array {
    if (this.#view.length === n) return this.#view
    if (this.#buf.length < n) this.#buf = new Float32Array(n)
    this.#view = this.#buf.subarray(0, n)
    return this.#view
  }
}
