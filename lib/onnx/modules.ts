/**
 * Module → ONNX nodes: a registry from a layer class to the function that writes its forward pass
 * into a graph, and {@link exportModule}, which walks a (nested) {@link Sequential} through it.
 * simsage's dense layers are registered here; a new layer kind (Conv2d, MaxPool, GroupNorm, ...)
 * registers itself with {@link registerModuleExporter} in its own file.
 */
import { ErrorCodes, SimsageError } from '../errors.js'
import { L2Normalize, LayerNorm, Linear, ReLU } from '../nn/layers.js'
import type { Module } from '../nn/module.js'
import { Sequential } from '../nn/sequential.js'
import type { OnnxDim, OnnxGraph } from './graph.js'
import { l2Normalize, layerNorm, linear, linearLast, relu } from './ops.js'

/** A value flowing through the graph: its name and dims (numbers, or names for dynamic sizes). */
export interface OnnxValue {
  readonly name: string
  readonly dims: readonly OnnxDim[]
}

/** Writes module `m`'s forward on `x` into `g`; `prefix` names its nodes; returns the output value. */
export type ModuleExporter<M extends Module = Module> = (g: OnnxGraph, m: M, x: OnnxValue, prefix: string) => OnnxValue

// biome-ignore lint/suspicious/noExplicitAny: constructors of any arity
type ModuleClass<M extends Module> = abstract new (...args: any[]) => M

const registry = new Map<ModuleClass<Module>, ModuleExporter>()

/** Registers the exporter of a module class (a subclass without its own uses its parent's). */
export function registerModuleExporter<M extends Module>(cls: ModuleClass<M>, fn: ModuleExporter<M>): void {
  registry.set(cls, fn as ModuleExporter)
}

function exporterOf(m: Module): ModuleExporter | undefined {
  for (let p = Object.getPrototypeOf(m); p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    const fn = registry.get(p.constructor)
    if (fn) return fn
  }
  return undefined
}

/** Writes `m`'s forward on `x` into `g` (ERR_SIMSAGE_UNSUPPORTED for a module with no exporter). */
export function exportModule(g: OnnxGraph, m: Module, x: OnnxValue, prefix = 'm'): OnnxValue {
  const fn = exporterOf(m)
  if (!fn) {
    const name = (m as object)?.constructor?.name ?? typeof m
    throw new SimsageError(ErrorCodes.UNSUPPORTED, `no ONNX exporter for module ${name} (at ${prefix})`)
  }
  return fn(g, m, x, prefix)
}

function lastDim(x: OnnxValue, what: string): number {
  const d = x.dims[x.dims.length - 1]
  if (typeof d !== 'number') {
    throw new SimsageError(ErrorCodes.UNSUPPORTED, `${what}: the input's last dimension must be fixed, got ${d}`)
  }
  return d
}

function withLast(x: OnnxValue, name: string, last: number): OnnxValue {
  return { name, dims: [...x.dims.slice(0, -1), last] }
}

registerModuleExporter(Sequential, (g, m, x, prefix) => {
  let h = x
  m.modules.forEach((sub, i) => {
    h = exportModule(g, sub, h, `${prefix}.${i}`)
  })
  return h
})

registerModuleExporter(Linear, (g, m, x, prefix) => {
  const inF = lastDim(x, `Linear ${prefix}`)
  if (inF !== m.inFeatures) {
    throw new SimsageError(ErrorCodes.DIM_MISMATCH, `Linear ${prefix} takes ${m.inFeatures} features, gets ${inF}`)
  }
  const fn = x.dims.length === 2 ? linear : linearLast
  const y = fn(g, prefix, x.name, m.weight.data, m.bias?.data, m.outFeatures, m.inFeatures)
  return withLast(x, y, m.outFeatures)
})

registerModuleExporter(ReLU, (g, _m, x, prefix) => ({ name: relu(g, x.name, prefix), dims: x.dims }))

registerModuleExporter(L2Normalize, (g, m, x, prefix) => ({
  name: l2Normalize(g, prefix, x.name, m.eps),
  dims: x.dims,
}))

registerModuleExporter(LayerNorm, (g, m, x, prefix) => {
  const f = lastDim(x, `LayerNorm ${prefix}`)
  if (f !== m.features) {
    throw new SimsageError(ErrorCodes.DIM_MISMATCH, `LayerNorm ${prefix} takes ${m.features} features, gets ${f}`)
  }
  return { name: layerNorm(g, prefix, x.name, f, m.eps, m.weight?.data, m.bias?.data), dims: x.dims }
})
