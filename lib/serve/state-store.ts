/**
 * Per-user state storage for serving: versioned blobs with optimistic concurrency, so replicas
 * sharing one store never lose an update (read → compute → compare-and-set, retried on conflict).
 */
import { LRUCache } from 'lru-cache'
import { ErrorCodes, SimsageError } from '../errors.js'

/** A stored blob and its version (1 for the first write, +1 per write). */
export interface Versioned {
  blob: Uint8Array
  version: number
}

/**
 * Where user states live. Implementations throw SimsageError ERR_SIMSAGE_UNAVAILABLE when the
 * backing service cannot be reached (the HTTP routes answer 503).
 */
export interface StateStore {
  /** Human-readable kind ('memory', 'redis'). */
  readonly kind: string
  /** The user's blob and version, or undefined when none is stored (or it expired). */
  get(user: string): Promise<Versioned | undefined>
  /**
   * Writes `blob` as version expectedVersion + 1 if the stored version is `expectedVersion` (0: no
   * state stored); returns false, writing nothing, otherwise. The state expires `ttlSeconds` after
   * the write (0: never).
   */
  compareAndSet(user: string, expectedVersion: number, blob: Uint8Array, ttlSeconds: number): Promise<boolean>
  /** Whether the store can serve now (readiness). */
  ready(): boolean
  /** Releases connections. */
  close(): Promise<void>
}

/** Options of {@link updateWithRetries}. */
export interface UpdateOptions {
  /** Seconds the written state lives (0: forever). */
  ttlSeconds: number
  /** Attempts before giving up with ERR_SIMSAGE_UNAVAILABLE (default 32). */
  attempts?: number
}

/**
 * Read-modify-write of one user's state under optimistic concurrency: reads the current version,
 * computes the new blob with `update` (from the current blob, undefined for a new user), and
 * compare-and-sets it; on a conflict (another writer won) reads again and recomputes, after a
 * short randomised back-off. Returns the written blob, its version and `update`'s extra value.
 */
export async function updateWithRetries<T>(
  store: StateStore,
  user: string,
  update: (current: Uint8Array | undefined) => Promise<{ blob: Uint8Array; value: T }>,
  options: UpdateOptions,
): Promise<{ blob: Uint8Array; version: number; value: T; attempts: number }> {
  const attempts = options.attempts ?? 32
  for (let a = 1; a <= attempts; a++) {
    const cur = await store.get(user)
    const expected = cur?.version ?? 0
    const { blob, value } = await update(cur?.blob)
    if (await store.compareAndSet(user, expected, blob, options.ttlSeconds)) {
      return { blob, version: expected + 1, value, attempts: a }
    }
    await new Promise((r) => setTimeout(r, Math.random() * Math.min(20, a * 2)))
  }
  throw new SimsageError(
    ErrorCodes.UNAVAILABLE,
    `user ${JSON.stringify(user)}: state update lost ${attempts} races in a row; retry later`,
  )
}

interface Entry {
  blob: Uint8Array
  version: number
}

/** Options of {@link MemoryStateStore}. */
export interface MemoryStateStoreOptions {
  /** Most users kept; the least recently used go first (default 1,000,000). */
  maxUsers?: number
}

/**
 * In-process store: an LRU of users with a TTL per entry. The default when no Redis is given;
 * states are lost on restart and not shared between processes.
 */
export class MemoryStateStore implements StateStore {
  readonly kind = 'memory'
  readonly #lru: LRUCache<string, Entry>

  constructor(options: MemoryStateStoreOptions = {}) {
    this.#lru = new LRUCache<string, Entry>({ max: options.maxUsers ?? 1_000_000, ttlAutopurge: false })
  }

  /** Users stored now. */
  get size(): number {
    return this.#lru.size
  }

  async get(user: string): Promise<Versioned | undefined> {
    const e = this.#lru.get(user)
    return e ? { blob: e.blob, version: e.version } : undefined
  }

  async compareAndSet(user: string, expectedVersion: number, blob: Uint8Array, ttlSeconds: number): Promise<boolean> {
    const cur = this.#lru.get(user)?.version ?? 0
    if (cur !== expectedVersion) return false
    this.#lru.set(user, { blob, version: cur + 1 }, ttlSeconds > 0 ? { ttl: ttlSeconds * 1000 } : undefined)
    return true
  }

  ready(): boolean {
    return true
  }

  async close(): Promise<void> {
    this.#lru.clear()
  }
}
