/**
 * User state in Redis (ioredis): one string key per user holding a versioned blob, written by a
 * Lua compare-and-set so that replicas sharing the Redis never lose an update.
 *
 * Value layout: a 20-byte header, ASCII 'SSv1' then the version as 16 decimal digits
 * (zero-padded), followed by the blob bytes. The script compares the stored header's version with
 * the expected one and, when equal, writes header(version + 1) + blob with the user's TTL.
 */
import { Redis, type RedisOptions } from 'ioredis'
import { ErrorCodes, SimsageError } from '../errors.js'
import type { StateStore, Versioned } from './state-store.js'

const MAGIC = 'SSv1'
const HEADER = 20

/** KEYS[1] the user key; ARGV[1] expected version, ARGV[2] new value, ARGV[3] TTL seconds (0: none). */
const CAS_SCRIPT = `
local cur = redis.call('GET', KEYS[1])
local v = 0
if cur then
  if string.sub(cur, 1, 4) ~= '${MAGIC}' then return -1 end
  v = tonumber(string.sub(cur, 5, 20))
end
if v ~= tonumber(ARGV[1]) then return 0 end
local ttl = tonumber(ARGV[3])
if ttl > 0 then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ttl)
else
  redis.call('SET', KEYS[1], ARGV[2])
end
return 1
`

/** Options of {@link RedisStateStore}. */
export interface RedisStateStoreOptions {
  /** Key prefix (default 'simsage:user:'). */
  prefix?: string
  /** Milliseconds a command may take before it fails (default 2000). */
  commandTimeoutMs?: number
  /** Called on each store error (metrics). */
  onError?: (e: unknown) => void
}

/**
 * A {@link StateStore} over Redis. Commands fail fast while Redis is unreachable (no offline
 * queue): they throw ERR_SIMSAGE_UNAVAILABLE, {@link ready} is false, and ioredis reconnects in
 * the background, so service resumes when Redis returns.
 */
export class RedisStateStore implements StateStore {
  readonly kind = 'redis'
  readonly redis: Redis
  readonly #prefix: string
  readonly #onError: ((e: unknown) => void) | undefined

  /** @param url redis://host:port[/db] */
  constructor(url: string, options: RedisStateStoreOptions = {}) {
    this.#prefix = options.prefix ?? 'simsage:user:'
    this.#onError = options.onError
    const o: RedisOptions = {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      // Commands issued in one turn of the event loop (a batch of events' reads, then their writes) go
      // out as one pipeline.
      enableAutoPipelining: true,
      commandTimeout: options.commandTimeoutMs ?? 2000,
      lazyConnect: true,
      retryStrategy: (times) => Math.min(50 * times, 1000),
    }
    try {
      this.redis = new Redis(url, o)
    } catch (e) {
      throw new SimsageError(
        ErrorCodes.INVALID_ARGUMENT,
        `bad Redis URL ${JSON.stringify(url)}: ${(e as Error).message}`,
      )
    }
    // Connection errors are reported through ready() and the commands; never an unhandled 'error'.
    this.redis.on('error', (e) => this.#onError?.(e))
    this.redis.defineCommand('simsageCas', { numberOfKeys: 1, lua: CAS_SCRIPT })
  }

  /** Connects, waiting at most `timeoutMs` (default 5000); throws ERR_SIMSAGE_UNAVAILABLE otherwise. */
  async connect(timeoutMs = 5000): Promise<void> {
    if (this.redis.status === 'ready') return
    const connecting = this.redis.status === 'wait' ? this.redis.connect() : this.#whenReady()
    let timer: NodeJS.Timeout | undefined
    try {
      await Promise.race([
        connecting,
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no connection within ${timeoutMs} ms`)), timeoutMs)
        }),
      ])
    } catch (e) {
      throw this.#unavailable(e)
    } finally {
      clearTimeout(timer)
    }
  }

  #whenReady(): Promise<void> {
    return new Promise((resolve) => this.redis.once('ready', () => resolve()))
  }

  #unavailable(e: unknown): SimsageError {
    this.#onError?.(e)
    return new SimsageError(
      ErrorCodes.UNAVAILABLE,
      `the Redis state store is unavailable: ${(e as Error)?.message ?? e}`,
      {
        cause: e,
      },
    )
  }

  async get(user: string): Promise<Versioned | undefined> {
    let v: Buffer | null
    try {
      v = await this.redis.getBuffer(this.#prefix + user)
    } catch (e) {
      throw this.#unavailable(e)
    }
    if (v === null) return undefined
    if (v.length < HEADER || v.toString('latin1', 0, 4) !== MAGIC) {
      throw new SimsageError(
        ErrorCodes.CORRUPT_FILE,
        `user ${JSON.stringify(user)}: the stored state has no version header`,
      )
    }
    const version = Number(v.toString('latin1', 4, HEADER))
    return { blob: new Uint8Array(v.buffer, v.byteOffset + HEADER, v.length - HEADER), version }
  }

  async compareAndSet(user: string, expectedVersion: number, blob: Uint8Array, ttlSeconds: number): Promise<boolean> {
    const head = Buffer.from(MAGIC + String(expectedVersion + 1).padStart(16, '0'), 'latin1')
    const value = Buffer.concat([head, blob])
    let r: number
    try {
      r = await (
        this.redis as unknown as {
          simsageCas(key: string, expected: string, value: Buffer, ttl: string): Promise<number>
        }
      ).simsageCas(this.#prefix + user, String(expectedVersion), value, String(Math.max(0, Math.floor(ttlSeconds))))
    } catch (e) {
      throw this.#unavailable(e)
    }
    if (r === -1) {
      throw new SimsageError(
        ErrorCodes.CORRUPT_FILE,
        `user ${JSON.stringify(user)}: the stored state has no version header`,
      )
    }
    return r === 1
  }

  ready(): boolean {
    return this.redis.status === 'ready'
  }

  async close(): Promise<void> {
    try {
      await this.redis.quit()
    } catch {
      this.redis.disconnect()
    }
  }
}
