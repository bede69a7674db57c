/**
 * Optimizers over {@link Parameter}s, each step one fused native pass per parameter:
 * {@link SGD} (momentum, Nesterov, L2 weight decay), {@link Adam}, and {@link AdamW} (decoupled
 * weight decay). Semantics follow torch.optim.
 */
import { callNative, ErrorCodes, SimsageError } from '../errors.js'
import { binding } from '../native/binding.js'
import { Parameter } from './module.js'
import { checkBool, checkNumber, describe } from '../validate.js'

/** What every optimizer offers. */
export interface Optimizer {
  /** The parameters updated, in order. */
  readonly params: readonly Parameter[]
  /** Learning rate; may be changed between steps (schedules). */
  lr: number
  /** Applies one update from the current gradients. */
  step(): void
  /** Sets every parameter's gradient to zero. */
  zeroGrad(): void
  /** A copy of the optimizer's state (for checkpoints; the parameters are saved separately). */
  state(): OptimizerState
  /** Restores a state from {@link state} of an optimizer of the same kind over the same shapes. */
  load(state: OptimizerState): void
}

/**
 * Saved optimizer state: steps taken and the per-element buffers (SGD: one velocity per parameter;
 * Adam: first moments then second moments, one per parameter), in parameter order.
 */
export interface OptimizerState {
  step: number
  buffers: Float32Array[]
}

function saveState(step: number, buffers: Float32Array[]): OptimizerState {
  return { step, buffers: buffers.map((b) => b.slice()) }
}

/** Checks `state` against `buffers` (count and lengths), then copies it in; returns its step. */
function loadState(state: OptimizerState, buffers: Float32Array[], kind: string): number {
  if (state === null || typeof state !== 'object' || !Array.isArray(state.buffers)) {
    throw new SimsageError(
      ErrorCodes.INVALID_ARGUMENT,
      `${kind} state must be { step, buffers }, got ${describe(state)}`,
    )
  }
  if (!Number.isSafeInteger(state.step) || state.step < 0) {
    throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `${kind} state step must be a non-negative integer`)
  }
  if (state.buffers.length !== buffers.length) {
    throw new SimsageError(
      ErrorCodes.DIM_MISMATCH,
      `${kind} state has ${state.buffers.length} buffers, expected ${buffers.length}`,
    )
  }
  state.buffers.forEach((b, i) => {
    if (!(b instanceof Float32Array)) {
      throw new SimsageError(ErrorCodes.INVALID_TYPE, `${kind} state buffers[${i}] must be a Float32Array`)
    }
    if (b.length !== buffers[i].length) {
      throw new SimsageError(
        ErrorCodes.DIM_MISMATCH,
        `${kind} state buffers[${i}] has length ${b.length}, expected ${buffers[i].length}`,
      )
    }
  })
  for (let i = 0; i < state.buffers.length; i++) buffers[i].set(state.buffers[i])
  return state.step
}

function checkParams(params: Iterable<Parameter>): Parameter[] {
  if (
    params === null ||
    typeof params !== 'object' ||
    typeof (params as Iterable<Parameter>)[Symbol.iterator] !== 'function'
  ) {
    throw new SimsageError(
      ErrorCodes.INVALID_ARGUMENT,
      `params must be an iterable of Parameters, got ${describe(params)}`,
    )
  }
  const list = [...params]
  for (const [i, p] of list.entries()) {
    if (!(p instanceof Parameter)) {
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `params[${i}] is not a Parameter, got ${describe(p)}`)
    }
  }
  if (new Set(list).size !== list.length) {
    throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, 'params holds the same Parameter twice')
  }
  return list
}

const checkLr = (v: unknown) => checkNumber(v, 'lr', 0, Number.MAX_VALUE)

/** Options of {@link SGD}. */
export interface SGDOptions {
  /** Learning rate (>= 0). */
  lr: number
  /** Momentum factor mu (>= 0, default 0). */
  momentum?: number
  /** L2 penalty added to the gradient: g += weightDecay * p (default 0). */
  weightDecay?: number
  /** Nesterov momentum (requires momentum > 0; default false). */
  nesterov?: boolean
}

/**
 * Stochastic gradient descent as torch.optim.SGD with dampening 0:
 * g = grad + wd p; v = mu v + g; p -= lr (nesterov ? g + mu v : v).
 */
export class SGD implements Optimizer {
  readonly params: readonly Parameter[]
  readonly momentum: number
  readonly weightDecay: number
  readonly nesterov: boolean
  #lr: number
  #t = 0
  #velocity: Float32Array[]

