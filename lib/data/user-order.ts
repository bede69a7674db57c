/**
 * The users of one epoch of the queue generator, partition by partition. Users are grouped into
 * partitions of `partitionUsers` consecutive user indices (partition p = users
 * [p·partitionUsers, (p+1)·partitionUsers)); an epoch visits the partitions in a seeded shuffled
 * order and, inside each, its users in a seeded shuffled order, so a reader needs one partition's
 * actions at a time. With one partition (`partitionUsers` ≥ the user count, the default) this is
 * one seeded shuffle of all users.
 *
 * A {@link UserReader} serves a partition's users: `logReader` from an in-memory `InteractionLog`,
 * `PartitionedLog` from a spill on disk; for the same users, seed and `partitionUsers` both give
 * the same users in the same order, so the batches are the same.
 */
import { Random } from '../random.js'
import type { SessionArrays } from './session-group.js'
import type { UserHistory } from './sessions.js'

/** One user handed to the queues: its actions and session offsets, with its place in the whole log. */
export interface QueuedUser extends UserHistory {
  /** User index in the whole log. */
  user: number
  /** Action index (in the whole log's user-major order) of the user's first action. */
  offset: number
}

/** Where the queue generator reads users from. */
export interface UserReader {
  /** Users in the whole log. */
  readonly numUsers: number
  /** Users per partition: partition p holds users [p·n, (p+1)·n); Infinity = one partition. */
  readonly partitionUsers: number
  /** Partition p's users `users` (all inside p), in that order, read lazily. */
  partition(p: number, users: Int32Array): Iterable<QueuedUser>
  /** Peak bytes of user data the reader held so far (partitions loaded), if it tracks them. */
  readonly peakBytes?: number
}

/**
 * A reader over a log already in memory (an `InteractionLog`, or its CSR arrays handed to a
 * worker): views into its arrays, nothing copied.
 */
export function logReader(
  log: SessionArrays & { readonly numUsers: number },
  partitionUsers = Number.POSITIVE_INFINITY,
): UserReader {
  return {
    numUsers: log.numUsers,
    partitionUsers,
    *partition(_p: number, users: Int32Array): Iterable<QueuedUser> {
      for (const u of users) {
        const a = log.userOffsets[u]
        const s0 = log.userSessions[u]
        const s1 = log.userSessions[u + 1]
        const sessionStart = new Int32Array(s1 - s0 + 1)
        for (let s = s0; s <= s1; s++) sessionStart[s - s0] = log.sessionOffsets[s] - a
        const b = log.userOffsets[u + 1]
        yield { item: log.item.subarray(a, b), time: log.time.subarray(a, b), sessionStart, user: u, offset: a }
      }
    },
  }
}

/** Seed of epoch `e`'s shuffles (the one-partition shuffle uses it as is). */
export function epochSeed(seed: number, e: number): number {
  return (seed * 0x9e3779b1 + e * 0x85ebca6b) | 0
}

/**
 * `users` grouped by partition in epoch order: [partition, its users][] with the partitions shuffled
 * by (seed, e) and the users of partition p shuffled by (seed, e, p); `shuffle: false` keeps
 * ascending partitions and the given order inside each.
 */
export function epochPartitions(
  users: Int32Array,
  partitionUsers: number,
  seed: number,
  e: number,
  shuffle: boolean,
): [number, Int32Array][] {
  const base = epochSeed(seed, e)
  const part = (u: number) => Math.floor(u / partitionUsers)
  const sizes = new Map<number, number>()
  for (const u of users) sizes.set(part(u), (sizes.get(part(u)) ?? 0) + 1)
  const ids = [...sizes.keys()].sort((a, b) => a - b)
  const groups = new Map(ids.map((p) => [p, { users: new Int32Array(sizes.get(p) ?? 0), n: 0 }]))
  for (const u of users) {
    const g = groups.get(part(u))
    if (g) g.users[g.n++] = u
  }
  if (shuffle) new Random((base ^ 0x68e31da4) | 0).shuffle(ids)
  return ids.map((p) => {
    const g = groups.get(p)?.users ?? new Int32Array(0)
    if (shuffle) new Random((base ^ Math.imul(p, 0x27d4eb2f)) | 0).shuffle(g)
    return [p, g]
  })
}

/** The users of epoch `e`, partition after partition (see the module comment). */
export function* epochUsers(
  reader: UserReader,
  users: Int32Array,
  seed: number,
  e: number,
  shuffle: boolean,
): Generator<QueuedUser> {
  for (const [p, group] of epochPartitions(users, reader.partitionUsers, seed, e, shuffle)) {
    yield* reader.partition(p, group)
  }
}
