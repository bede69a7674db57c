/**
 * Train/validation/test split of an interaction log's users by a seeded hash of the user id string,
 * so a user lands in the same part on every run and machine, whatever the file's row order.
 */
import { ErrorCodes, SimsageError } from '../errors.js'
import { describe } from '../validate.js'
import type { InteractionLog } from './sessions.js'

/** Options of {@link splitUsers}. */
export interface SplitUsersOptions {
  /** Any 32-bit integer (default 0). */
  seed?: number
  /** Shares of train, validation and test users (default [0.8, 0.1, 0.1]); non-negative, sum 1. */
  fractions?: readonly [number, number, number]
}

/** User indices of each part, ascending. */
export interface UserSplit {
  train: Int32Array
  valid: Int32Array
  test: Int32Array
}

function fmix32(h: number): number {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

const utf8 = new TextEncoder()

/**
 * A 32-bit hash of `id`'s UTF-8 bytes under `seed`: FNV-1a over the bytes, seeded and finished
 * with MurmurHash3's fmix32. Stable across platforms and versions (tests pin values).
 */
export function hashUserId(id: string, seed = 0): number {
  let h = (0x811c9dc5 ^ fmix32((seed | 0) + 0x9e3779b9)) >>> 0
  for (const b of utf8.encode(id)) h = Math.imul(h ^ b, 0x01000193)
  return fmix32(h)
}

/**
 * Splits the log's users: user `u` goes to train when hash(users[u]) / 2^32 < fractions[0], to
 * validation below fractions[0] + fractions[1], to test otherwise. The shares are the expected
 * ones (a hash split is not exact on small logs).
 */
export function splitUsers(log: InteractionLog, opts: SplitUsersOptions = {}): UserSplit {
  const seed = opts.seed ?? 0
  if (typeof seed !== 'number' || !Number.isInteger(seed)) {
    throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `seed must be an integer, got ${describe(seed)}`)
  }
  const f = opts.fractions ?? [0.8, 0.1, 0.1]
  if (
    !Array.isArray(f) ||
    f.length !== 3 ||
    f.some((x) => typeof x !== 'number' || !(x >= 0)) ||
    Math.abs(f[0] + f[1] + f[2] - 1) > 1e-9
  ) {
    throw new SimsageError(
      ErrorCodes.INVALID_ARGUMENT,
      `fractions must be three non-negative numbers summing to 1, got ${describe(f)}`,
    )
  }
  const cut0 = f[0] * 2 ** 32
  const cut1 = (f[0] + f[1]) * 2 ** 32
  const part = new Uint8Array(log.numUsers)
  const sizes = [0, 0, 0]
  for (let u = 0; u < log.numUsers; u++) {
    const h = hashUserId(log.users[u], seed)
    const k = h < cut0 ? 0 : h < cut1 ? 1 : 2
    part[u] = k
    sizes[k]++
  }
  const out = [new Int32Array(sizes[0]), new Int32Array(sizes[1]), new Int32Array(sizes[2])]
  const at = [0, 0, 0]
  for (let u = 0; u < log.numUsers; u++) out[part[u]][at[part[u]]++] = u
  return { train: out[0], valid: out[1], test: out[2] }
}
