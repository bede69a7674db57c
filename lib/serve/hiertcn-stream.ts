/**
 * HierTCN served one event at a time ({@link HierTCNStreamer}): each user's state (user-level GRU
 * state, the session TCN's rings, the current piece's item sum, the latest prediction) is a blob,
 * and an event advances it by one step without re-running the history. Many users step in one
 * batched native call per phase. The result equals {@link HierTCNRecommender} over the full
 * history (same session pieces of `maxLength`, same GRU update per piece, same decay).
 */
import { ErrorCodes, SimsageError } from '../errors.js'
import type { HierTCN } from '../models/hiertcn.js'
import { EmbeddingIndex } from '../similarity/embedding-index.js'
import type { GRUStream } from '../temporal/gru-stream.js'
import type { TCNStream } from '../temporal/tcn-stream.js'
import { type UserState, decodeUserState, encodeUserState, encodeUserStateWith } from './user-state.js'

/** One event for {@link HierTCNStreamer.step}. */
export interface StreamEvent {
  /** The user's state before the event; undefined for a new user. */
  state: UserState | undefined
  /** Item index (into the vocabulary). */
  item: number
  /** The event opens a new session (a new user always does). */
  newSession?: boolean
  /** Seconds of the event, for the between-session decay (model decayTau > 0). */
  time?: number
}

/** Options of {@link HierTCNStreamer}. */
export interface StreamerOptions {
  /** Session pieces of at most this many positions, as in training (default 16). */
  maxLength?: number
  /** Users one {@link HierTCNStreamer.step} call can take (default 256). */
  slots?: number
  /** Seen items kept per user for exclusion (default 1024). */
  maxSeen?: number
}

/** A user's state without its stream blobs: what stays in JS while the streams stay native. */
export type UserMeta = Omit<UserState, 'gru' | 'tcn'>

/**
 * Native stream states for `slots` users (HierTCN's two levels: the session TCN and the user GRU),
 * from {@link HierTCNStreamer.lanes}. A resident event store keeps users' states in lanes between
 * events instead of restoring and saving blobs ({@link HierTCNStreamer.stepInLanes}).
 */
export interface StreamLanes extends Disposable {
  readonly slots: number
  readonly tcn: TCNStream
  readonly gru: GRUStream | undefined
  dispose(): void
}

/** One event of {@link HierTCNStreamer.stepInLanes}: the user's slot in the lanes and its metadata. */
export interface LaneEvent {
  /** The user's state before the event (its streams in `slot`); undefined for a new user. */
  meta: UserMeta | undefined
  slot: number
  item: number
  newSession?: boolean
  time?: number
}

/** Steps many users' HierTCN streaming states; see the file comment. */
export class HierTCNStreamer implements Disposable {
  readonly model: HierTCN
  readonly vocabulary: readonly string[]
  readonly maxLength: number
  readonly slots: number
  readonly maxSeen: number
  readonly #ids: Map<string, number>
  readonly #lanes: StreamLanes
  readonly #index: EmbeddingIndex

