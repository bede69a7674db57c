/** The most-popular baseline: every user gets the items ranked by their action count in training. */
import { type InteractionLog, itemCounts } from '../data/sessions.js'
import { checkUsers, type NextItemScorer } from './scorer.js'

/**
 * For each item, how many items have a strictly larger count (its rank under a popularity score):
 * one sort, O(n log n).
 */
export function higherCounts(counts: ArrayLike<number>): Int32Array {
  const n = counts.length
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => counts[b] - counts[a])
  const higher = new Int32Array(n)
  let i = 0
  while (i < n) {
    let j = i
    while (j < n && counts[order[j]] === counts[order[i]]) j++
    for (let k = i; k < j; k++) higher[order[k]] = i
    i = j
  }
  return higher
}

/** Scores = action counts over `trainUsers` (the same for every user and step). */
export function mostPopular(log: InteractionLog, trainUsers: Int32Array): NextItemScorer {
  checkUsers(log, trainUsers, 'trainUsers')
  const counts = itemCounts(log, trainUsers)
  const higher = higherCounts(counts)
  return {
    name: 'most-popular',
    scores(_user, _pos, out) {
      for (let i = 0; i < counts.length; i++) out[i] = counts[i]
    },
    rank(_user, _pos, trueItem) {
      return higher[trueItem]
    },
  }
}
