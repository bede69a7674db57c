/**
 * Sparse (lazy) optimizers of a {@link HashEmbeddingBag}: only the rows a backward touched are read
 * and written, in the table, the importance table and their optimizer state; gamma and beta are a
 * one-row table updated every step. Native, threaded over rows (distinct rows: no races).
 */
import { callNative, ErrorCodes, SimsageError } from '../errors.js'
import { binding } from '../native/binding.js'
import { checkNumber, describe } from '../validate.js'
import type { HashBagGrads, HashBagTensors, HashEmbeddingBag, SparseGrad } from './hash-bag.js'

/** Options of {@link SparseAdagrad}. */
export interface SparseAdagradOptions {
  /** Learning rate (default 0.05). */
  lr?: number
  /** Added to sqrt(G) (default 1e-8). */
  eps?: number
  /** Initial accumulator value G0 (default 0.1, as TensorFlow's Adagrad). */
  initialAccumulator?: number
  /** L2 penalty added to touched rows' gradients (default 0). */
  weightDecay?: number
}

/** Options of {@link LazyAdam}. */
export interface LazyAdamOptions {
  /** Learning rate (default 0.001). */
  lr?: number
  beta1?: number
  beta2?: number
  eps?: number
  weightDecay?: number
}

type Part = 'table' | 'importance' | 'gamma' | 'beta'
const PARTS: readonly Part[] = ['table', 'importance', 'gamma', 'beta']

abstract class SparseOptimizer {
  protected readonly bag: HashEmbeddingBag
  protected readonly lr: number
  protected readonly eps: number
  protected readonly weightDecay: number
  protected readonly state: Record<Part, Float32Array[]>
  readonly #all = Int32Array.of(0)

  constructor(bag: HashEmbeddingBag, lr: number, eps: number, weightDecay: unknown, slots: number, init: number) {
    this.bag = bag
    this.lr = checkNumber(lr, 'lr', 0, Number.MAX_VALUE, true)
    this.eps = checkNumber(eps, 'eps', 0, 1, true)
    this.weightDecay = checkNumber(weightDecay ?? 0, 'weightDecay', 0, Number.MAX_VALUE)
    const t = bag.tensors()
    const st = {} as Record<Part, Float32Array[]>
    for (const p of PARTS)
      st[p] = Array.from({ length: slots }, (_, i) => new Float32Array(t[p].length).fill(i === 0 ? init : 0))
    this.state = st
  }

  /** Applies one update from a backward's gradients. */
  step(grads: HashBagGrads): void {
    if (typeof grads !== 'object' || grads === null) {
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `grads must be a HashBagGrads object, got ${describe(grads)}`)
    }
    const t = this.bag.tensors()
    this.before()
    this.apply(t, 'table', this.bag.dim, grads.table)
    this.apply(t, 'importance', 2, grads.importance)
    this.apply(t, 'gamma', this.bag.dim, { rows: this.#all, values: grads.gamma })
    this.apply(t, 'beta', this.bag.dim, { rows: this.#all, values: grads.beta })
  }

  protected before(): void {}

  protected abstract apply(t: HashBagTensors, part: Part, width: number, g: SparseGrad): void

  protected common(t: HashBagTensors, part: Part, width: number, g: SparseGrad) {
    if (!(g?.rows instanceof Int32Array) || !(g.values instanceof Float32Array)) {
      throw new SimsageError(
        ErrorCodes.INVALID_ARGUMENT,
        `grads.${part} must hold rows (Int32Array) and values (Float32Array)`,
      )
    }
    return {
      tableRows: t[part].length / width,
      dim: width,
      table: t[part],
      rows: g.rows,
      grad: g.values,
      state1: this.state[part][0],
      lr: this.lr,
      eps: this.eps,
      weightDecay: this.weightDecay,
    }
  }
}

/**
 * Sparse Adagrad: per touched row r, G_r += g², w_r −= lr·g / (√G_r + eps). Rows no gradient
 * touches keep their weights and accumulators.
 */
export class SparseAdagrad extends SparseOptimizer {
  constructor(bag: HashEmbeddingBag, options: SparseAdagradOptions = {}) {
    const init = checkNumber(options.initialAccumulator ?? 0.1, 'initialAccumulator', 0, Number.MAX_VALUE)
    super(bag, options.lr ?? 0.05, options.eps ?? 1e-8, options.weightDecay, 1, init)
  }

  protected apply(t: HashBagTensors, part: Part, width: number, g: SparseGrad): void {
    const args = this.common(t, part, width, g)
    callNative(() => binding().textSparseAdagrad(args))
  }
}

/**
 * Lazy Adam (TensorFlow Addons' LazyAdam): the moments m, v of a row change only when a gradient
 * touches it; bias correction uses the global step count.
 */
export class LazyAdam extends SparseOptimizer {
  readonly beta1: number
  readonly beta2: number
  #step = 0

  constructor(bag: HashEmbeddingBag, options: LazyAdamOptions = {}) {
    super(bag, options.lr ?? 0.001, options.eps ?? 1e-8, options.weightDecay, 2, 0)
    this.beta1 = checkNumber(options.beta1 ?? 0.9, 'beta1', 0, 1, false, true)
    this.beta2 = checkNumber(options.beta2 ?? 0.999, 'beta2', 0, 1, false, true)
  }

  /** Steps taken. */
  get steps(): number {
    return this.#step
  }

  protected override before(): void {
    this.#step++
  }

  protected apply(t: HashBagTensors, part: Part, width: number, g: SparseGrad): void {
    const args = {
      ...this.common(t, part, width, g),
      state2: this.state[part][1],
      beta1: this.beta1,
      beta2: this.beta2,
      step: this.#step,
    }
    callNative(() => binding().textSparseAdam(args))
  }
}