  constructor(params: Iterable<Parameter>, options: SGDOptions) {
    if (options === null || typeof options !== 'object') {
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, 'SGD(params, { lr }) requires an options object')
    }
    this.params = Object.freeze(checkParams(params))
    this.#lr = checkLr(options.lr)
    this.momentum = checkNumber(options.momentum ?? 0, 'momentum', 0, Number.MAX_VALUE)
    this.weightDecay = checkNumber(options.weightDecay ?? 0, 'weightDecay', 0, Number.MAX_VALUE)
    this.nesterov = checkBool(options.nesterov ?? false, 'nesterov')
    if (this.nesterov && this.momentum === 0) {
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, 'nesterov requires momentum > 0')
    }
    this.#velocity = this.momentum > 0 ? this.params.map((p) => new Float32Array(p.size)) : []
  }

  get lr(): number {
    return this.#lr
  }

  set lr(v: number) {
    this.#lr = checkLr(v)
  }

  step(): void {
    const b = binding()
    this.params.forEach((p, i) => {
      const args = {
        param: p.data,
        grad: p.grad,
        velocity: this.#velocity[i],
        lr: this.#lr,
        momentum: this.momentum,
        weightDecay: this.weightDecay,
        nesterov: this.nesterov,
      }
      callNative(() => b.nnSgdStep(args))
    })
    this.#t++
  }

  zeroGrad(): void {
    for (const p of this.params) p.grad.fill(0)
  }

  state(): OptimizerState {
    return saveState(this.#t, this.#velocity)
  }

  load(state: OptimizerState): void {
    this.#t = loadState(state, this.#velocity, 'SGD')
  }
}

/** Options of {@link Adam} and {@link AdamW}. */
export interface AdamOptions {
  /** Learning rate (>= 0, default 1e-3). */
  lr?: number
  /** Decay rates of the moment estimates, each in [0, 1) (default [0.9, 0.999]). */
  betas?: readonly [number, number]
  /** Added to the denominator (> 0, default 1e-8). */
  eps?: number
  /** Weight decay (>= 0; default 0 for Adam, 0.01 for AdamW). */
  weightDecay?: number
  /** Decoupled weight decay, p *= 1 - lr wd (AdamW), instead of an L2 term in the gradient. */
  decoupled?: boolean
}

/**
 * Adam (Kingma & Ba 2015) as torch.optim.Adam, or AdamW (Loshchilov & Hutter 2019) with
 * `decoupled`: m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
 * p -= lr / (1 - b1^t) * m / (sqrt(v / (1 - b2^t)) + eps).
 */
export class Adam implements Optimizer {
  readonly params: readonly Parameter[]
  readonly betas: readonly [number, number]
  readonly eps: number
  readonly weightDecay: number
  readonly decoupled: boolean
  #lr: number
  #t = 0
  #m: Float32Array[]
  #v: Float32Array[]

  constructor(params: Iterable<Parameter>, options: AdamOptions = {}) {
    if (options === null || typeof options !== 'object') {
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, 'Adam options must be an object')
    }
    this.params = Object.freeze(checkParams(params))
    this.#lr = checkLr(options.lr ?? 1e-3)
    const betas = options.betas ?? [0.9, 0.999]
    if (!Array.isArray(betas) || betas.length !== 2) {
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `betas must be [beta1, beta2], got ${describe(betas)}`)
    }
    this.betas = Object.freeze([
      checkNumber(betas[0], 'betas[0]', 0, 1, false, true),
      checkNumber(betas[1], 'betas[1]', 0, 1, false, true),
    ]) as readonly [number, number]
    this.eps = checkNumber(options.eps ?? 1e-8, 'eps', 0, Number.MAX_VALUE, true)
    this.weightDecay = checkNumber(options.weightDecay ?? 0, 'weightDecay', 0, Number.MAX_VALUE)
    this.decoupled = checkBool(options.decoupled ?? false, 'decoupled')
    this.#m = this.params.map((p) => new Float32Array(p.size))
    this.#v = this.params.map((p) => new Float32Array(p.size))
  }

  get lr(): number {
    return this.#lr
  }

  set lr(v: number) {
    this.#lr = checkLr(v)
  }

  /** Steps taken so far. */
  get stepCount(): number {
    return this.#t
  }

  step(): void {
    const b = binding()
    const step = this.#t + 1
    this.params.forEach((p, i) => {
      const args = {
        param: p.data,
        grad: p.grad,
        m: this.#m[i],
        v: this.#v[i],
        step,
        lr: this.#lr,
        beta1: this.betas[0],
        beta2: this.betas[1],
        eps: this.eps,
        weightDecay: this.weightDecay,
        decoupled: this.decoupled,
      }
      callNative(() => b.nnAdamStep(args))
    })
    this.#t = step
  }

  zeroGrad(): void {
    for (const p of this.params) p.grad.fill(0)
  }

  state(): OptimizerState {
    return saveState(this.#t, [...this.#m, ...this.#v])
  }

  load(state: OptimizerState): void {
    this.#t = loadState(state, [...this.#m, ...this.#v], 'Adam')
  }
}

/** AdamW: {@link Adam} with decoupled weight decay (default weightDecay 0.01, as torch.optim.AdamW). */
export class AdamW extends Adam {
  constructor(params: Iterable<Parameter>, options: Omit<AdamOptions, 'decoupled'> = {}) {
    super(params, { ...options, weightDecay: options.weightDecay ?? 0.01, decoupled: true })
  }
}
