/**
 * {@link Branches}: parallel paths over one input whose outputs are concatenated per row (the
 * multiscale tower's branch-and-concat), and {@link namedParameters}, the qualified parameter
 * names of a module tree of {@link Sequential}s and {@link Branches} (checkpoint keys).
 */
import { ErrorCodes, SimsageError } from '../errors.js'
import type { Module, Parameter } from '../nn/module.js'
import { Scratch } from '../nn/module.js'
import { Sequential } from '../nn/sequential.js'
import { checkF32 } from '../validate.js'
import { checkBatchSize, needForward } from '../nn/validate.js'

/** One path: an optional parameter-free input transform (a down-sampling) and a body. */
export interface BranchPath {
  /** Applied to the shared input first (no parameters; its backward runs only with inputGrad). */
  input?: Module & { inFeatures: number; outFeatures: number }
  body: Module
  /** Features of the body's output row. */
  outFeatures: number
}

/**
 * y = [path_0(x), path_1(x), ...] per row (batch x sum of the paths' outFeatures). backward splits
 * dL/dY by columns, runs each body's backward and, with inputGrad, adds the paths' dL/dX.
 */
export class Branches implements Module {
  readonly paths: readonly BranchPath[]
  readonly inFeatures: number
  readonly outFeatures: number
  /** Whether backward computes dL/dX (false for a tower's first module: it returns an empty array). */
  readonly inputGrad: boolean
  #y = new Scratch()
  #dx = new Scratch()
  #dys: Scratch[]
  #batch = -1

  constructor(inFeatures: number, paths: BranchPath[], inputGrad = true) {
    if (!Array.isArray(paths) || paths.length === 0) {
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, 'Branches needs at least one path')
    }
    for (const [i, p] of paths.entries()) {
      if (p.input && p.input.parameters().length > 0) {
        throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `path ${i}: the input transform must have no parameters`)
      }
      if (p.input && p.input.inFeatures !== inFeatures) {
        throw new SimsageError(
          ErrorCodes.DIM_MISMATCH,
          `path ${i}: input takes ${p.input.inFeatures}, not ${inFeatures}`,
        )
      }
    }
    this.paths = Object.freeze([...paths])
    this.inFeatures = inFeatures
    this.outFeatures = paths.reduce((s, p) => s + p.outFeatures, 0)
    this.inputGrad = inputGrad
    this.#dys = paths.map(() => new Scratch())
  }

  /** @param x batch x inFeatures. @returns batch x outFeatures (paths side by side). */
  forward(x: Float32Array, batch: number): Float32Array {
    checkBatchSize(batch)
    checkF32(x, 'x', batch * this.inFeatures, `batch ${batch} x inFeatures ${this.inFeatures}`)
    const y = this.#y.get(batch * this.outFeatures)
    const F = this.outFeatures
    let col = 0
    for (const p of this.paths) {
      const o = p.body.forward(p.input ? p.input.forward(x, batch) : x, batch)
      for (let b = 0; b < batch; b++) y.set(o.subarray(b * p.outFeatures, (b + 1) * p.outFeatures), b * F + col)
      col += p.outFeatures
    }
    this.#batch = batch
    return y
  }

  /** @returns dL/dX (empty when inputGrad is false); adds to every path's parameter gradients. */
  backward(dy: Float32Array): Float32Array {
    needForward(this.#batch >= 0, 'Branches')
    const batch = this.#batch
    const F = this.outFeatures
    checkF32(dy, 'dy', batch * F)
    const dx = this.#dx.get(this.inputGrad ? batch * this.inFeatures : 0)
    dx.fill(0)
    let col = 0
    this.paths.forEach((p, i) => {
      const d = this.#dys[i].get(batch * p.outFeatures)
      for (let b = 0; b < batch; b++) d.set(dy.subarray(b * F + col, b * F + col + p.outFeatures), b * p.outFeatures)
      col += p.outFeatures
      const g = p.body.backward(d)
      if (!this.inputGrad) return
      const gx = p.input ? p.input.backward(g) : g
      for (let j = 0; j < dx.length; j++) dx[j] += gx[j]
    })
    return dx
  }

  parameters(): Parameter[] {
    return this.paths.flatMap((p) => p.body.parameters())
  }
}

/**
 * Parameters of a module tree with qualified names: a {@link Sequential} adds `${index}.`, a
 * {@link Branches} `${path}.`, a leaf its parameters' names ("1.0.3.weight").
 */
export function namedParameters(m: Module, prefix = ''): [string, Parameter][] {
  if (m instanceof Sequential) return m.modules.flatMap((c, i) => namedParameters(c, `${prefix}${i}.`))
  if (m instanceof Branches) return m.paths.flatMap((p, i) => namedParameters(p.body, `${prefix}${i}.`))
  return m.parameters().map((p): [string, Parameter] => [`${prefix}${p.name}`, p])
}
