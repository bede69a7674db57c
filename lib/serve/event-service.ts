/**
 * User events and recommendations over the state store: an event reads the user's state blob,
 * advances it one HierTCN step (micro-batched with other users' events), and compare-and-sets it
 * back, retrying on a conflict with another replica. Events of one user within this process run
 * one after another; different users share batches.
 */
import { ErrorCodes, SimsageError } from '../errors.js'
import { MicroBatcher } from './batcher.js'
import type { HierTCNStreamer, StreamEvent } from './hiertcn-stream.js'
import { type StateStore, updateWithRetries } from './state-store.js'
import type { UserState } from './user-state.js'

/** Options of {@link EventService}. */
export interface EventServiceOptions {
  batching?: boolean
  /** Most users per batched step (default: the streamer's slots). */
  maxBatch?: number
  windowMs?: number
  /** Seconds a user's state lives after its last event (default 30 days; 0: forever). */
  ttlSeconds?: number
  onBatch?: (rows: number) => void
  /** Called on each state-store failure (metrics). */
  onStoreError?: (e: unknown) => void
}

/** A stepped state and its blob. */
type Encoded = { state: UserState; blob: Uint8Array }

/** What an event answers. */
export interface EventAnswer {
  user: string
  /** The user's event count after this one (its sequence number). */
  events: number
  /** Version of the stored state written. */
  version: number
}

/** What the server's event routes use: {@link EventService} (any store) or ResidentEventService. */
export interface UserEvents {
  readonly streamer: HierTCNStreamer
  event(user: string, item: string, options?: { newSession?: boolean; time?: number }): Promise<EventAnswer>
  recommend(user: string, k: number): Promise<{ items: string[]; scores: number[]; events: number }>
  state(user: string): Promise<UserState | undefined>
  drain(): Promise<void>
}

/** The item index of item id `item`; ERR_SIMSAGE_INVALID_ARGUMENT when the model does not know it. */
export function checkItem(streamer: HierTCNStreamer, item: string): number {
  const it = streamer.itemIndex(item)
  if (it === undefined) {
    throw new SimsageError(
      ErrorCodes.INVALID_ARGUMENT,
      `unknown item ${JSON.stringify(item)}: not in the model's vocabulary`,
    )
  }
  return it
}

/** Runs `fn` after every earlier call for `key` has settled (one user's events in order). */
export function serialize<T>(locks: Map<string, Promise<unknown>>, key: string, fn: () => Promise<T>): Promise<T> {
  const prev = locks.get(key) ?? Promise.resolve()
  const run = prev.then(fn, fn)
  const tail = run.then(
    () => undefined,
    () => undefined,
  )
  locks.set(key, tail)
  void tail.then(() => {
    if (locks.get(key) === tail) locks.delete(key)
  })
  return run
}

/** Applies events and answers recommendations; see the file comment. */
export class EventService implements UserEvents {
  readonly streamer: HierTCNStreamer
  readonly store: StateStore
  readonly #ttl: number
  readonly #batcher: MicroBatcher<StreamEvent, Encoded>
  readonly #locks = new Map<string, Promise<unknown>>()
  readonly #onStoreError: ((e: unknown) => void) | undefined

  constructor(streamer: HierTCNStreamer, store: StateStore, options: EventServiceOptions = {}) {
    this.streamer = streamer
    this.store = store
    this.#ttl = options.ttlSeconds ?? 30 * 86400
    this.#onStoreError = options.onStoreError
    this.#batcher = new MicroBatcher<StreamEvent, Encoded>({
      run: (evs) => {
        try {
          return streamer.stepEncoded(evs)
        } catch (e) {
          if (evs.length === 1) throw e
          // One bad state (a damaged blob) must not fail the other users' events: retry each alone.
          return evs.map((ev) => {
            try {
              return streamer.stepEncoded([ev])[0]
            } catch (err) {
              return err instanceof Error ? err : new Error(String(err))
            }
          })
        }
      },
      enabled: options.batching ?? true,
      maxBatch: Math.min(options.maxBatch ?? streamer.slots, streamer.slots),
      windowMs: options.windowMs ?? 1,
      maxInFlight: 1,
      onBatch: options.onBatch,
    })
  }

  /** Applies one event of `user` on item id `item`. */
  async event(user: string, item: string, options: { newSession?: boolean; time?: number } = {}): Promise<EventAnswer> {
    const it = checkItem(this.streamer, item)
    return serialize(this.#locks, user, async () => {
      const r = await this.#guard(
        updateWithRetries(
          this.store,
          user,
          async (cur) => {
            const state = cur ? this.streamer.decode(cur, { copy: false }) : undefined
            const next = await this.#batcher.add({
              state,
              item: it,
              newSession: options.newSession,
              time: options.time,
            })
            return { blob: next.blob, value: next.state.events }
          },
          { ttlSeconds: this.#ttl },
        ),
      )
      return { user, events: r.value, version: r.version }
    })
  }

  /** The user's top-k next items, seen items excluded; ERR_SIMSAGE_UNKNOWN_USER without a state. */
  async recommend(user: string, k: number): Promise<{ items: string[]; scores: number[]; events: number }> {
    const cur = await this.#guard(this.store.get(user))
    if (!cur) throw new SimsageError(ErrorCodes.UNKNOWN_USER, `no state for user ${JSON.stringify(user)}`)
    const state = this.streamer.decode(cur.blob, { copy: false })
    const [r] = await this.streamer.recommend([state], k)
    return { ...r, events: state.events }
  }

  /** The user's decoded state, or undefined. */
  async state(user: string): Promise<UserState | undefined> {
    const cur = await this.#guard(this.store.get(user))
    return cur ? this.streamer.decode(cur.blob) : undefined
  }

  /** Resolves once no event waits or runs. */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.#locks.values()])
    await this.#batcher.drain()
  }

  async #guard<T>(p: Promise<T>): Promise<T> {
    try {
      return await p
    } catch (e) {
      if (e instanceof SimsageError && e.code === ErrorCodes.UNAVAILABLE) this.#onStoreError?.(e)
      throw e
    }
  }
}
