/**
 * Commit logs for query → entity retrieval (OmniSearchSage on a git history): one commit per JSONL
 * line, `{"ts", "user_id", "session_id", "subject", "items"}` (`ts` in seconds, `items` the file
 * paths the commit touched; `user_id` and `session_id` numbers or strings). The commits are sorted
 * by time (stable: the file's order breaks ties) and split by position: the first `train` share
 * trains, the next `gap` share is dropped, the rest evaluates (the 90% / 1% / 9%).
 */
import { ErrorCodes, SimsageError } from '../errors.js'
import { checkPath } from '../io/fs.js'
import { describe } from '../validate.js'
import { jsonlError, jsonlId, jsonlRecords } from './jsonl.js'

/** One commit. */
export interface Commit {
  /** Seconds since the epoch. */
  ts: number
  user: string
  session: string
  subject: string
  items: string[]
}

/** Limits of {@link loadCommits}. */
export interface LoadCommitsOptions {
  /** Most items one commit may list (default 10,000). */
  maxItems?: number
}

/**
 * Reads a commit log (plain or gzip JSONL). Throws MALFORMED_INPUT with the line number for a line
 * that is not a commit object (missing or mistyped field, empty subject, an item that is not a
 * non-empty string), INVALID_ARGUMENT for a file without commits.
 */
export async function loadCommits(path: string, options: LoadCommitsOptions = {}): Promise<Commit[]> {
  const file = checkPath(path)
  const maxItems = options.maxItems ?? 10_000
  const commits: Commit[] = []
  for await (const chunk of jsonlRecords(file, 'read commits')) {
    for (const { line, value } of chunk) {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        throw jsonlError(file, line, `expected a commit object, got ${describe(value)}`)
      }
      const o = value as Record<string, unknown>
      if (typeof o.ts !== 'number' || !Number.isFinite(o.ts)) {
        throw jsonlError(file, line, `"ts" must be a finite number of seconds, got ${describe(o.ts)}`)
      }
      if (typeof o.subject !== 'string' || o.subject.trim() === '') {
        throw jsonlError(file, line, `"subject" must be a non-empty string, got ${describe(o.subject)}`)
      }
      if (!Array.isArray(o.items) || o.items.length > maxItems) {
        throw jsonlError(file, line, `"items" must be a list of at most ${maxItems} paths, got ${describe(o.items)}`)
      }
      const items = o.items.map((it, i) => {
        if (typeof it !== 'string' || it.length === 0) {
          throw jsonlError(file, line, `"items"[${i}] must be a non-empty string, got ${describe(it)}`)
        }
        return it
      })
      commits.push({
        ts: o.ts,
        user: jsonlId(o.user_id, file, line, 'user_id'),
        session: jsonlId(o.session_id, file, line, 'session_id'),
        subject: o.subject,
        items,
      })
    }
  }
  if (commits.length === 0) throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `${file} holds no commits`)
  return commits
}

/** Shares of {@link splitCommits}. */
export interface CommitSplitOptions {
  /** Share of commits (by time) that trains (default 0.9). */
  train?: number
  /** Share dropped between training and evaluation (default 0.01). */
  gap?: number
}

/** Commits split by time. */
export interface CommitSplit {
  train: Commit[]
  test: Commit[]
  /** The newest training commit's time and the oldest test commit's time. */
  trainEnd: number
  testStart: number
}

/** Sorts by time (stable) and splits; throws INVALID_ARGUMENT for shares outside [0, 1) or no test commits. */
export function splitCommits(commits: readonly Commit[], options: CommitSplitOptions = {}): CommitSplit {
  const train = options.train ?? 0.9
  const gap = options.gap ?? 0.01
  if (!(train > 0 && train < 1) || !(gap >= 0 && train + gap < 1)) {
    throw new SimsageError(
      ErrorCodes.INVALID_ARGUMENT,
      `split shares must satisfy 0 < train, 0 <= gap, train + gap < 1; got train ${train}, gap ${gap}`,
    )
  }
  const sorted = commits.map((c, i) => ({ c, i })).sort((a, b) => a.c.ts - b.c.ts || a.i - b.i)
  const n = sorted.length
  const trainEnd = Math.floor(n * train)
  const testStart = Math.floor(n * (train + gap))
  if (trainEnd < 1 || testStart >= n) {
    throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `${n} commits are too few to split ${train} / ${gap}`)
  }
  const all = sorted.map((s) => s.c)
  return {
    train: all.slice(0, trainEnd),
    test: all.slice(testStart),
    trainEnd: all[trainEnd - 1].ts,
    testStart: all[testStart].ts,
  }
}
