/**
 * HierTCN (You et al., "Hierarchical Temporal Convolutional Networks for Dynamic Recommender
 * Systems", WWW 2019): a user-level GRU over sessions and a session-level causal TCN over actions.
 *
 * - Items: an input table E [items, D] (the item projection) and an output table O [items, D]:
 *   an item's score for a prediction p is p · O[item] + bias[item]. (Untied: with one table the
 *   model must map an item's vector near its successors' from the same table, and on the symfony
 *   log it learned markedly slower.) `itemIndex` exports O as an `EmbeddingIndex`, so a
 *   prediction p is a query against it.
 * - High level: a GRU (`userLayers` layers, hidden H) whose input for a session is the mean of the
 *   session's item projections. It is updated once per session, after that session's predictions:
 *   the state used inside session s is the state after session s − 1, multiplied by the slot's
 *   carry (0 when a new user starts in the batch slot) and, with `decayTau` > 0, by exp(−gap/τ)
 *   for the time since the user's previous session.
 * - Low level: a TCN whose input at position p of a session is [item projection of the input
 *   token, user state]; position 0's token is a learned session-start vector, so the first action
 *   of a session is predicted from the user state alone; position p ≥ 1 reads the session's item
 *   p − 1 and predicts item p.
 * - Head: a linear layer from the TCN's last channel count to D.
 *
 * With `userHidden: 0` the high level is absent: the TCN reads item projections only (the
 * "TCN-only" row of the experiment, HierTCN's low level alone).
 *
 * Batches come from `SessionBatches` (the paper's queue generator); the per-slot user state is
 * carried from batch to batch here (truncated back-propagation: gradients stop at a batch's start).
 */
import { ErrorCodes, SimsageError } from '../errors.js'
import { Embedding } from '../nn/embedding.js'
import { Linear } from '../nn/layers.js'
import { Parameter, Scratch } from '../nn/module.js'
import { Random } from '../random.js'
import { GRU } from '../temporal/gru.js'
import { TCN } from '../temporal/tcn.js'
import type { SessionBatch } from '../data/session-batches.js'

/** Shape and hyperparameters of a {@link HierTCN}. */
export interface HierTCNSpec {
  /** Catalogue size (item vocabulary). */
  items: number
  /** D: item projection and prediction size. */
  embeddingDim: number
  /** H: the user-level GRU's hidden size; 0 = no user level (TCN-only). */
  userHidden: number
  /** GRU layers (the paper: 2). */
  userLayers: number
  /** Output channels of each TCN residual block. */
  channels: number[]
  /** Dilation of each block (same length as channels). */
  dilations: number[]
  kernelSize: number
  dropout: number
  /** Time decay of the user state between sessions, in seconds; 0 = none. */
  decayTau: number
}

/** Predictions of one batch: `rows` prediction vectors and the items they should score highest. */
export interface Predictions {
  /** [rows, D] (the model's own buffer). */
  p: Float32Array
  /** True next item per row. */
  targets: Int32Array
  /** User index per row. */
  users: Int32Array
  rows: number
}

/** Checks a spec; throws ERR_SIMSAGE_INVALID_ARGUMENT naming the field. */
export function checkHierTCNSpec(spec: HierTCNSpec): HierTCNSpec {
  const int = (v: unknown, name: string, lo: number, hi = 1 << 20) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `${name} must be an integer in [${lo}, ${hi}], got ${v}`)
    }
  }
  int(spec.items, 'items', 1, 1 << 26)
  int(spec.embeddingDim, 'embeddingDim', 1)
  int(spec.userHidden, 'userHidden', 0)
  int(spec.userLayers, 'userLayers', 1, 8)
  int(spec.kernelSize, 'kernelSize', 1, 64)
  if (!Array.isArray(spec.channels) || spec.channels.length < 1 || spec.channels.length !== spec.dilations?.length) {
    throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, 'channels and dilations must be non-empty lists of one length')
  }
  for (const [i, c] of spec.channels.entries()) int(c, `channels[${i}]`, 1)
  for (const [i, d] of spec.dilations.entries()) int(d, `dilations[${i}]`, 1, 1 << 16)
  if (!(spec.dropout >= 0 && spec.dropout < 1)) {
    throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `dropout must be in [0, 1), got ${spec.dropout}`)
  }
  if (!(spec.decayTau >= 0 && Number.isFinite(spec.decayTau))) {
    throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `decayTau must be >= 0 seconds, got ${spec.decayTau}`)
  }
  return spec
}

