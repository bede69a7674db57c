/**
 * Losses for next-item prediction over an item catalogue. A model predicts a vector p (dim D) per
 * action; an item's score is p · E[item] + bias[item], with E the item table [items, D] (tied with
 * the model's input item embeddings, so the trained table is the item embedding that
 * `EmbeddingIndex` serves) and a learned per-item bias.
 *
 * - `softmax`: full softmax cross-entropy over every item (exact; cost grows with the catalogue).
 * - `sampled`: softmax over a candidate set: the batch's own targets (in-batch negatives) plus
 *   `negatives` items drawn uniformly, with the logQ correction (Yi et al., RecSys 2019): each
 *   candidate's logit is lowered by log q, its expected number of draws, so the sampled loss
 *   estimates the full one without popularity bias.
 * - `hinge`: the HierTCN paper's loss, mean over `negatives` uniformly drawn items of
 *   max(0, margin − s_pos + s_neg) (a drawn item equal to the row's target is skipped).
 *
 * `step` computes the mean loss over the rows, writes dL/dP and adds dL/dE, dL/dbias into the
 * parameters' gradients. Buffers are reused between calls.
 */
import { callNative, ErrorCodes, SimsageError } from '../errors.js'
import { binding } from '../native/binding.js'
import { type Parameter, Scratch } from '../nn/module.js'
import type { RandomSource } from '../random.js'

/** Which loss {@link NextItemLoss} computes. */
export type NextItemLossKind = 'softmax' | 'sampled' | 'hinge'

/** Options of {@link NextItemLoss}. */
export interface NextItemLossOptions {
  kind: NextItemLossKind
  /** Uniformly drawn negatives per batch for `sampled` and `hinge` (default 512). */
  negatives?: number
  /** Margin of `hinge` (default 1). */
  margin?: number
  /**
   * Each item's share of the training actions (sums to 1): the probability that an in-batch target
   * is that item, used by the logQ correction of `sampled`. Default: uniform.
   */
  itemFrequency?: Float32Array
  rng: RandomSource
}

export const NEXT_ITEM_LOSSES: readonly NextItemLossKind[] = ['softmax', 'sampled', 'hinge']

export class NextItemLoss {
  readonly kind: NextItemLossKind
  readonly items: Parameter
  readonly bias: Parameter
  readonly negatives: number
  readonly margin: number
  readonly #freq: Float32Array | undefined
  readonly #rng: RandomSource
  #logits = new Scratch()
  #dlogits = new Scratch()
  #dp = new Scratch()
  #cw = new Scratch()
  #cb = new Scratch()
  #cdw = new Scratch()
  #cdb = new Scratch()
  #mark: Int32Array

