/**
 * The HTTP server: fastify, a JSON schema on every route, every error as
 * `{ error: { code, message } }` with a stable code (http-errors.ts), the served index's version
 * in the `x-simsage-index-version` header of every answer.
 *
 *   POST /v1/search            vectors or texts (through the query tower) → top-k (allow / deny /
 *                              per-query exclude); texts without a query tower → 501
 *   POST /v1/embed             feature rows → embeddings through the ranking tower
 *   POST /v1/events            {user, item}: one HierTCN streaming step of that user's state
 *   GET  /v1/recommend/:user   top-k next items, the user's seen items excluded
 *   GET  /healthz  /readyz  /metrics
 *   POST /admin/reload         load a new index file and swap it in (bearer token required)
 */
import { type FSWatcher, watch } from 'node:fs'
import { basename, dirname } from 'node:path'
import Fastify, { type FastifyInstance } from 'fastify'
import { ErrorCodes, SimsageError } from '../errors.js'
import type { HierTCN } from '../models/hiertcn.js'
import type { TowerSpec } from '../models/ranking-tower.js'
import type { Sequential } from '../nn/sequential.js'
import { EmbeddingIndex } from '../similarity/embedding-index.js'
import { BearerAuth } from './auth.js'
import { EmbedService } from './embed-service.js'
import { EventService, type UserEvents } from './event-service.js'
import { HierTCNStreamer } from './hiertcn-stream.js'
import { errorHandler, notFoundHandler, toErrorAnswer } from './http-errors.js'
import { IndexHolder } from './index-holder.js'
import { ServeMetrics } from './metrics.js'
import { registerRoutes } from './routes.js'
import { SearchService } from './search-service.js'
import { ResidentEventService } from './resident-events.js'
import { MemoryStateStore, type StateStore } from './state-store.js'
import { TextQueryService } from './text-query-service.js'
import type { TextTower } from '../search/towers.js'

/** Options of {@link createServer}. */
export interface ServerOptions {
  /** The index to serve: a loaded one, or the path of an index file (loaded now). */
  index: EmbeddingIndex | string
  /** A ranking tower for /v1/embed. */
  tower?: { model: Sequential; spec: TowerSpec }
  /** An OmniSearchSage query tower (searchsage checkpoint) for text queries on /v1/search. */
  queryTower?: TextTower
  /**
   * The checkpoint's query → query prefix (`queryPrefix`): an index of that dimension (queries
   * embedded with `simsage embed --prefix query`) is searched with the query vectors' prefix.
   */
  queryPrefix?: number
  /** A HierTCN and its item vocabulary for /v1/events and /v1/recommend. */
  hiertcn?: { model: HierTCN; items: readonly string[]; maxLength?: number }
  /**
   * User-state store (Redis for replicas that share users; closed by close()). Without one, user
   * states stay resident in this process (ResidentEventService): no blob per event.
   */
  store?: StateStore
  /** Users kept in process without a store (least recently active dropped first; default 1,000,000). */
  maxUsers?: number
  /** Bearer token: required on /v1/* and /admin/* when set; /admin/* is refused without one. */
  token?: string
  /** Micro-batching on (default) or one native call per request. */
  batching?: boolean
  /** Longest wait of a micro-batch, ms (default 1). */
  windowMs?: number
  /** Rows per micro-batch (default 256). */
  maxBatch?: number
  /** Largest k (default 1000). */
  maxK?: number
  /** Most queries / input rows per request (default 256). */
  maxQueries?: number
  /** Largest request body, bytes (default 4 MiB). */
  bodyLimit?: number
  /** Query-embedding cache size (default 10,000; 0: off) and TTL in seconds (default 600). */
  cacheSize?: number
  cacheTtlSeconds?: number
  /** Seconds a user's state lives after its last event (default 30 days). */
  stateTtlSeconds?: number
  /** Reload the index when its file changes (default false; needs a path). */
  watch?: boolean
  /** fastify's logger option (default false). */
  logger?: boolean
}

/** A built server. */
export interface SimsageServer {
  /** The fastify instance (inject, listen, addresses). */
  app: FastifyInstance
  holder: IndexHolder
  metrics: ServeMetrics
  store: StateStore
  /** Listens (default 127.0.0.1, port 0 = any free one) and returns the base URL. */
  listen(port?: number, host?: string): Promise<string>
  /** Stops accepting, drains in-flight requests and batches, closes the store, frees the index. */
  close(): Promise<void>
}

