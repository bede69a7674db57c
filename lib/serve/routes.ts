/**
 * The routes (schemas in schemas.ts). Handlers validate what a schema cannot (dimensions against
 * the served index, k and row limits) and throw SimsageErrors; http-errors.ts answers them.
 */
import type { FastifyInstance } from 'fastify'
import { ErrorCodes, SimsageError } from '../errors.js'
import type { EmbedService } from './embed-service.js'
import type { UserEvents } from './event-service.js'
import type { IndexHolder } from './index-holder.js'
import type { ServeMetrics } from './metrics.js'
import { embedSchema, eventSchema, recommendSchema, reloadSchema, searchSchema } from './schemas.js'
import type { SearchService } from './search-service.js'
import type { StateStore } from './state-store.js'
import type { TextQueryService } from './text-query-service.js'

/** What the routes use. */
export interface RouteContext {
  holder: IndexHolder
  search: SearchService
  embed: EmbedService | undefined
  events: UserEvents | undefined
  /** The query tower for text searches, when the server has one. */
  textQuery: TextQueryService | undefined
  store: StateStore
  metrics: ServeMetrics
  maxK: number
  maxQueries: number
}

interface SearchBody {
  vectors?: number[][]
  text?: string[]
  k: number
  allow?: number[]
  deny?: number[]
  exclude?: (number[] | null)[]
}

/** Row-major Float32Array of equal-length rows (DIM_MISMATCH naming the first bad row). */
function toMatrix(rows: number[][], dim: number, what: string): Float32Array {
  const out = new Float32Array(rows.length * dim)
  rows.forEach((r, i) => {
    if (r.length !== dim) {
      throw new SimsageError(ErrorCodes.DIM_MISMATCH, `${what}[${i}] has ${r.length} values, expected ${dim}`)
    }
    out.set(r, i * dim)
  })
  return out
}

function checkK(k: number, maxK: number): void {
  if (k > maxK) throw new SimsageError(ErrorCodes.INVALID_K, `k = ${k} is over this server's limit of ${maxK}`)
}

function checkRows(n: number, max: number, what: string): void {
  if (n === 0) throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `${what} is empty`)
  if (n > max) throw new SimsageError(ErrorCodes.TOO_LARGE, `${n} ${what} in one request; the limit is ${max}`)
}

function needEvents(c: RouteContext): UserEvents {
  if (!c.events) {
    throw new SimsageError(
      ErrorCodes.NO_MODEL,
      'user events and recommendations need a HierTCN checkpoint: start the server with --model <dir> holding hiertcn.safetensors',
    )
  }
  return c.events
}