  constructor(model: HierTCN, vocabulary: readonly string[], options: StreamerOptions = {}) {
    if (vocabulary.length !== model.spec.items) {
      throw new SimsageError(
        ErrorCodes.DIM_MISMATCH,
        `the vocabulary has ${vocabulary.length} items, the model ${model.spec.items}`,
      )
    }
    this.model = model
    this.vocabulary = vocabulary
    this.maxLength = options.maxLength ?? 16
    this.slots = options.slots ?? 256
    this.maxSeen = options.maxSeen ?? 1024
    this.#ids = new Map(vocabulary.map((id, i) => [id, i]))
    model.training = false
    this.#lanes = this.lanes(this.slots)
    const D = model.spec.embeddingDim
    const rows = new Float32Array(model.spec.items * (D + 1))
    for (let i = 0; i < model.spec.items; i++) {
      rows.set(model.output.data.subarray(i * D, i * D + D), i * (D + 1))
      rows[i * (D + 1) + D] = model.itemBias.data[i]
    }
    this.#index = new EmbeddingIndex({ dim: D + 1, metric: 'ip' })
    this.#index.add(
      Float64Array.from({ length: model.spec.items }, (_, i) => i),
      rows,
    )
  }

  /** Item index of an item id, or undefined when the model does not know it. */
  itemIndex(id: string): number | undefined {
    return this.#ids.get(id)
  }

  /**
   * Decodes a stored blob (ERR_SIMSAGE_CORRUPT_FILE / STATE_MISMATCH when it is not this model's).
   * `copy: false` leaves the stream states as views into `blob` (for {@link step}, which only reads them).
   */
  decode(blob: Uint8Array, options: { copy?: boolean } = {}): UserState {
    return decodeUserState(blob, this.model.spec.embeddingDim, options)
  }

  /** Encodes a state for the store. */
  encode(state: UserState): Uint8Array {
    return encodeUserState(state)
  }

  /**
   * Applies one event per row (rows ≤ slots, each a different user) and returns the new states.
   * Synchronous: each phase is one batched native call over the rows that need it.
   */
  step(events: readonly StreamEvent[]): UserState[] {
    return this.stepEncoded(events).map((r) => r.state)
  }

  /**
   * {@link step}, also returning each new state's blob (what {@link encode} gives), written as the
   * step saves the stream states: the state's `gru` and `tcn` are views into `blob`.
   */
  stepEncoded(events: readonly StreamEvent[]): { state: UserState; blob: Uint8Array }[] {
    const R = events.length
    if (R > this.slots) {
      throw new SimsageError(ErrorCodes.TOO_LARGE, `${R} events in one step; the streamer has ${this.slots} slots`)
    }
    this.#checkItems(events)
    const { tcn, gru } = this.#lanes
    for (let r = 0; r < R; r++) {
      const s = events[r].state
      if (s) {
        tcn.restore(r, s.tcn)
        if (gru) gru.restore(r, s.gru)
      }
    }
    const out = this.#advance(
      this.#lanes,
      events.map((ev) => ev.state),
      events,
      Int32Array.from({ length: R }, (_, r) => r),
    )
    return out.map((m, r) => {
      const rec = encodeUserStateWith(
        m,
        gru ? gru.stateSize : 0,
        tcn.stateSize,
        (o) => gru?.save(r, o),
        (o) => tcn.save(r, o),
      )
      return { state: { ...m, gru: rec.gru, tcn: rec.tcn }, blob: rec.blob }
    })
  }

  /** New native lanes of `slots` users' stream states (zeros), for {@link stepInLanes}. */
  lanes(slots: number): StreamLanes {
    const tcn = this.model.tcn.stream(slots)
    let gru: GRUStream | undefined
    try {
      gru = this.model.gru?.stream(slots)
    } catch (e) {
      tcn.dispose()
      throw e
    }
    const dispose = () => {
      tcn.dispose()
      gru?.dispose()
    }
    return { slots, tcn, gru, dispose, [Symbol.dispose]: dispose }
  }

  /**
   * Applies one event per row to states that live in `lanes` (rows in distinct slots): nothing is
   * restored or saved, the streams advance in place. A row without `meta` is a new user (its slot is
   * cleared first). Returns the new metadata per row. Synchronous.
   */
  stepInLanes(lanes: StreamLanes, events: readonly LaneEvent[]): UserMeta[] {
    this.#checkItems(events)
    const slots = Int32Array.from(events, (ev) => ev.slot)
    for (const ev of events) {
      if (!Number.isInteger(ev.slot) || ev.slot < 0 || ev.slot >= lanes.slots) {
        throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `slot ${ev.slot} is out of range`)
      }
    }
    return this.#advance(
      lanes,
      events.map((ev) => ev.meta),
      events,
      slots,
    )
  }

  /** A user's full state (with its stream blobs) from its slot in `lanes` and its metadata. */
  snapshot(lanes: StreamLanes, slot: number, meta: UserMeta): UserState {
    return {
      ...meta,
      pieceSum: Float32Array.from(meta.pieceSum),
      p: Float32Array.from(meta.p),
      seen: Int32Array.from(meta.seen),
      tcn: lanes.tcn.save(slot),
      gru: lanes.gru ? lanes.gru.save(slot) : new Uint8Array(0),
    }
  }

  #checkItems(events: readonly { item: number }[]): void {
    for (const ev of events) {
      if (!Number.isInteger(ev.item) || ev.item < 0 || ev.item >= this.model.spec.items) {
        throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `item index ${ev.item} is out of range`)
      }
    }
  }

  /**
   * The HierTCN step of every row: row r is `before[r]` (undefined: a new user), whose streams are in
   * stream `streams[r]` of `lanes` (a new user's are cleared here). Returns the new metadata.
   */
  #advance(
    lanes: StreamLanes,
    before: readonly (UserMeta | undefined)[],
    events: readonly { item: number; newSession?: boolean; time?: number }[],
    streams: Int32Array,
  ): UserMeta[] {
    const R = events.length
    const spec = this.model.spec
    const D = spec.embeddingDim
    const { tcn, gru } = lanes
    const H = gru ? spec.userHidden : 0
    const layers = spec.userLayers
    const L = this.maxLength
    const E = this.model.items.weight.data
    const out: UserMeta[] = []
    const open: boolean[] = []
    for (let r = 0; r < R; r++) {
      const s = before[r]
      if (s) {
        out.push({ ...s, pieceSum: Float32Array.from(s.pieceSum), p: new Float32Array(D) })
      } else {
        tcn.reset(streams[r])
        gru?.reset(streams[r])
        out.push({
          events: 0,
          lastTime: Number.NaN,
          sessionLength: 0,
          pieceCount: 0,
          carry: 1,
          pieceSum: new Float32Array(D),
          p: new Float32Array(D),
          seen: new Int32Array(0),
        })
      }
      open.push(!s || events[r].newSession === true)
    }
    const at = (rows: readonly number[]) => Int32Array.from(rows, (r) => streams[r])
    // The user-level state u = carry * top layer of h, per row [R, H].
    const u = new Float32Array(R * H)
    const top = (r: number, carry: number) => {
      if (!gru) return
      const h = gru.state(streams[r])
      const t = h.subarray((layers - 1) * H)
      for (let j = 0; j < H; j++) u[r * H + j] = carry * t[j]
    }
    // GRU step over the rows in `rows`: input = the piece mean, carry = the piece's carry.
    const gruStep = (rows: number[]) => {
      if (!gru || rows.length === 0) return
      const x = new Float32Array(rows.length * D)
      const c = new Float32Array(rows.length)
      rows.forEach((r, i) => {
        const s = out[r]
        for (let j = 0; j < D; j++) x[i * D + j] = s.pieceSum[j] / s.pieceCount
        c[i] = s.carry
      })
      gru.step(x, at(rows), c)
    }
    // Phase 1: a new session closes the previous one's last piece.
    gruStep(out.map((s, r) => (open[r] && before[r] && s.pieceCount > 0 ? r : -1)).filter((r) => r >= 0))
    // Phase 2: open sessions, step position 0 (the session-start token).
    const opening: number[] = []
    for (let r = 0; r < R; r++) {
      if (!open[r]) continue
      const s = out[r]
      const t = events[r].time
      const tau = spec.decayTau
      const gap = t !== undefined && Number.isFinite(s.lastTime) ? Math.max(0, t - s.lastTime) : 0
      s.carry = before[r] && tau > 0 && gap > 0 ? Math.exp(-gap / tau) : 1
      s.sessionLength = 0
      s.pieceCount = 0
      s.pieceSum.fill(0)
      if (before[r]) tcn.reset(streams[r])
      opening.push(r)
    }
    for (let r = 0; r < R; r++) top(r, out[r].carry)
    const F = D + H
    if (opening.length > 0) {
      const x = new Float32Array(opening.length * F)
      opening.forEach((r, i) => {
        x.set(this.model.start.data, i * F)
        x.set(u.subarray(r * H, r * H + H), i * F + D)
      })
      tcn.step(x, at(opening))
    }
    // The event's item joins the piece; a full piece goes through the GRU and restarts the TCN.
    const boundary: number[] = []
    for (let r = 0; r < R; r++) {
      const s = out[r]
      const it = events[r].item
      for (let j = 0; j < D; j++) s.pieceSum[j] += E[it * D + j]
      s.pieceCount++
      s.sessionLength++
      if (s.sessionLength % L === 0) boundary.push(r)
    }
    // Phase 3: pieces closed by this event.
    gruStep(boundary)
    for (const r of boundary) {
      const s = out[r]
      s.carry = 1
      s.pieceCount = 0
      s.pieceSum.fill(0)
      tcn.reset(streams[r])
      top(r, 1)
    }
    // Phase 4: every row steps its TCN with [E[item], u]; the head maps the output to p.
    const x = new Float32Array(R * F)
    for (let r = 0; r < R; r++) {
      const it = events[r].item
      x.set(E.subarray(it * D, it * D + D), r * F)
      x.set(u.subarray(r * H, r * H + H), r * F + D)
    }
    const y = tcn.step(x, streams)
    const p = this.model.head.forward(y, R)
    for (let r = 0; r < R; r++) {
      const s = out[r]
      const ev = events[r]
      s.p = p.slice(r * D, r * D + D)
      s.events += 1
      if (ev.time !== undefined) s.lastTime = ev.time
      s.seen = this.#addSeen(s.seen, ev.item)
    }
    return out
  }

  /** `seen` with `item` moved (or added) last, the oldest dropped past maxSeen. */
  #addSeen(seen: Int32Array, item: number): Int32Array {
    const at = seen.indexOf(item)
    const n = at >= 0 ? seen.length : Math.min(seen.length + 1, this.maxSeen)
    const out = new Int32Array(n)
    let o = 0
    for (let i = at >= 0 ? 0 : seen.length + 1 - n; i < seen.length; i++) if (i !== at) out[o++] = seen[i]
    out[o] = item
    return out
  }

  /**
   * The top-k next items of each state (p · O[item] + bias[item]), the state's seen items excluded.
   */
  async recommend(
    states: readonly Pick<UserState, 'p' | 'seen'>[],
    k: number,
  ): Promise<{ items: string[]; scores: number[] }[]> {
    const D = this.model.spec.embeddingDim
    const q = new Float32Array(states.length * (D + 1))
    states.forEach((s, b) => {
      q.set(s.p, b * (D + 1))
      q[b * (D + 1) + D] = 1
    })
    const res = await this.#index.search(q, k, { exclude: states.map((s) => s.seen) })
    return states.map((_, b) => {
      const m = res.get(b)
      return { items: Array.from(m.ids, (i) => this.vocabulary[i]), scores: Array.from(m.scores) }
    })
  }

  dispose(): void {
    this.#lanes.dispose()
    this.#index.dispose()
  }

  [Symbol.dispose](): void {
    this.dispose()
  }
}
