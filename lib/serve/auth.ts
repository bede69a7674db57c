/**
 * Bearer-token check in constant time: both sides hashed to 32-byte SHA-256 digests, compared with
 * crypto.timingSafeEqual (equal lengths whatever the token's length).
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import { ErrorCodes, SimsageError } from '../errors.js'

/** A token checker for `Authorization: Bearer <token>` headers. */
export class BearerAuth {
  readonly #digest: Buffer

  constructor(token: string) {
    if (typeof token !== 'string' || token.length === 0) {
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, 'the bearer token must be a non-empty string')
    }
    this.#digest = createHash('sha256').update(token).digest()
  }

  /** Whether the header carries the token. */
  accepts(header: string | undefined): boolean {
    const m = typeof header === 'string' ? /^Bearer\s+(.+)$/i.exec(header) : null
    const given = createHash('sha256')
      .update(m ? m[1] : '')
      .digest()
    return timingSafeEqual(given, this.#digest) && m !== null
  }

  /** Throws ERR_SIMSAGE_UNAUTHORIZED unless the header carries the token. */
  check(header: string | undefined): void {
    if (!this.accepts(header)) {
      throw new SimsageError(
        ErrorCodes.UNAUTHORIZED,
        'a valid bearer token is required (Authorization: Bearer <token>)',
      )
    }
  }
}
