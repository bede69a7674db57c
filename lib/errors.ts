/**
 * Errors thrown by simsage. Every error has a stable `code` (a string starting `ERR_SIMSAGE_`) that
 * callers can branch on; messages may change between versions, codes do not.
 */

/** Stable error codes. */
export const ErrorCodes = {
  /** An argument has the wrong type, range or form. */
  INVALID_ARGUMENT: 'ERR_SIMSAGE_INVALID_ARGUMENT',
  /** A typed array of the wrong type (e.g. a Float64Array where a Float32Array is required). */
  INVALID_TYPE: 'ERR_SIMSAGE_INVALID_TYPE',
  /** A length or dimension does not match (vectors vs dim, queries vs index dim). */
  DIM_MISMATCH: 'ERR_SIMSAGE_DIM_MISMATCH',
  /** k is not a positive integer. */
  INVALID_K: 'ERR_SIMSAGE_INVALID_K',
  /** The metric is not 'ip', 'cosine' or 'l2'. */
  UNKNOWN_METRIC: 'ERR_SIMSAGE_UNKNOWN_METRIC',
  /** A vector holds NaN or ±Infinity. */
  NON_FINITE: 'ERR_SIMSAGE_NON_FINITE',
  /** An id is not a non-negative safe integer. */
  INVALID_ID: 'ERR_SIMSAGE_INVALID_ID',
  /** The object was disposed. */
  DISPOSED: 'ERR_SIMSAGE_DISPOSED',
  /** A saved file is corrupt, truncated or not a simsage file. */
  CORRUPT_FILE: 'ERR_SIMSAGE_CORRUPT_FILE',
  /**
   * Saved state (a stream's state blob, a checkpoint) belongs to a different model or configuration
   * than the one asked to restore it (other sizes, kernel, dilations or layer count).
   */
  STATE_MISMATCH: 'ERR_SIMSAGE_STATE_MISMATCH',
  /**
   * A text input (CSV, JSON, JSONL) is malformed: a missing column, a bad number, a wrong field count,
   * timestamps going backwards inside a session. The message gives the source and the line number.
   */
  MALFORMED_INPUT: 'ERR_SIMSAGE_MALFORMED_INPUT',
  /**
   * A file or directory named by the caller does not exist (ENOENT): a missing file to load, a
   * missing parent directory to save into. The message names the caller's path; `cause` is Node's error.
   */
  NOT_FOUND: 'ERR_SIMSAGE_NOT_FOUND',
  /**
   * Any other file-system failure: the path is a directory, a device, a FIFO or another non-regular
   * file; a symlink loop; permissions; a full disk. The message names the caller's path; `cause` is
   * Node's error where there is one.
   */
  IO: 'ERR_SIMSAGE_IO',
  /** A file format version or feature this build does not support. */
  UNSUPPORTED: 'ERR_SIMSAGE_UNSUPPORTED',
  /** The native addon is missing or failed to load. */
  ADDON_NOT_LOADED: 'ERR_SIMSAGE_ADDON_NOT_LOADED',
  /**
   * An optional package that a feature needs is not installed (e.g. `onnxruntime-node` for
   * `OnnxEncoder` and the benchmark's onnxruntime peer). The message names the packages and the
   * `npm install` command that adds them.
   */
  MISSING_DEPENDENCY: 'ERR_SIMSAGE_MISSING_DEPENDENCY',
  /** Native memory could not be allocated. */
  OUT_OF_MEMORY: 'ERR_SIMSAGE_OUT_OF_MEMORY',
  /** The operation was cancelled through its AbortSignal (e.g. training in a worker). */
  ABORTED: 'ERR_SIMSAGE_ABORTED',
  /** A request lacks the bearer token a route requires, or carries a wrong one (HTTP 401). */
  UNAUTHORIZED: 'ERR_SIMSAGE_UNAUTHORIZED',
  /** A backing service (the Redis user-state store) is unreachable; retry later (HTTP 503). */
  UNAVAILABLE: 'ERR_SIMSAGE_UNAVAILABLE',
  /** A request is over a size limit: body bytes, queries per request, rows per batch (HTTP 413). */
  TOO_LARGE: 'ERR_SIMSAGE_TOO_LARGE',
  /** A user id with no stored state (no event seen, or its state expired) (HTTP 404). */
  UNKNOWN_USER: 'ERR_SIMSAGE_UNKNOWN_USER',
  /** A server route needs a model the server was not started with (`--model`) (HTTP 501). */
  NO_MODEL: 'ERR_SIMSAGE_NO_MODEL',
  /** Text queries need the search query tower, which this build does not have yet (HTTP 501). */
  NO_QUERY_TOWER: 'ERR_SIMSAGE_NO_QUERY_TOWER',
  /** A bug: please report it. */
  INTERNAL: 'ERR_SIMSAGE_INTERNAL',
} as const

/** One of the values of {@link ErrorCodes}. */
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes] | `ERR_SIMSAGE_${string}`

/** The error class of every error simsage throws. */
export class SimsageError extends Error {
  /** Stable machine-readable code, e.g. `ERR_SIMSAGE_DIM_MISMATCH`. */
  readonly code: ErrorCode

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'SimsageError'
    this.code = code
  }
}

/** Re-throws a native error (plain Error with a `code`) as a SimsageError; other values pass through. */
export function wrapNativeError(e: unknown): unknown {
  if (e instanceof SimsageError) return e
  if (e instanceof Error && typeof (e as { code?: unknown }).code === 'string') {
    const code = (e as unknown as { code: string }).code
    if (code.startsWith('ERR_SIMSAGE_')) return new SimsageError(code as ErrorCode, e.message, { cause: e })
  }
  return e
}

/** Runs a native call, converting its errors to SimsageError. */
export function callNative<T>(fn: () => T): T {
  try {
    return fn()
  } catch (e) {
    throw wrapNativeError(e)
  }
}

/** Awaits a native promise, converting its rejection to SimsageError. */
export async function awaitNative<T>(p: Promise<T>): Promise<T> {
  try {
    return await p
  } catch (e) {
    throw wrapNativeError(e)
  }
}
