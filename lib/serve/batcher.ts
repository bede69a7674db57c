/**
 * Micro-batching: concurrent requests merged into one call of a batch function, results split
 * back per request. When fewer than `maxInFlight` batches run, a batch is flushed at the end of
 * the current turn of the event loop (every request already read joins it, no added wait);
 * otherwise it grows until a running batch completes, `windowMs` after its first item at the
 * latest, or as soon as it holds `maxBatch` rows. So under load batches grow with the queue and
 * throughput rises with concurrency, while a lone request waits for nothing.
 */
import { ErrorCodes, SimsageError } from '../errors.js'

/** Options of {@link MicroBatcher}. */
export interface BatcherOptions<Q, R> {
  /**
   * Runs one batch: returns one result per item, in order; an `Error` in a slot fails only that
   * item. A throw (or rejection) fails every item of the batch.
   */
  run: (items: Q[]) => Promise<(R | Error)[]> | (R | Error)[]
  /** Most rows per batch (default 256). An item with more rows than this runs alone. */
  maxBatch?: number
  /** Longest wait, in milliseconds, from a batch's first item to its flush (default 1). */
  windowMs?: number
  /** Batches running at once (default 2). Items wait while this many run. */
  maxInFlight?: number
  /** false: every item runs at once as a batch of one (the one-per-request baseline). Default true. */
  enabled?: boolean
  /** Rows an item counts for (default 1). */
  rows?: (item: Q) => number
  /** Items with different keys never share a batch (default: all share). */
  key?: (item: Q) => string
  /** Called with each batch's row count as it starts (metrics). */
  onBatch?: (rows: number) => void
}

interface Pending<Q, R> {
  item: Q
  rows: number
  resolve: (r: R) => void
  reject: (e: unknown) => void
}

interface Queue<Q, R> {
  items: Pending<Q, R>[]
  rows: number
  timer: NodeJS.Timeout | NodeJS.Immediate | undefined
}

/** Merges concurrent {@link MicroBatcher.add} calls into batches of {@link BatcherOptions.run}. */
export class MicroBatcher<Q, R> {
  readonly maxBatch: number
  readonly windowMs: number
  readonly maxInFlight: number
  readonly enabled: boolean
  readonly #o: BatcherOptions<Q, R>
  readonly #queues = new Map<string, Queue<Q, R>>()
  #inFlight = 0
  #idle: (() => void)[] = []

  constructor(options: BatcherOptions<Q, R>) {
    this.#o = options
    this.maxBatch = options.maxBatch ?? 256
    this.windowMs = options.windowMs ?? 1
    this.maxInFlight = options.maxInFlight ?? 2
    this.enabled = options.enabled ?? true
    if (!Number.isInteger(this.maxBatch) || this.maxBatch < 1) {
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `maxBatch must be an integer >= 1, got ${this.maxBatch}`)
    }
    if (!(this.windowMs >= 0 && this.windowMs <= 1000)) {
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `windowMs must be in [0, 1000], got ${this.windowMs}`)
    }
    if (!Number.isInteger(this.maxInFlight) || this.maxInFlight < 1) {
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `maxInFlight must be an integer >= 1`)
    }
  }

  /** Items waiting plus batches running. */
  get pending(): number {
    let n = this.#inFlight
    for (const q of this.#queues.values()) n += q.items.length
    return n
  }

  /** Queues one item; resolves with its result once its batch has run. */
  add(item: Q): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const p: Pending<Q, R> = { item, rows: this.#o.rows?.(item) ?? 1, resolve, reject }
      if (!this.enabled) {
        void this.#run([p])
        return
      }
      const key = this.#o.key?.(item) ?? ''
      let q = this.#queues.get(key)
      if (q && q.items.length > 0 && q.rows + p.rows > this.maxBatch) {
        this.#flush(key, true)
        q = this.#queues.get(key)
      }
      if (!q) {
        q = { items: [], rows: 0, timer: undefined }
        this.#queues.set(key, q)
      }
      q.items.push(p)
      q.rows += p.rows
      if (q.rows >= this.maxBatch) this.#flush(key, true)
      else if (!q.timer) {
        // Idle: flush once the requests already read in this turn of the loop are queued. Busy:
        // the batch grows until a running one completes, or windowMs at most.
        q.timer =
          this.#inFlight < this.maxInFlight
            ? setImmediate(() => this.#flush(key, false))
            : setTimeout(() => this.#flush(key, true), this.windowMs)
      }
    })
  }

  /** Resolves once nothing waits or runs. */
  drain(): Promise<void> {
    if (this.pending === 0) return Promise.resolve()
    return new Promise((resolve) => this.#idle.push(resolve))
  }

  #flush(key: string, full: boolean): void {
    const q = this.#queues.get(key)
    if (!q || q.items.length === 0) return
    if (q.timer) {
      clearTimeout(q.timer as NodeJS.Timeout)
      clearImmediate(q.timer as NodeJS.Immediate)
      q.timer = undefined
    }
    // A batch not yet full waits for a running one to complete (it keeps growing meanwhile).
    if (!full && this.#inFlight >= this.maxInFlight) return
    this.#queues.delete(key)
    void this.#run(q.items)
  }

  async #run(batch: Pending<Q, R>[]): Promise<void> {
    this.#inFlight++
    let rows = 0
    for (const p of batch) rows += p.rows
    try {
      this.#o.onBatch?.(rows)
      const out = await this.#o.run(batch.map((p) => p.item))
      if (!Array.isArray(out) || out.length !== batch.length) {
        throw new SimsageError(ErrorCodes.INTERNAL, `a batch of ${batch.length} returned ${out?.length} results`)
      }
      batch.forEach((p, i) => {
        const r = out[i]
        if (r instanceof Error) p.reject(r)
        else p.resolve(r as R)
      })
    } catch (e) {
      for (const p of batch) p.reject(e)
    } finally {
      this.#inFlight--
      // Waiting queues go next, each as one batch.
      for (const key of [...this.#queues.keys()]) {
        if (this.#inFlight >= this.maxInFlight) break
        this.#flush(key, true)
      }
      if (this.pending === 0) for (const f of this.#idle.splice(0)) f()
    }
  }
}
