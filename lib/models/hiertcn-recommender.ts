/**
 * Serving a trained {@link HierTCN}: the next items for users given their histories. The model
 * runs over each history (user-level GRU over the sessions, TCN over the current one) to a
 * prediction vector p; every item is scored exactly as in training, p · O[item] + bias[item], by an
 * inner-product `EmbeddingIndex` over rows [O[item], bias[item]] queried with [p, 1], so filters
 * (exclude what the user already touched, allow/deny lists) run natively inside the top-k.
 */
import type { SessionBatch } from '../data/session-batches.js'
import { ErrorCodes, SimsageError } from '../errors.js'
import { EmbeddingIndex } from '../similarity/embedding-index.js'
import type { HierTCN } from './hiertcn.js'

/** One user's history: item ids in time order, with session boundaries. */
export interface ServingHistory {
  /** Item ids (strings of the model's vocabulary), oldest first. */
  items: readonly string[]
  /**
   * Session id per action (same length as items): consecutive equal ids form a session. Default:
   * one session.
   */
  sessions?: readonly (string | number)[]
  /** Seconds per action (same length), for the user-state decay between sessions; default none. */
  times?: readonly number[]
}

/** Options of {@link HierTCNRecommender.recommend}. */
export interface RecommendOptions {
  /** Never recommend items already in the user's history (default false). */
  excludeSeen?: boolean
  /** The next action opens a new session (default false: it continues the last one). */
  newSession?: boolean
  /**
   * Seconds of the upcoming action, for the user-state decay of a new session (the gap from the
   * user's last action); default: no decay for it.
   */
  time?: number
  /** Only these item ids may be recommended. */
  allow?: readonly string[]
  /** These item ids are never recommended. */
  deny?: readonly string[]
}

/** Recommendations for one user. */
export interface Recommendation {
  /** Item ids, best first. */
  items: string[]
  /** Their scores (p · O[item] + bias[item]). */
  scores: number[]
  /** History actions on items the model does not know (skipped). */
  unknown: number
}

export class HierTCNRecommender implements Disposable {
  readonly model: HierTCN
  readonly vocabulary: readonly string[]
  /** Session pieces of at most this many positions (as in training; default 16). */
  readonly maxLength: number
  readonly #ids: Map<string, number>
  #index: EmbeddingIndex | undefined

