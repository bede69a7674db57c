/**
 * {@link Sequential}: modules applied in order, with named parameters for checkpoints.
 */
import { ErrorCodes, SimsageError } from '../errors.js'
import type { Module, Parameter } from './module.js'
import { describe } from '../validate.js'
import { checkBatchSize } from './validate.js'

/** One tensor of a saved state: its shape and a copy of its values. */
export interface TensorState {
  shape: number[]
  data: Float32Array
}

/**
 * Runs modules in order: forward(x) = m_n(...m_1(x)), backward in reverse. Parameters are named
 * like PyTorch's state_dict: `${index}.${name}` ("0.weight", "2.bias"), nested containers adding
 * their own index ("1.0.weight").
 */
export class Sequential implements Module {
  readonly modules: readonly Module[]

  constructor(...modules: Module[]) {
    for (const [i, m] of modules.entries()) {
      if (
        !m ||
        typeof m.forward !== 'function' ||
        typeof m.backward !== 'function' ||
        typeof m.parameters !== 'function'
      ) {
        throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `module ${i} is not a Module, got ${describe(m)}`)
      }
    }
    this.modules = Object.freeze([...modules])
  }

  /** @param x batch x (first module's inFeatures). @returns the last module's output buffer. */
  forward(x: Float32Array, batch: number): Float32Array {
    checkBatchSize(batch)
    let h = x
    for (const m of this.modules) h = m.forward(h, batch)
    return h
  }

  /** @param dy dL/d(output) of the latest forward. @returns dL/dx; adds to every parameter's grad. */
  backward(dy: Float32Array): Float32Array {
    let g = dy
    for (let i = this.modules.length - 1; i >= 0; i--) g = this.modules[i].backward(g)
    return g
  }

  parameters(): Parameter[] {
    return this.modules.flatMap((m) => m.parameters())
  }

  /** Parameters with their qualified names, in {@link parameters} order. */
  namedParameters(): [string, Parameter][] {
    const out: [string, Parameter][] = []
    this.modules.forEach((m, i) => {
      if (m instanceof Sequential) {
        for (const [n, p] of m.namedParameters()) out.push([`${i}.${n}`, p])
      } else {
        for (const p of m.parameters()) out.push([`${i}.${p.name}`, p])
      }
    })
    return out
  }

  /** Sets every parameter's gradient to zero. */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad.fill(0)
  }

  /** A copy of every parameter's values, keyed by qualified name (for checkpoints). */
  state(): Record<string, TensorState> {
    const out: Record<string, TensorState> = {}
    for (const [n, p] of this.namedParameters()) out[n] = { shape: [...p.shape], data: p.data.slice() }
    return out
  }

  /**
   * Copies saved values into the parameters. The state must hold exactly this model's names
   * (ERR_SIMSAGE_INVALID_ARGUMENT otherwise) with the same shapes (ERR_SIMSAGE_DIM_MISMATCH);
   * nothing is written unless everything matches.
   */
  load(state: Record<string, { shape: readonly number[]; data: Float32Array }>): void {
    if (state === null || typeof state !== 'object') {
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `state must be an object, got ${describe(state)}`)
    }
    const named = this.namedParameters()
    const names = new Set(named.map(([n]) => n))
    for (const k of Object.keys(state)) {
      if (!names.has(k)) throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `state has an unknown tensor "${k}"`)
    }
    for (const [n, p] of named) {
      const s = state[n]
      if (!s) throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `state is missing "${n}"`)
      if (!(s.data instanceof Float32Array)) {
        throw new SimsageError(
          ErrorCodes.INVALID_TYPE,
          `state "${n}".data must be a Float32Array, got ${describe(s.data)}`,
        )
      }
      const shape = Array.isArray(s.shape) ? s.shape : []
      if (
        shape.length !== p.shape.length ||
        shape.some((d, i) => d !== p.shape[i]) ||
        s.data.length !== p.data.length
      ) {
        throw new SimsageError(
          ErrorCodes.DIM_MISMATCH,
          `state "${n}" has shape [${shape}] (${s.data.length} values), expected [${p.shape}]`,
        )
      }
    }
    for (const [n, p] of named) p.data.set(state[n].data)
  }
}