/** Adds every route to `app`. */
export function registerRoutes(app: FastifyInstance, c: RouteContext): void {
  app.post<{ Body: SearchBody }>('/v1/search', { schema: searchSchema }, async (request, reply) => {
    const b = request.body
    const dim = c.holder.current.index.dim
    let queries: Float32Array
    let nq: number
    if (b.text !== undefined) {
      if (b.vectors !== undefined) {
        throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, 'send either vectors or text, not both')
      }
      if (!c.textQuery) {
        throw new SimsageError(
          ErrorCodes.NO_QUERY_TOWER,
          'text queries need a query tower: start the server with --model <dir> holding searchsage.safetensors (simsage train searchsage); or send vectors',
        )
      }
      // The whole query vector, or its query → query prefix for an index of that dimension.
      if (c.textQuery.dim !== dim && c.textQuery.prefix !== dim) {
        throw new SimsageError(
          ErrorCodes.DIM_MISMATCH,
          `the query tower embeds to ${c.textQuery.dim} dimensions${c.textQuery.prefix < c.textQuery.dim ? ` (its query → query prefix: ${c.textQuery.prefix})` : ''}, the served index has ${dim}`,
        )
      }
      nq = b.text.length
      checkRows(nq, c.maxQueries, 'text')
      checkK(b.k, c.maxK)
      queries = await c.textQuery.embed(b.text, dim)
    } else {
      const vectors = b.vectors as number[][]
      nq = vectors.length
      checkRows(nq, c.maxQueries, 'vectors')
      checkK(b.k, c.maxK)
      queries = toMatrix(vectors, dim, 'vectors')
    }
    if (b.exclude && b.exclude.length !== nq) {
      throw new SimsageError(
        ErrorCodes.DIM_MISMATCH,
        `exclude has ${b.exclude.length} entries, one per query is needed (${nq})`,
      )
    }
    const answer = await c.search.search({
      queries,
      nq,
      dim,
      k: b.k,
      exclude: b.exclude,
      allow: b.allow,
      deny: b.deny,
    })
    reply.header('x-simsage-index-version', answer.version)
    return answer
  })

  app.post<{ Body: { inputs: number[][] } }>('/v1/embed', { schema: embedSchema }, async (request) => {
    if (!c.embed) {
      throw new SimsageError(
        ErrorCodes.NO_MODEL,
        'embeddings need a ranking tower: start the server with --model <dir> holding tower.safetensors',
      )
    }
    const rows = request.body.inputs
    checkRows(rows.length, c.maxQueries, 'inputs')
    const { inputDim, embeddingDim } = c.embed.spec
    const y = await c.embed.embed(toMatrix(rows, inputDim, 'inputs'))
    const embeddings: number[][] = []
    for (let i = 0; i < rows.length; i++)
      embeddings.push(Array.from(y.subarray(i * embeddingDim, (i + 1) * embeddingDim)))
    return { dim: embeddingDim, embeddings }
  })

  app.post<{ Body: { user: string; item: string | number; newSession?: boolean; time?: number } }>(
    '/v1/events',
    { schema: eventSchema },
    async (request) => {
      const b = request.body
      return needEvents(c).event(b.user, String(b.item), { newSession: b.newSession, time: b.time })
    },
  )

  app.get<{ Params: { user: string }; Querystring: { k: number } }>(
    '/v1/recommend/:user',
    { schema: recommendSchema },
    async (request) => {
      const events = needEvents(c)
      checkK(request.query.k, c.maxK)
      const r = await events.recommend(request.params.user, request.query.k)
      return { user: request.params.user, ...r }
    },
  )

  app.get(
    '/healthz',
    { schema: { response: { 200: { type: 'object', properties: { status: { type: 'string' } } } } } },
    async () => ({
      status: 'ok',
    }),
  )

  app.get(
    '/readyz',
    {
      schema: {
        response: {
          200: {
            type: 'object',
            properties: {
              status: { type: 'string' },
              index: { type: 'object', properties: { version: { type: 'integer' }, size: { type: 'integer' } } },
              store: { type: 'string' },
            },
          },
        },
      },
    },
    async () => {
      if (!c.store.ready()) {
        throw new SimsageError(ErrorCodes.UNAVAILABLE, `not ready: the ${c.store.kind} state store is unreachable`)
      }
      const s = c.holder.current
      return { status: 'ready', index: { version: s.version, size: s.index.size }, store: c.store.kind }
    },
  )

  app.get('/metrics', { schema: { response: { 200: { type: 'string' } } } }, async (_request, reply) => {
    c.metrics.indexSize.set(c.holder.current.index.size)
    reply.header('content-type', c.metrics.registry.contentType)
    return c.metrics.registry.metrics()
  })

  app.post<{ Body: { path?: string } | null }>('/admin/reload', { schema: reloadSchema }, async (request) => {
    try {
      const s = await c.holder.reload(request.body?.path ?? undefined)
      c.metrics.reloads.inc({ result: 'ok' })
      return { version: s.version, size: s.index.size, path: s.path }
    } catch (e) {
      c.metrics.reloads.inc({ result: 'failed' })
      throw e
    }
  })
}