/** Builds the server (listening is separate: see {@link SimsageServer.listen}). */
export async function createServer(options: ServerOptions): Promise<SimsageServer> {
  const index = typeof options.index === 'string' ? await EmbeddingIndex.load(options.index) : options.index
  const holder = new IndexHolder(index, typeof options.index === 'string' ? options.index : undefined)
  const metrics = new ServeMetrics()
  const onSwap = () => {
    metrics.indexSize.set(holder.current.index.size)
    metrics.indexVersion.set(holder.current.version)
  }
  holder.onSwap = onSwap
  onSwap()
  const store = options.store ?? new MemoryStateStore()
  const batching = options.batching ?? true
  const maxBatch = options.maxBatch ?? 256
  const windowMs = options.windowMs ?? 1
  const search = new SearchService(holder, {
    batching,
    maxBatch,
    windowMs,
    onBatch: (n) => metrics.batchSize.observe({ batcher: 'search' }, n),
  })
  const embed = options.tower
    ? new EmbedService(options.tower.model, options.tower.spec, {
        batching,
        maxBatch,
        windowMs,
        cacheSize: options.cacheSize,
        cacheTtlSeconds: options.cacheTtlSeconds,
        onBatch: (n) => metrics.batchSize.observe({ batcher: 'embed' }, n),
        onCache: (hit) => metrics.cache(hit),
      })
    : undefined
  const textQuery = options.queryTower
    ? new TextQueryService(options.queryTower, {
        prefix: options.queryPrefix,
        batching,
        maxBatch,
        windowMs,
        cacheSize: options.cacheSize,
        cacheTtlSeconds: options.cacheTtlSeconds,
        onBatch: (n) => metrics.batchSize.observe({ batcher: 'text' }, n),
        onCache: (hit) => metrics.cache(hit),
      })
    : undefined
  const streamer = options.hiertcn
    ? new HierTCNStreamer(options.hiertcn.model, options.hiertcn.items, {
        maxLength: options.hiertcn.maxLength,
        slots: maxBatch,
      })
    : undefined
  const onEventBatch = (n: number) => metrics.batchSize.observe({ batcher: 'events' }, n)
  const events: UserEvents | undefined = !streamer
    ? undefined
    : options.store
      ? new EventService(streamer, store, {
          batching,
          windowMs,
          ttlSeconds: options.stateTtlSeconds,
          onBatch: onEventBatch,
          onStoreError: () => metrics.stateStoreErrors.inc(),
        })
      : new ResidentEventService(streamer, {
          batching,
          windowMs,
          maxBatch,
          maxUsers: options.maxUsers,
          ttlSeconds: options.stateTtlSeconds,
          onBatch: onEventBatch,
        })
  const auth = options.token !== undefined ? new BearerAuth(options.token) : undefined

  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: options.bodyLimit ?? 4 * 1024 * 1024,
    forceCloseConnections: 'idle',
  })
  app.setErrorHandler(errorHandler)
  app.setNotFoundHandler(notFoundHandler)
  app.addHook('onRequest', async (request) => {
    const path = request.routeOptions.url ?? request.url
    if (path.startsWith('/admin/')) {
      if (!auth) throw new SimsageError(ErrorCodes.UNAUTHORIZED, 'admin routes need a server started with a token')
      auth.check(request.headers.authorization)
    } else if (auth && path.startsWith('/v1/')) {
      auth.check(request.headers.authorization)
    }
  })
  app.addHook('onSend', async (_request, reply, payload) => {
    if (!reply.hasHeader('x-simsage-index-version')) reply.header('x-simsage-index-version', holder.current.version)
    return payload
  })
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched'
    metrics.latency.observe(
      { route, method: request.method, status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    )
  })
  registerRoutes(app, {
    holder,
    search,
    embed,
    textQuery,
    events,
    store,
    metrics,
    maxK: options.maxK ?? 1000,
    maxQueries: options.maxQueries ?? 256,
  })

  let watcher: FSWatcher | undefined
  if (options.watch && holder.current.path) {
    let timer: NodeJS.Timeout | undefined
    // The directory is watched: an atomic save replaces the file (a rename), which a watch on
    // the file itself would stop following.
    const file = holder.current.path
    watcher = watch(dirname(file), (_event, name) => {
      if (name !== basename(file)) return
      clearTimeout(timer)
      timer = setTimeout(() => {
        holder.reload().then(
          () => metrics.reloads.inc({ result: 'ok' }),
          (e) => {
            metrics.reloads.inc({ result: 'failed' })
            app.log.warn({ code: toErrorAnswer(e).body.error.code }, 'index reload failed; the old index keeps serving')
          },
        )
      }, 200)
    })
  }

  let closing: Promise<void> | undefined
  const close = () => {
    closing ??= (async () => {
      watcher?.close()
      await app.close()
      await Promise.allSettled([search.drain(), embed?.drain(), textQuery?.drain(), events?.drain()])
      await store.close()
      if (events instanceof ResidentEventService) events.dispose()
      streamer?.dispose()
      holder.close()
    })()
    return closing
  }
  const listen = async (port = 0, host = '127.0.0.1') => {
    await app.listen({ port, host })
    const a = app.server.address()
    if (a === null || typeof a === 'string') return String(a)
    return `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`
  }
  return { app, holder, metrics, store, listen, close }
}
