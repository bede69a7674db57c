/**
 * A router in front of shard servers (`simsage serve --shards url,url,...`): POST /v1/search sent
 * to every shard and merged exactly ({@link ShardRouter}), GET /healthz, GET /readyz (ready when
 * every shard is), GET /metrics. Same error bodies, auth and schemas as the shard servers.
 */
import Fastify, { type FastifyInstance } from 'fastify'
import { ErrorCodes, SimsageError } from '../errors.js'
import { BearerAuth } from './auth.js'
import { errorHandler, notFoundHandler } from './http-errors.js'
import { ServeMetrics } from './metrics.js'
import { searchSchema } from './schemas.js'
import { ShardRouter, type ShardSearch } from './shards.js'

/** Options of {@link createRouterServer}. */
export interface RouterServerOptions {
  /** Base URLs of the shard servers. */
  shards: readonly string[]
  /** Bearer token clients must send (required on /v1/* when set). */
  token?: string
  /** Bearer token of the shard servers (default: `token`). */
  shardToken?: string
  maxK?: number
  maxQueries?: number
  bodyLimit?: number
  logger?: boolean
}

/** A built router server. */
export interface RouterServer {
  app: FastifyInstance
  listen(port?: number, host?: string): Promise<string>
  close(): Promise<void>
}

/** Builds the router server. */
export async function createRouterServer(options: RouterServerOptions): Promise<RouterServer> {
  const router = new ShardRouter(options.shards, { token: options.shardToken ?? options.token })
  const metrics = new ServeMetrics()
  const auth = options.token !== undefined ? new BearerAuth(options.token) : undefined
  const maxK = options.maxK ?? 1000
  const maxQueries = options.maxQueries ?? 256
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: options.bodyLimit ?? 4 * 1024 * 1024,
    forceCloseConnections: 'idle',
  })
  app.setErrorHandler(errorHandler)
  app.setNotFoundHandler(notFoundHandler)
  app.addHook('onRequest', async (request) => {
    const path = request.routeOptions.url ?? request.url
    if (auth && (path.startsWith('/v1/') || path.startsWith('/admin/'))) auth.check(request.headers.authorization)
  })
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched'
    metrics.latency.observe(
      { route, method: request.method, status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    )
  })
  app.post<{ Body: ShardSearch & { text?: string[] } }>(
    '/v1/search',
    { schema: searchSchema },
    async (request, reply) => {
      const b = request.body
      if (b.text !== undefined) {
        throw new SimsageError(
          ErrorCodes.NO_QUERY_TOWER,
          'text queries need the OmniSearchSage query tower; send vectors',
        )
      }
      if (b.vectors.length === 0) throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, 'vectors is empty')
      if (b.vectors.length > maxQueries) {
        throw new SimsageError(
          ErrorCodes.TOO_LARGE,
          `${b.vectors.length} vectors in one request; the limit is ${maxQueries}`,
        )
      }
      if (b.k > maxK) throw new SimsageError(ErrorCodes.INVALID_K, `k = ${b.k} is over this server's limit of ${maxK}`)
      const r = await router.search(b)
      reply.header('x-simsage-index-version', r.versions.join(','))
      return { version: Math.min(...r.versions), results: r.results }
    },
  )
  const status = { response: { 200: { type: 'object', additionalProperties: true } } }
  app.get('/healthz', { schema: status }, async () => ({ status: 'ok' }))
  app.get('/readyz', { schema: status }, async () => {
    const states = await Promise.all(
      router.urls.map((u) =>
        fetch(`${u}/readyz`, { signal: AbortSignal.timeout(2000) }).then(
          // The body is read so the connection goes back to the pool (an unread one holds it).
          async (r) => {
            await r.arrayBuffer()
            return r.ok
          },
          () => false,
        ),
      ),
    )
    const down = router.urls.filter((_, i) => !states[i])
    if (down.length > 0) throw new SimsageError(ErrorCodes.UNAVAILABLE, `not ready: shards ${down.join(', ')} are not`)
    return { status: 'ready', shards: router.urls.length }
  })
  app.get('/metrics', { schema: { response: { 200: { type: 'string' } } } }, async (_request, reply) => {
    reply.header('content-type', metrics.registry.contentType)
    return metrics.registry.metrics()
  })
  const listen = async (port = 0, host = '127.0.0.1') => {
    await app.listen({ port, host })
    const a = app.server.address()
    if (a === null || typeof a === 'string') return String(a)
    return `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`
  }
  return { app, listen, close: () => app.close() }
}
