/**
 * The GRU-only next-item model (GRU4Rec-style, Hidasi et al., ICLR 2016): item projection → GRU
 * over a user's whole action sequence → linear head → scores against the tied item table, the same
 * output layer and losses as {@link HierTCN}. Trained on {@link ActionLanes} batches (session-parallel
 * lanes, state carried between batches, reset where a new user starts in a lane).
 */
import { ErrorCodes, SimsageError } from '../errors.js'
import { Embedding } from '../nn/embedding.js'
import { Linear } from '../nn/layers.js'
import { Parameter, Scratch } from '../nn/module.js'
import { Random } from '../random.js'
import { GRU } from '../temporal/gru.js'
import type { LaneBatch } from '../data/action-lanes.js'
import type { Predictions } from './hiertcn.js'

export interface GRU4RecSpec {
  items: number
  embeddingDim: number
  hidden: number
  layers: number
}

export class GRU4Rec {
  readonly spec: GRU4RecSpec
  readonly items: Embedding
  readonly itemBias: Parameter
  /** The output item table [items, D]: an item's score is p · output[item] + itemBias[item]. */
  readonly output: Parameter
  readonly start: Parameter
  readonly gru: GRU
  readonly head: Linear
  #lanes = 0
  #h0 = new Float32Array(0)
  #hNext = new Float32Array(0)
  #b: LaneBatch | undefined
  #x = new Scratch()
  #hRows = new Scratch()
  #rowsAt = new Int32Array(0)
  #targets = new Int32Array(0)
  #users = new Int32Array(0)
  #dO = new Scratch()

  constructor(spec: GRU4RecSpec, seed = 1) {
    for (const k of ['items', 'embeddingDim', 'hidden', 'layers'] as const) {
      if (!Number.isInteger(spec[k]) || spec[k] < 1) {
        throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `${k} must be a positive integer, got ${spec[k]}`)
      }
    }
    this.spec = { ...spec }
    const rng = new Random(seed)
    const D = spec.embeddingDim
    this.items = new Embedding(spec.items, D, { rng })
    this.itemBias = new Parameter('item_bias', [spec.items])
    this.output = new Embedding(spec.items, D, { rng }).weight
    this.start = new Parameter('start', [D])
    for (let i = 0; i < D; i++) this.start.data[i] = (rng.next() * 2 - 1) / Math.sqrt(D)
    this.gru = new GRU({ inputSize: D, hiddenSize: spec.hidden, layers: spec.layers, rng })
    this.head = new Linear(spec.hidden, D, { rng })
  }

  namedParameters(): [string, Parameter][] {
    return [
      ['items.weight', this.items.weight],
      ['items.bias', this.itemBias],
      ['output.weight', this.output],
      ['start', this.start],
      ...this.gru.parameters().map((p: Parameter): [string, Parameter] => [`gru.${p.name}`, p]),
      ...this.head.parameters().map((p): [string, Parameter] => [`head.${p.name}`, p]),
    ]
  }

  parameters(): Parameter[] {
    return this.namedParameters().map(([, p]) => p)
  }

  get parameterCount(): number {
    return this.parameters().reduce((s, p) => s + p.size, 0)
  }

  set training(_on: boolean) {}

  resetState(lanes: number): void {
    this.#lanes = lanes
    this.#h0 = new Float32Array(this.spec.layers * lanes * this.spec.hidden)
    this.#hNext = new Float32Array(this.#h0.length)
  }

  forward(batch: LaneBatch): Predictions {
    const B = batch.lanes
    const T = batch.steps
    if (B !== this.#lanes) this.resetState(B)
    const D = this.spec.embeddingDim
    const H = this.spec.hidden
    const E = this.items.weight.data
    const x = this.#x.get(B * T * D)
    let rows = 0
    for (let i = 0; i < B * T; i++) {
      const tok = batch.input[i]
      if (tok >= 0) x.set(E.subarray(tok * D, tok * D + D), i * D)
      else if (tok === -2) x.set(this.start.data, i * D)
      else x.fill(0, i * D, i * D + D)
      if (batch.target[i] >= 0) rows++
    }
    const h0 = this.#hNext
    this.#hNext = this.#h0
    this.#h0 = h0
    const o = this.gru.forward(x, B, T, { h0, carry: batch.carry, mask: batch.mask })
    this.#hNext.set(this.gru.finalState)
    if (this.#rowsAt.length < rows) {
      this.#rowsAt = new Int32Array(rows)
      this.#targets = new Int32Array(rows)
      this.#users = new Int32Array(rows)
    }
    const hRows = this.#hRows.get(rows * H)
    let r = 0
    for (let i = 0; i < B * T; i++) {
      const t = batch.target[i]
      if (t < 0) continue
      this.#rowsAt[r] = i
      this.#targets[r] = t
      this.#users[r] = batch.user[i]
      hRows.set(o.subarray(i * H, i * H + H), r * H)
      r++
    }
    this.#b = batch
    const p = this.head.forward(hRows, rows)
    return { p, targets: this.#targets, users: this.#users, rows }
  }

  backward(dp: Float32Array): void {
    const batch = this.#b
    if (!batch) throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, 'GRU4Rec.backward() called before forward()')
    const B = batch.lanes
    const T = batch.steps
    const D = this.spec.embeddingDim
    const H = this.spec.hidden
    const dh = this.head.backward(dp)
    const rows = dp.length / D
    const dO = this.#dO.get(B * T * H)
    dO.fill(0)
    for (let r = 0; r < rows; r++) dO.set(dh.subarray(r * H, r * H + H), this.#rowsAt[r] * H)
    const dx = this.gru.backward(dO)
    const gE = this.items.weight.grad
    const gS = this.start.grad
    for (let i = 0; i < B * T; i++) {
      const tok = batch.input[i]
      if (tok === -1) continue
      const g = tok >= 0 ? gE : gS
      const o = tok >= 0 ? tok * D : 0
      for (let j = 0; j < D; j++) g[o + j] += dx[i * D + j]
    }
  }
}