  constructor(items: Parameter, bias: Parameter, options: NextItemLossOptions) {
    if (!NEXT_ITEM_LOSSES.includes(options.kind)) {
      throw new SimsageError(
        ErrorCodes.INVALID_ARGUMENT,
        `loss must be one of ${NEXT_ITEM_LOSSES.join(', ')}, got ${String(options.kind)}`,
      )
    }
    if (items.shape.length !== 2 || bias.size !== items.shape[0]) {
      throw new SimsageError(ErrorCodes.DIM_MISMATCH, 'items must be [count, dim] and bias [count]')
    }
    this.kind = options.kind
    this.items = items
    this.bias = bias
    this.negatives = options.negatives ?? 512
    this.margin = options.margin ?? 1
    if (!Number.isInteger(this.negatives) || this.negatives < 1) {
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `negatives must be a positive integer, got ${this.negatives}`)
    }
    this.#freq = options.itemFrequency
    this.#rng = options.rng
    this.#mark = new Int32Array(items.shape[0]).fill(-1)
  }

  get count(): number {
    return this.items.shape[0]
  }

  get dim(): number {
    return this.items.shape[1]
  }

  /**
   * Full scores p · E^T + bias for `rows` predictions (evaluation): [rows, items], the loss's own
   * buffer (valid until the next call).
   */
  scores(p: Float32Array, rows: number): Float32Array {
    const v = this.count
    const y = this.#logits.get(rows * v)
    const args = { x: p, w: this.items.data, b: this.bias.data, y, batch: rows, inFeatures: this.dim, outFeatures: v }
    callNative(() => binding().nnLinearForward(args))
    return y
  }

  /**
   * Loss and gradients for `rows` predictions p [rows, D] whose true next items are `targets`.
   * Returns the mean loss and dL/dP [rows, D] (own buffer); adds into items.grad and bias.grad.
   */
  step(p: Float32Array, targets: Int32Array, rows: number): { loss: number; dp: Float32Array } {
    const d = this.dim
    if (p.length < rows * d || targets.length < rows) {
      throw new SimsageError(ErrorCodes.DIM_MISMATCH, `p must hold ${rows} x ${d} values and targets ${rows}`)
    }
    const dp = this.#dp.get(rows * d)
    if (rows === 0) return { loss: 0, dp }
    if (this.kind === 'softmax') return this.#full(p, targets, rows, dp)
    return this.#sampled(p, targets, rows, dp)
  }

  #full(p: Float32Array, targets: Int32Array, rows: number, dp: Float32Array) {
    const v = this.count
    const logits = this.scores(p, rows)
    const g = this.#dlogits.get(rows * v)
    let loss = 0
    for (let r = 0; r < rows; r++) loss += softmaxRow(logits, g, r * v, v, targets[r], 1 / rows)
    const args = {
      x: p,
      w: this.items.data,
      dy: g,
      dx: dp,
      dw: this.items.grad,
      db: this.bias.grad,
      batch: rows,
      inFeatures: this.dim,
      outFeatures: v,
      accumulate: true,
    }
    callNative(() => binding().nnLinearBackward(args))
    return { loss: loss / rows, dp }
  }

  /** Candidate columns: the batch's targets, then uniformly drawn items (unique). */
  #candidates(targets: Int32Array, rows: number): { cols: number[]; firstDrawn: number; draws: number } {
    const mark = this.#mark
    const cols: number[] = []
    // The targets come first (every row's positive column), then the drawn negatives.
    for (let r = 0; r < rows; r++) {
      const t = targets[r]
      if (mark[t] < 0) {
        mark[t] = cols.length
        cols.push(t)
      }
    }
    const firstDrawn = cols.length
    const v = this.count
    const draws = Math.min(this.negatives, v)
    for (let i = 0; i < draws; i++) {
      const c = Math.floor(this.#rng.next() * v)
      if (mark[c] < 0) {
        mark[c] = cols.length
        cols.push(c)
      }
    }
    return { cols, firstDrawn, draws }
  }

  #sampled(p: Float32Array, targets: Int32Array, rows: number, dp: Float32Array) {
    const d = this.dim
    const v = this.count
    const { cols, firstDrawn, draws } = this.#candidates(targets, rows)
    const m = cols.length
    const mark = this.#mark
    try {
      const cw = this.#cw.get(m * d)
      const cb = this.#cb.get(m)
      const E = this.items.data
      const B = this.bias.data
      for (let j = 0; j < m; j++) {
        cw.set(E.subarray(cols[j] * d, cols[j] * d + d), j * d)
        cb[j] = B[cols[j]]
      }
      if (this.kind === 'sampled') {
        // logQ: expected draws of each candidate = in-batch (rows x frequency) + uniform draws.
        for (let j = 0; j < m; j++) {
          const f = this.#freq ? this.#freq[cols[j]] : 1 / v
          cb[j] -= Math.log(rows * f + draws / v + 1e-12)
        }
      }
      const logits = this.#logits.get(rows * m)
      callNative(() =>
        binding().nnLinearForward({ x: p, w: cw, b: cb, y: logits, batch: rows, inFeatures: d, outFeatures: m }),
      )
      const g = this.#dlogits.get(rows * m)
      let loss = 0
      if (this.kind === 'sampled') {
        for (let r = 0; r < rows; r++) loss += softmaxRow(logits, g, r * m, m, mark[targets[r]], 1 / rows)
      } else {
        g.fill(0)
        const margin = this.margin
        for (let r = 0; r < rows; r++) {
          const o = r * m
          const pos = mark[targets[r]]
          const sPos = logits[o + pos]
          let n = 0
          for (let j = firstDrawn; j < m; j++) if (j !== pos) n++
          const w = 1 / (rows * Math.max(n, 1))
          for (let j = firstDrawn; j < m; j++) {
            if (j === pos) continue
            const h = margin - sPos + logits[o + j]
            if (h > 0) {
              loss += h * w * rows
              g[o + j] += w
              g[o + pos] -= w
            }
          }
        }
      }
      const cdw = this.#cdw.get(m * d)
      const cdb = this.#cdb.get(m)
      callNative(() =>
        binding().nnLinearBackward({
          x: p,
          w: cw,
          dy: g,
          dx: dp,
          dw: cdw,
          db: cdb,
          batch: rows,
          inFeatures: d,
          outFeatures: m,
          accumulate: false,
        }),
      )
      const gE = this.items.grad
      const gB = this.bias.grad
      for (let j = 0; j < m; j++) {
        const o = cols[j] * d
        for (let k = 0; k < d; k++) gE[o + k] += cdw[j * d + k]
        gB[cols[j]] += cdb[j]
      }
      return { loss: loss / rows, dp }
    } finally {
      for (const c of cols) mark[c] = -1
    }
  }
}

/**
 * Softmax cross-entropy of one row of logits [o, o + n) with true column t: writes
 * scale · (softmax − onehot) into g and returns −log softmax[t].
 */
function softmaxRow(logits: Float32Array, g: Float32Array, o: number, n: number, t: number, scale: number): number {
  let max = -Infinity
  for (let j = 0; j < n; j++) if (logits[o + j] > max) max = logits[o + j]
  let sum = 0
  for (let j = 0; j < n; j++) {
    const e = Math.exp(logits[o + j] - max)
    g[o + j] = e
    sum += e
  }
  const inv = scale / sum
  for (let j = 0; j < n; j++) g[o + j] *= inv
  g[o + t] -= scale
  return Math.log(sum) - (logits[o + t] - max)
}
