/**
 * The last-item co-occurrence baseline (item-kNN on transitions): counts, over the training users'
 * histories, how often item j directly followed item i; the next action of any user is scored by the
 * row of the user's last action. The counts are a sparse CSR matrix (rows sorted by column), built
 * by one sort of the transition keys, so a large catalogue never needs a dense items × items matrix.
 */
import { type InteractionLog, itemCounts } from '../data/sessions.js'
import { higherCounts } from './popular.js'
import { checkUsers, type NextItemScorer } from './scorer.js'

/** Options of {@link cooccurrence}. */
export interface CooccurrenceOptions {
  /**
   * Count transitions across session boundaries too (the last action of a session → the first of the
   * user's next session). Default true: on the symfony log it scores higher on the validation users
   * (see the module notes in the report); within-session only is `false`.
   */
  acrossSessions?: boolean
  /**
   * Break ties by training popularity: score = count + pop / (maxPop + 1), so items never seen after
   * the last item are ordered by popularity rather than all tied (default true). Without it, every
   * unseen item ties with a true item of count 0 and, ranks counting strictly higher items only,
   * the metric is optimistic.
   */
  popularityTies?: boolean
}

/** A sparse items × items count matrix in CSR form. */
export interface TransitionCounts {
  /** numItems + 1 row offsets. */
  rowOffsets: Int32Array
  /** Column (next item) of each entry, ascending within a row. */
  cols: Int32Array
  /** Count of each entry (>= 1). */
  counts: Int32Array
}

/** Counts the transitions (previous action → next action) in the users' histories. */
export function transitionCounts(log: InteractionLog, users: Int32Array, acrossSessions = true): TransitionCounts {
  const V = log.numItems
  let n = 0
  for (let k = 0; k < users.length; k++) n += Math.max(0, log.actionsOf(users[k]) - 1)
  const keys = new Float64Array(n)
  n = 0
  for (let k = 0; k < users.length; k++) {
    const u = users[k]
    for (let s = log.userSessions[u]; s < log.userSessions[u + 1]; s++) {
      const a = log.sessionOffsets[s]
      const b = log.sessionOffsets[s + 1]
      const from = acrossSessions && s > log.userSessions[u] ? a : a + 1
      for (let i = from; i < b; i++) keys[n++] = log.item[i - 1] * V + log.item[i]
    }
  }
  const sorted = keys.subarray(0, n).sort()
  let entries = 0
  for (let i = 0; i < n; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) entries++
  const rowOffsets = new Int32Array(V + 1)
  const cols = new Int32Array(entries)
  const counts = new Int32Array(entries)
  let e = -1
  for (let i = 0; i < n; i++) {
    if (i === 0 || sorted[i] !== sorted[i - 1]) {
      e++
      const row = Math.floor(sorted[i] / V)
      cols[e] = sorted[i] - row * V
      rowOffsets[row + 1]++
    }
    counts[e]++
  }
  for (let r = 0; r < V; r++) rowOffsets[r + 1] += rowOffsets[r]
  return { rowOffsets, cols, counts }
}

/** The entry of `col` in row `row`, or -1 (binary search over the row's sorted columns). */
function findEntry(m: TransitionCounts, row: number, col: number): number {
  let lo = m.rowOffsets[row]
  let hi = m.rowOffsets[row + 1]
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (m.cols[mid] < col) lo = mid + 1
    else hi = mid
  }
  return lo < m.rowOffsets[row + 1] && m.cols[lo] === col ? lo : -1
}

/**
 * Last-item co-occurrence trained on `trainUsers`: the score of item j as the next action after the
 * user's last action i is count(i → j) (+ pop(j) / (maxPop + 1) with `popularityTies`). Ranks are
 * exact (double precision) in O(row length) per action.
 */
export function cooccurrence(
  log: InteractionLog,
  trainUsers: Int32Array,
  opts: CooccurrenceOptions = {},
): NextItemScorer & { readonly matrix: TransitionCounts } {
  checkUsers(log, trainUsers, 'trainUsers')
  const across = opts.acrossSessions ?? true
  const ties = opts.popularityTies ?? true
  const m = transitionCounts(log, trainUsers, across)
  const pop = itemCounts(log, trainUsers)
  const higherPop = higherCounts(pop)
  let maxPop = 0
  for (let i = 0; i < pop.length; i++) maxPop = Math.max(maxPop, pop[i])
  const w = ties ? 1 / (maxPop + 1) : 0
  return {
    name: `co-occurrence${across ? '' : ' (within sessions)'}${ties ? '' : ' (no tie-break)'}`,
    matrix: m,
    scores(_user, pos, out) {
      for (let i = 0; i < out.length; i++) out[i] = pop[i] * w
      const row = log.item[pos - 1]
      for (let e = m.rowOffsets[row]; e < m.rowOffsets[row + 1]; e++) out[m.cols[e]] += m.counts[e]
    },
    rank(_user, pos, t) {
      const row = log.item[pos - 1]
      const a = m.rowOffsets[row]
      const b = m.rowOffsets[row + 1]
      const et = findEntry(m, row, t)
      if (et >= 0) {
        // Every entry of the row scores >= 1 > any item outside it: only row entries can be higher.
        const st = m.counts[et] + pop[t] * w
        let rank = 0
        for (let e = a; e < b; e++) if (m.counts[e] + pop[m.cols[e]] * w > st) rank++
        return rank
      }
      // The true item is outside the row: every row entry is higher, plus the items outside the row
      // that are more popular (none without the tie-break).
      if (!ties) return b - a
      let rowMorePopular = 0
      for (let e = a; e < b; e++) if (pop[m.cols[e]] > pop[t]) rowMorePopular++
      return b - a + higherPop[t] - rowMorePopular
    },
  }
}
