/**
 * User events with the states resident in native stream lanes ({@link ResidentEventService}): the
 * in-process default of the server. Each user holds a slot in one of a list of lanes (blocks of
 * `blockSize` users, added as users arrive, up to `maxUsers`); an event steps the user's streams in
 * place, micro-batched with other users of the same block: no state blob is decoded, restored,
 * saved or encoded, which is most of an event's cost with a blob store (EventService). Users past
 * `maxUsers` (least recently active first) or idle past the TTL are dropped, as the in-process blob
 * store drops them; the state of a user is a blob again only when asked for (`state()`).
 *
 * One process only: replicas that share users need a shared store (Redis) and EventService.
 */
import { LRUCache } from 'lru-cache'

import { ErrorCodes, SimsageError } from '../errors.js'
import { MicroBatcher } from './batcher.js'
import type { EventAnswer, UserEvents } from './event-service.js'
import { checkItem, serialize } from './event-service.js'
import type { HierTCNStreamer, StreamLanes, UserMeta } from './hiertcn-stream.js'
import type { UserState } from './user-state.js'

/** Options of {@link ResidentEventService}. */
export interface ResidentEventOptions {
  batching?: boolean
  /** Most users per batched step (default 256). */
  maxBatch?: number
  windowMs?: number
  /** Users kept (least recently active dropped first; default 1,000,000). */
  maxUsers?: number
  /** Users per lane block (default 4096, at most maxUsers). */
  blockSize?: number
  /** Seconds a user's state lives after its last event (default 30 days; 0: forever). */
  ttlSeconds?: number
  onBatch?: (rows: number) => void
}

interface Entry {
  block: number
  slot: number
  meta: UserMeta | undefined
  version: number
  /** Events queued or running for this entry: its slot is not reused before they end. */
  busy: number
  /** Dropped from the user map (evicted or expired); the slot is freed once not busy. */
  dropped: boolean
}

interface Job {
  entry: Entry
  item: number
  newSession?: boolean
  time?: number
}

/** Events and recommendations over resident stream lanes; see the file comment. */
export class ResidentEventService implements UserEvents {
  readonly streamer: HierTCNStreamer
  readonly maxUsers: number
  readonly blockSize: number
  readonly #blocks: StreamLanes[] = []
  readonly #free: { block: number; slot: number }[] = []
  readonly #users: LRUCache<string, Entry>
  readonly #batcher: MicroBatcher<Job, UserMeta>
  readonly #locks = new Map<string, Promise<unknown>>()

  constructor(streamer: HierTCNStreamer, options: ResidentEventOptions = {}) {
    this.streamer = streamer
    this.maxUsers = options.maxUsers ?? 1_000_000
    if (!Number.isInteger(this.maxUsers) || this.maxUsers < 1) {
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `maxUsers must be a positive integer, got ${this.maxUsers}`)
    }
    this.blockSize = Math.min(options.blockSize ?? 4096, this.maxUsers)
    if (!Number.isInteger(this.blockSize) || this.blockSize < 1) {
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `blockSize must be a positive integer, got ${this.blockSize}`)
    }
    const ttl = options.ttlSeconds ?? 30 * 86400
    this.#users = new LRUCache<string, Entry>({
      max: this.maxUsers,
      ...(ttl > 0 ? { ttl: ttl * 1000, ttlAutopurge: false } : {}),
      dispose: (entry) => {
        entry.dropped = true
        if (entry.busy === 0) this.#release(entry)
      },
    })
    this.#batcher = new MicroBatcher<Job, UserMeta>({
      run: (jobs) => this.#run(jobs),
      enabled: options.batching ?? true,
      maxBatch: options.maxBatch ?? 256,
      windowMs: options.windowMs ?? 1,
      maxInFlight: 1,
      key: (job) => String(job.entry.block),
      onBatch: options.onBatch,
    })
  }

  /** Users held now. */
  get users(): number {
    return this.#users.size
  }

  /** Applies one event of `user` on item id `item`. */
  async event(user: string, item: string, options: { newSession?: boolean; time?: number } = {}): Promise<EventAnswer> {
    const it = checkItem(this.streamer, item)
    return serialize(this.#locks, user, async () => {
      const entry = this.#users.get(user) ?? this.#admit(user)
      entry.busy++
      try {
        const meta = await this.#batcher.add({ entry, item: it, newSession: options.newSession, time: options.time })
        return { user, events: meta.events, version: entry.version }
      } finally {
        entry.busy--
        if (entry.dropped && entry.busy === 0) this.#release(entry)
      }
    })
  }

  /** The user's top-k next items, seen items excluded; ERR_SIMSAGE_UNKNOWN_USER without a state. */
  async recommend(user: string, k: number): Promise<{ items: string[]; scores: number[]; events: number }> {
    const meta = this.#users.get(user)?.meta
    if (!meta) throw new SimsageError(ErrorCodes.UNKNOWN_USER, `no state for user ${JSON.stringify(user)}`)
    const [r] = await this.streamer.recommend([meta], k)
    return { ...r, events: meta.events }
  }

  /** The user's state (with its stream blobs, as a blob store holds it), or undefined. */
  async state(user: string): Promise<UserState | undefined> {
    const e = this.#users.peek(user)
    return e?.meta ? this.streamer.snapshot(this.#blocks[e.block], e.slot, e.meta) : undefined
  }

  /** Resolves once no event waits or runs. */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.#locks.values()])
    await this.#batcher.drain()
  }

  /** Frees the lanes (after drain()). */
  dispose(): void {
    this.#users.clear()
    for (const b of this.#blocks) b.dispose()
    this.#blocks.length = 0
  }

  // A new user's entry and slot. Adding it may drop the least recently active user (LRU), whose
  // slot then comes back through dispose() (at once, or when its running events end).
  #admit(user: string): Entry {
    const entry: Entry = { block: -1, slot: -1, meta: undefined, version: 0, busy: 0, dropped: false }
    this.#users.set(user, entry)
    let at = this.#free.pop()
    if (!at) {
      const block = this.#blocks.length
      this.#blocks.push(this.streamer.lanes(this.blockSize))
      for (let s = this.blockSize - 1; s >= 1; s--) this.#free.push({ block, slot: s })
      at = { block, slot: 0 }
    }
    entry.block = at.block
    entry.slot = at.slot
    return entry
  }

  #release(entry: Entry): void {
    if (entry.slot < 0) return
    this.#free.push({ block: entry.block, slot: entry.slot })
    entry.slot = -1
  }

  // One block's jobs (distinct users, so distinct slots): the state advances in place and each
  // entry takes its new metadata before any other code runs (state() never sees half an update).
  #run(jobs: Job[]): (UserMeta | Error)[] {
    const lanes = this.#blocks[jobs[0].entry.block]
    const step = (js: Job[]) => {
      const metas = this.streamer.stepInLanes(
        lanes,
        js.map((j) => ({
          meta: j.entry.meta,
          slot: j.entry.slot,
          item: j.item,
          newSession: j.newSession,
          time: j.time,
        })),
      )
      js.forEach((j, i) => {
        j.entry.meta = metas[i]
        j.entry.version++
      })
      return metas
    }
    try {
      return step(jobs)
    } catch (e) {
      if (jobs.length === 1) throw e
      return jobs.map((j) => {
        try {
          return step([j])[0]
        } catch (err) {
          return err instanceof Error ? err : new Error(String(err))
        }
      })
    }
  }
}
