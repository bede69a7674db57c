/**
 * The serving entry points of the package entry ('simsage'), loaded lazily: fastify, prom-client
 * and ioredis load on the first call, not when the package entry loads.
 */
import type { RedisStateStore, RedisStateStoreOptions } from './redis-store.js'
import type { ServerOptions, SimsageServer } from './server.js'

/** Builds the HTTP server (see lib/serve/server.ts and the README's Serving section). */
export async function createServer(options: ServerOptions): Promise<SimsageServer> {
  const { createServer: create } = await import('./server.js')
  return create(options)
}

/**
 * A Redis user-state store for {@link createServer}'s `store`, connected (waits at most
 * `timeoutMs`, default 5000; ERR_SIMSAGE_UNAVAILABLE when Redis does not answer).
 */
export async function createRedisStateStore(
  url: string,
  options: RedisStateStoreOptions & { timeoutMs?: number } = {},
): Promise<RedisStateStore> {
  const { RedisStateStore: Store } = await import('./redis-store.js')
  const store = new Store(url, options)
  try {
    await store.connect(options.timeoutMs)
  } catch (e) {
    await store.close()
    throw e
  }
  return store
}
