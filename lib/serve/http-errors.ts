/**
 * The one place SimsageError codes become HTTP statuses, and every error answer's body:
 * `{ error: { code, message } }` with a stable `ERR_SIMSAGE_*` code.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { ErrorCodes, SimsageError, wrapNativeError } from '../errors.js'

/** HTTP status per error code; codes not listed answer 500. */
const STATUS: Readonly<Record<string, number>> = {
  [ErrorCodes.INVALID_ARGUMENT]: 400,
  [ErrorCodes.INVALID_TYPE]: 400,
  [ErrorCodes.DIM_MISMATCH]: 400,
  [ErrorCodes.INVALID_K]: 400,
  [ErrorCodes.UNKNOWN_METRIC]: 400,
  [ErrorCodes.NON_FINITE]: 400,
  [ErrorCodes.INVALID_ID]: 400,
  [ErrorCodes.MALFORMED_INPUT]: 400,
  [ErrorCodes.UNAUTHORIZED]: 401,
  [ErrorCodes.NOT_FOUND]: 404,
  [ErrorCodes.UNKNOWN_USER]: 404,
  [ErrorCodes.TOO_LARGE]: 413,
  [ErrorCodes.CORRUPT_FILE]: 422,
  [ErrorCodes.STATE_MISMATCH]: 422,
  [ErrorCodes.UNSUPPORTED]: 422,
  [ErrorCodes.NO_MODEL]: 501,
  [ErrorCodes.NO_QUERY_TOWER]: 501,
  [ErrorCodes.UNAVAILABLE]: 503,
  [ErrorCodes.DISPOSED]: 503,
}

/** The HTTP status of an error code (500 for codes not mapped). */
export function statusOf(code: string): number {
  return STATUS[code] ?? 500
}

/** The JSON body of an error answer. */
export interface ErrorBody {
  error: { code: string; message: string }
}

/** Fastify's own errors (parser, body limit, schema, routing) as SimsageErrors. */
function fromFastify(e: FastifyError): SimsageError | undefined {
  if (e.validation) {
    return new SimsageError(ErrorCodes.INVALID_ARGUMENT, `invalid request: ${e.message}`)
  }
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new SimsageError(ErrorCodes.TOO_LARGE, 'the request body is over the size limit')
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new SimsageError(ErrorCodes.MALFORMED_INPUT, `malformed JSON body: ${e.message}`)
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new SimsageError(ErrorCodes.MALFORMED_INPUT, 'the body must be application/json')
  }
  if (e instanceof SyntaxError || (e.statusCode === 400 && !(e instanceof SimsageError))) {
    return new SimsageError(ErrorCodes.MALFORMED_INPUT, e.message)
  }
  return undefined
}

/** Maps any thrown value to (status, body). Unknown errors are 500 INTERNAL with a generic message. */
export function toErrorAnswer(e: unknown): { status: number; body: ErrorBody } {
  let err = wrapNativeError(e)
  if (!(err instanceof SimsageError) && err instanceof Error) {
    err = fromFastify(err as FastifyError) ?? err
  }
  if (err instanceof SimsageError) {
    return { status: statusOf(err.code), body: { error: { code: err.code, message: err.message } } }
  }
  return { status: 500, body: { error: { code: ErrorCodes.INTERNAL, message: 'internal error' } } }
}

/** Fastify error handler: every 4xx/5xx answer has the {@link ErrorBody} shape. */
export function errorHandler(e: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const { status, body } = toErrorAnswer(e)
  if (status >= 500 && status !== 501 && status !== 503) request.log.error({ err: e }, 'request failed')
  void reply.status(status).send(body)
}

/** Not-found handler: an unknown route or method. */
export function notFoundHandler(request: FastifyRequest, reply: FastifyReply): void {
  void reply.status(404).send({
    error: { code: ErrorCodes.NOT_FOUND, message: `no route ${request.method} ${request.url.split('?')[0]}` },
  })
}