export class HierTCN {
  readonly spec: HierTCNSpec
  /** E [items, D]: input projection and output embedding (tied). */
  readonly items: Embedding
  /** Per-item score bias [items]. */
  readonly itemBias: Parameter
  /** The output item table [items, D]: an item's score is p · output[item] + itemBias[item]. */
  readonly output: Parameter
  /** The session-start token's projection [D]. */
  readonly start: Parameter
  readonly gru: GRU | undefined
  readonly tcn: TCN
  readonly head: Linear
  #slots = 0
  #h0 = new Float32Array(0)
  #hNext = new Float32Array(0)
  // forward state kept for backward
  #b: SessionBatch | undefined
  #carry = new Scratch()
  #mask = new Uint8Array(0)
  #m = new Scratch()
  #u = new Scratch()
  #x = new Scratch()
  #rowsAt = new Int32Array(0)
  #hRows = new Scratch()
  #targets = new Int32Array(0)
  #users = new Int32Array(0)
  #dY = new Scratch()
  #do = new Scratch()

  constructor(spec: HierTCNSpec, seed = 1) {
    this.spec = checkHierTCNSpec({ ...spec, channels: [...spec.channels], dilations: [...spec.dilations] })
    const rng = new Random(seed)
    const D = spec.embeddingDim
    const H = spec.userHidden
    this.items = new Embedding(spec.items, D, { rng })
    this.itemBias = new Parameter('item_bias', [spec.items])
    this.output = new Embedding(spec.items, D, { rng }).weight
    this.start = new Parameter('start', [D])
    for (let i = 0; i < D; i++) this.start.data[i] = (rng.next() * 2 - 1) / Math.sqrt(D)
    this.gru = H > 0 ? new GRU({ inputSize: D, hiddenSize: H, layers: spec.userLayers, rng }) : undefined
    this.tcn = new TCN({
      inputSize: D + H,
      channels: spec.channels,
      kernelSize: spec.kernelSize,
      dilations: spec.dilations,
      dropout: spec.dropout,
      rng,
    })
    this.head = new Linear(spec.channels[spec.channels.length - 1], D, { rng })
  }

  /** Trainable parameters with stable, checkpoint-ready names. */
  namedParameters(): [string, Parameter][] {
    const out: [string, Parameter][] = [
      ['items.weight', this.items.weight],
      ['items.bias', this.itemBias],
      ['output.weight', this.output],
      ['start', this.start],
    ]
    if (this.gru) for (const p of this.gru.parameters()) out.push([`gru.${p.name}`, p])
    for (const p of this.tcn.parameters()) out.push([`tcn.${p.name}`, p])
    for (const p of this.head.parameters()) out.push([`head.${p.name}`, p])
    return out
  }

  parameters(): Parameter[] {
    return this.namedParameters().map(([, p]) => p)
  }

  /** Number of trainable values. */
  get parameterCount(): number {
    return this.parameters().reduce((s, p) => s + p.size, 0)
  }

  /** Dropout on (training) or off (evaluation, serving). */
  set training(on: boolean) {
    this.tcn.training = on
  }

  /** Forgets every slot's user state (start of an epoch or an evaluation pass). */
  resetState(slots: number): void {
    const n = this.gru ? this.spec.userLayers * slots * this.spec.userHidden : 0
    this.#slots = slots
    this.#h0 = new Float32Array(n)
    this.#hNext = new Float32Array(n)
  }