  constructor(model: HierTCN, vocabulary: readonly string[], options: { maxLength?: number } = {}) {
    if (vocabulary.length !== model.spec.items) {
      throw new SimsageError(
        ErrorCodes.DIM_MISMATCH,
        `the vocabulary has ${vocabulary.length} items, the model ${model.spec.items}`,
      )
    }
    this.model = model
    this.vocabulary = vocabulary
    this.maxLength = options.maxLength ?? 16
    if (!Number.isInteger(this.maxLength) || this.maxLength < 2) {
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `maxLength must be an integer >= 2, got ${this.maxLength}`)
    }
    this.#ids = new Map(vocabulary.map((id, i) => [id, i]))
    const D = model.spec.embeddingDim
    const rows = new Float32Array(model.spec.items * (D + 1))
    const O = model.output.data
    for (let i = 0; i < model.spec.items; i++) {
      rows.set(O.subarray(i * D, i * D + D), i * (D + 1))
      rows[i * (D + 1) + D] = model.itemBias.data[i]
    }
    this.#index = new EmbeddingIndex({ dim: D + 1, metric: 'ip' })
    this.#index.add(
      Float64Array.from({ length: model.spec.items }, (_, i) => i),
      rows,
    )
  }

  /** The top-k next items for each history. The model's weights are read at construction. */
  async recommend(
    histories: readonly ServingHistory[],
    k: number,
    options: RecommendOptions = {},
  ): Promise<Recommendation[]> {
    const index = this.#index
    if (!index) throw new SimsageError(ErrorCodes.DISPOSED, 'the recommender was disposed')
    if (!Array.isArray(histories) || histories.length === 0) {
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, 'histories must be a non-empty array')
    }
    if (options.time !== undefined && !Number.isFinite(options.time)) {
      throw new SimsageError(ErrorCodes.NON_FINITE, `time must be a finite number of seconds, got ${options.time}`)
    }
    const { p, unknown, seen } = this.#predict(histories, options.newSession ?? false, options.time)
    const D = this.model.spec.embeddingDim
    const q = new Float32Array(histories.length * (D + 1))
    for (let b = 0; b < histories.length; b++) {
      q.set(p.subarray(b * D, b * D + D), b * (D + 1))
      q[b * (D + 1) + D] = 1
    }
    const toIds = (list: readonly string[] | undefined, what: string) => {
      if (list === undefined) return undefined
      if (!Array.isArray(list))
        throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `${what} must be an array of item ids`)
      return list.map((id) => this.#ids.get(id)).filter((x): x is number => x !== undefined)
    }
    const res = await index.search(q, k, {
      exclude: options.excludeSeen ? seen : undefined,
      allow: toIds(options.allow, 'allow'),
      deny: toIds(options.deny, 'deny'),
    })
    return histories.map((_, b) => {
      const m = res.get(b)
      return {
        items: Array.from(m.ids, (i) => this.vocabulary[i]),
        scores: Array.from(m.scores),
        unknown: unknown[b],
      }
    })
  }

  /** Runs the model over every history (one batch slot per user) and returns each prediction p. */
  #predict(histories: readonly ServingHistory[], newSession: boolean, now: number | undefined) {
    const L = this.maxLength
    const B = histories.length
    const unknown = new Array<number>(B).fill(0)
    const seen: number[][] = []
    // Per user: the sessions as item-index lists (unknown items skipped), plus the query position.
    const users: { sessions: number[][]; gaps: number[] }[] = histories.map((h, b) => {
      if (h === null || typeof h !== 'object' || !Array.isArray(h.items)) {
        throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `histories[${b}].items must be an array of item ids`)
      }
      const n = h.items.length
      for (const [name, arr] of [
        ['sessions', h.sessions],
        ['times', h.times],
      ] as const) {
        if (arr !== undefined && (!Array.isArray(arr) || arr.length !== n)) {
          throw new SimsageError(ErrorCodes.DIM_MISMATCH, `histories[${b}].${name} must have one entry per item (${n})`)
        }
      }
      const sessions: number[][] = []
      const gaps: number[] = []
      const mine: number[] = []
      let last: string | number | undefined
      let lastTime: number | undefined
      for (let a = 0; a < n; a++) {
        const s = h.sessions ? h.sessions[a] : 0
        const t = h.times ? h.times[a] : undefined
        if (t !== undefined && !Number.isFinite(t)) {
          throw new SimsageError(ErrorCodes.NON_FINITE, `histories[${b}].times[${a}] is not a finite number`)
        }
        if (sessions.length === 0 || s !== last) {
          sessions.push([])
          gaps.push(t !== undefined && lastTime !== undefined ? Math.max(0, t - lastTime) : 0)
        }
        last = s
        if (t !== undefined) lastTime = t
        const it = this.#ids.get(h.items[a])
        if (it === undefined) {
          unknown[b]++
          continue
        }
        sessions[sessions.length - 1].push(it)
        mine.push(it)
      }
      // Drop sessions emptied by unknown items (their gaps merge into the next session's).
      const kept: number[][] = []
      const keptGaps: number[] = []
      let carryGap = 0
      for (let s = 0; s < sessions.length; s++) {
        carryGap += gaps[s]
        if (sessions[s].length === 0) continue
        kept.push(sessions[s])
        keptGaps.push(kept.length === 1 ? 0 : carryGap)
        carryGap = 0
      }
      if (newSession || kept.length === 0) {
        kept.push([])
        keptGaps.push(kept.length > 1 && now !== undefined && lastTime !== undefined ? Math.max(0, now - lastTime) : 0)
      }
      seen.push(mine)
      return { sessions: kept, gaps: keptGaps }
    })
    // Cut sessions into pieces of <= L positions; the query position (-3) ends the last session.
    type Piece = { input: number[]; items: number[]; query: boolean; gap: number; piece: number }
    const pieces: Piece[][] = users.map(({ sessions, gaps }) => {
      const out: Piece[] = []
      sessions.forEach((items, s) => {
        const lastSession = s === sessions.length - 1
        const seq = lastSession ? [...items, -3] : items
        for (let from = 0; from < seq.length; from += L) {
          const slice = seq.slice(from, from + L)
          out.push({
            input: slice.map((_, p) => (from + p === 0 ? -2 : seq[from + p - 1])),
            items: slice.map((x) => (x === -3 ? -1 : x)),
            query: lastSession && from + L >= seq.length,
            gap: from === 0 ? gaps[s] : 0,
            piece: from / L,
          })
        }
      })
      return out
    })
    const S = Math.max(...pieces.map((x) => x.length))
    const n = B * S * L
    const batch: SessionBatch = {
      queues: B,
      steps: S,
      maxLength: L,
      input: new Int32Array(n).fill(-1),
      target: new Int32Array(n).fill(-1),
      items: new Int32Array(n).fill(-1),
      length: new Int32Array(B * S),
      carry: new Float32Array(B * S).fill(1),
      gap: new Float32Array(B * S),
      user: new Int32Array(B * S).fill(-1),
      piece: new Int32Array(B * S).fill(-1),
      sessionEnd: new Uint8Array(B * S),
      offset: new Int32Array(B * S),
      actions: B,
      index: 0,
    }
    for (let b = 0; b < B; b++) {
      // Right-align each user's pieces so every query lands on the batch's last step.
      const ps = pieces[b]
      const first = S - ps.length
      ps.forEach((pc, j) => {
        const i = b * S + first + j
        batch.length[i] = pc.input.length
        batch.carry[i] = j === 0 ? 0 : 1
        batch.gap[i] = pc.gap
        batch.piece[i] = pc.piece
        batch.user[i] = b
        for (let p = 0; p < pc.input.length; p++) {
          batch.input[i * L + p] = pc.input[p]
          batch.items[i * L + p] = pc.items[p]
        }
        if (pc.query) batch.target[i * L + pc.input.length - 1] = 0 // the prediction row
      })
    }
    const model = this.model
    model.training = false
    model.resetState(B)
    const pr = model.forward(batch)
    if (pr.rows !== B) throw new SimsageError(ErrorCodes.INTERNAL, `expected ${B} predictions, got ${pr.rows}`)
    return { p: Float32Array.from(pr.p), unknown, seen }
  }

  dispose(): void {
    this.#index?.dispose()
    this.#index = undefined
  }

  [Symbol.dispose](): void {
    this.dispose()
  }
}
