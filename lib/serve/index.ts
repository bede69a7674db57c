/**
 * simsage's HTTP service (fastify): {@link createServer} and the pieces it is built from.
 */
export { BearerAuth } from './auth.js'
export { type BatcherOptions, MicroBatcher } from './batcher.js'
export { EmbedService, EmbeddingCache } from './embed-service.js'
export { EventService } from './event-service.js'
export { HierTCNStreamer, type StreamEvent, type StreamerOptions } from './hiertcn-stream.js'
export { statusOf, toErrorAnswer } from './http-errors.js'
export { IndexHolder, type Served } from './index-holder.js'
export { ServeMetrics } from './metrics.js'
export { RedisStateStore, type RedisStateStoreOptions } from './redis-store.js'
export { createServer, type ServerOptions, type SimsageServer } from './server.js'
export {
  mergeTopK,
  ShardRouter,
  type ShardMatches,
  type ShardRouterOptions,
  type ShardSearch,
  shardOf,
} from './shards.js'
export {
  MemoryStateStore,
  type StateStore,
  type UpdateOptions,
  type Versioned,
  updateWithRetries,
} from './state-store.js'
export { type UserState, decodeUserState, encodeUserState } from './user-state.js'