  /**
   * Runs one batch: updates the slot states and returns the predictions for every evaluated action
   * (target ≥ 0) in the batch.
   */
  forward(batch: SessionBatch): Predictions {
    const B = batch.queues
    const S = batch.steps
    const L = batch.maxLength
    if (B !== this.#slots) this.resetState(B)
    const D = this.spec.embeddingDim
    const H = this.gru ? this.spec.userHidden : 0
    const BS = B * S
    const E = this.items.weight.data
    this.#b = batch

    // The user level: session means -> GRU over the batch's session steps.
    const carry = this.#carry.get(BS)
    if (this.#mask.length !== BS) this.#mask = new Uint8Array(BS)
    const mask = this.#mask
    const tau = this.spec.decayTau
    for (let i = 0; i < BS; i++) {
      // Decay between sessions only (a continued piece of a long session is not a new session).
      const decay = tau > 0 && batch.piece[i] === 0 && batch.gap[i] > 0 ? Math.exp(-batch.gap[i] / tau) : 1
      carry[i] = batch.carry[i] * decay
      mask[i] = batch.length[i] > 0 ? 1 : 0
    }
    const u = this.#u.get(BS * H)
    if (this.gru) {
      const m = this.#m.get(BS * D)
      m.fill(0)
      for (let i = 0; i < BS; i++) {
        const n = batch.length[i]
        if (n === 0) continue
        const o = i * D
        let valid = 0
        for (let p = 0; p < n; p++) {
          const it = batch.items[i * L + p]
          if (it < 0) continue // a serving query position: no item yet
          const e = it * D
          for (let j = 0; j < D; j++) m[o + j] += E[e + j]
          valid++
        }
        if (valid > 0) for (let j = 0; j < D; j++) m[o + j] /= valid
      }
      // Swap the state buffers: h0 (this batch's start) stays intact until backward.
      const h0 = this.#hNext
      this.#hNext = this.#h0
      this.#h0 = h0
      const o = this.gru.forward(m, B, S, { h0, carry, mask })
      this.#hNext.set(this.gru.finalState)
      const top = (this.spec.userLayers - 1) * B * H
      for (let b = 0; b < B; b++) {
        for (let s = 0; s < S; s++) {
          const i = b * S + s
          const src = s === 0 ? h0.subarray(top + b * H, top + b * H + H) : o.subarray((i - 1) * H, i * H)
          const c = carry[i]
          for (let j = 0; j < H; j++) u[i * H + j] = c * src[j]
        }
      }
    }

    // The session level: TCN input [B*S, L, D+H].
    const F = D + H
    const x = this.#x.get(BS * L * F)
    x.fill(0)
    const st = this.start.data
    let rows = 0
    for (let i = 0; i < BS; i++) {
      const n = batch.length[i]
      for (let p = 0; p < n; p++) {
        const o = (i * L + p) * F
        const tok = batch.input[i * L + p]
        if (tok >= 0) x.set(E.subarray(tok * D, tok * D + D), o)
        else x.set(st, o)
        if (H > 0) x.set(u.subarray(i * H, i * H + H), o + D)
        if (batch.target[i * L + p] >= 0) rows++
      }
    }
    const y = this.tcn.forward(x, BS, L)
    const C = this.tcn.outputSize
    if (this.#rowsAt.length < rows) {
      this.#rowsAt = new Int32Array(rows)
      this.#targets = new Int32Array(rows)
      this.#users = new Int32Array(rows)
    }
    const hRows = this.#hRows.get(rows * C)
    let r = 0
    for (let i = 0; i < BS; i++) {
      const n = batch.length[i]
      for (let p = 0; p < n; p++) {
        const t = batch.target[i * L + p]
        if (t < 0) continue
        const at = i * L + p
        this.#rowsAt[r] = at
        this.#targets[r] = t
        this.#users[r] = batch.user[i]
        hRows.set(y.subarray(at * C, at * C + C), r * C)
        r++
      }
    }
    const p = this.head.forward(hRows, rows)
    return { p, targets: this.#targets, users: this.#users, rows }
  }

  /** Back-propagates dL/dP of the most recent forward into every parameter's gradient. */
  backward(dp: Float32Array): void {
    const batch = this.#b
    if (!batch) throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, 'HierTCN.backward() called before forward()')
    const B = batch.queues
    const S = batch.steps
    const L = batch.maxLength
    const D = this.spec.embeddingDim
    const H = this.gru ? this.spec.userHidden : 0
    const F = D + H
    const BS = B * S
    const C = this.tcn.outputSize
    const dh = this.head.backward(dp)
    const rows = dp.length / D
    const dY = this.#dY.get(BS * L * C)
    dY.fill(0)
    for (let r = 0; r < rows; r++) {
      const at = this.#rowsAt[r]
      dY.set(dh.subarray(r * C, r * C + C), at * C)
    }
    const dx = this.tcn.backward(dY)
    const gE = this.items.weight.grad
    const gS = this.start.grad
    const dO = this.#do.get(BS * H)
    if (H > 0) dO.fill(0)
    const carry = this.#carry.get(BS)
    for (let i = 0; i < BS; i++) {
      const n = batch.length[i]
      const s = i % S
      for (let p = 0; p < n; p++) {
        const o = (i * L + p) * F
        const tok = batch.input[i * L + p]
        const g = tok >= 0 ? gE : gS
        const go = tok >= 0 ? tok * D : 0
        for (let j = 0; j < D; j++) g[go + j] += dx[o + j]
        // u[i] = carry[i] * o[i - 1]: the gradient reaches the previous step's GRU output.
        if (H > 0 && s > 0) {
          const c = carry[i]
          const dst = (i - 1) * H
          for (let j = 0; j < H; j++) dO[dst + j] += c * dx[o + D + j]
        }
      }
    }
    if (this.gru) {
      const dm = this.gru.backward(dO)
      const E = gE
      for (let i = 0; i < BS; i++) {
        const n = batch.length[i]
        if (n === 0) continue
        const o = i * D
        let valid = 0
        for (let p = 0; p < n; p++) if (batch.items[i * L + p] >= 0) valid++
        for (let p = 0; p < n; p++) {
          const it = batch.items[i * L + p]
          if (it < 0) continue
          const e = it * D
          for (let j = 0; j < D; j++) E[e + j] += dm[o + j] / valid
        }
      }
    }
  }
}
