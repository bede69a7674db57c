/**
 * JSON schemas of the routes' bodies, parameters and answers (fastify validates requests with
 * them and serialises answers with the response schemas).
 */

const ids = { type: 'array', items: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } } as const
const matches = {
  type: 'object',
  properties: {
    ids: { type: 'array', items: { type: 'number' } },
    scores: { type: 'array', items: { type: 'number' } },
  },
} as const
const errorBody = {
  type: 'object',
  properties: {
    error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } } },
  },
} as const
const row = { type: 'array', maxItems: 1 << 20, items: { type: 'number' } } as const

/** POST /v1/search. */
export const searchSchema = {
  body: {
    type: 'object',
    properties: {
      vectors: { type: 'array', maxItems: 1 << 16, items: row },
      text: { type: 'array', maxItems: 1 << 16, items: { type: 'string' } },
      k: { type: 'integer', minimum: 1, default: 10 },
      allow: ids,
      deny: ids,
      // null first: with fastify's array coercion, null tried against `ids` first would become [0].
      exclude: { type: 'array', items: { anyOf: [{ type: 'null' }, ids] } },
    },
    anyOf: [{ required: ['vectors'] }, { required: ['text'] }],
    additionalProperties: false,
  },
  response: {
    200: {
      type: 'object',
      properties: {
        version: { type: 'integer' },
        metric: { type: 'string' },
        results: { type: 'array', items: matches },
      },
    },
    '4xx': errorBody,
    '5xx': errorBody,
  },
} as const

/** POST /v1/embed. */
export const embedSchema = {
  body: {
    type: 'object',
    properties: { inputs: { type: 'array', maxItems: 1 << 16, items: row } },
    required: ['inputs'],
    additionalProperties: false,
  },
  response: {
    200: {
      type: 'object',
      properties: {
        dim: { type: 'integer' },
        embeddings: { type: 'array', items: { type: 'array', items: { type: 'number' } } },
      },
    },
    '4xx': errorBody,
    '5xx': errorBody,
  },
} as const

const userId = { type: 'string', minLength: 1, maxLength: 256 } as const

/** POST /v1/events. */
export const eventSchema = {
  body: {
    type: 'object',
    properties: {
      user: userId,
      item: { anyOf: [{ type: 'string', minLength: 1, maxLength: 256 }, { type: 'integer' }] },
      newSession: { type: 'boolean' },
      time: { type: 'number' },
    },
    required: ['user', 'item'],
    additionalProperties: false,
  },
  response: {
    200: {
      type: 'object',
      properties: { user: { type: 'string' }, events: { type: 'integer' }, version: { type: 'integer' } },
    },
    '4xx': errorBody,
    '5xx': errorBody,
  },
} as const

/** GET /v1/recommend/:user. */
export const recommendSchema = {
  params: { type: 'object', properties: { user: userId }, required: ['user'] },
  querystring: { type: 'object', properties: { k: { type: 'integer', minimum: 1, default: 10 } } },
  response: {
    200: {
      type: 'object',
      properties: {
        user: { type: 'string' },
        events: { type: 'integer' },
        items: { type: 'array', items: { type: 'string' } },
        scores: { type: 'array', items: { type: 'number' } },
      },
    },
    '4xx': errorBody,
    '5xx': errorBody,
  },
} as const

/** POST /admin/reload. */
export const reloadSchema = {
  body: {
    anyOf: [
      {
        type: 'object',
        properties: { path: { type: 'string', minLength: 1, maxLength: 4096 } },
        additionalProperties: false,
      },
      { type: 'null' },
    ],
  },
  response: {
    200: {
      type: 'object',
      properties: { version: { type: 'integer' }, size: { type: 'integer' }, path: { type: 'string' } },
    },
    '4xx': errorBody,
    '5xx': errorBody,
  },
} as const
