// Loads an interaction log, splits its users (seeded hash), evaluates the non-neural baselines on the
// validation and test users and prints the queue generator's data memory against padded histories.
// Usage: npx tsx scripts/session-baselines.ts [sessions.csv[.gz]] [seed] [B] [S] [L] [maxUserSessions]
import {
  cooccurrence,
  evaluateBaseline,
  loadInteractions,
  mostPopular,
  paddedHistoryBytes,
  SessionBatches,
  splitUsers,
} from '../lib/index.js'

const path = process.argv[2] ?? '../shared/data/symfony/sessions.csv.gz'
const seed = Number(process.argv[3] ?? 0)
const [B, S, L] = [Number(process.argv[4] ?? 64), Number(process.argv[5] ?? 8), Number(process.argv[6] ?? 16)]
const M = Number(process.argv[7] ?? 64)

let t0 = performance.now()
const log = await loadInteractions(path)
const loadMs = performance.now() - t0
console.log(
  `${path}: ${log.numActions} actions, ${log.numUsers} users, ${log.numSessions} sessions, ${log.numItems} items, ` +
    `${log.skipped} skipped; loaded in ${loadMs.toFixed(0)} ms; ${(log.bytes / 2 ** 20).toFixed(2)} MiB of arrays`,
)
const split = splitUsers(log, { seed })
console.log(`split (seed ${seed}): train ${split.train.length}, valid ${split.valid.length}, test ${split.test.length}`)

const f = (x: number) => x.toFixed(4)
const scorers = [
  () => mostPopular(log, split.train),
  () => cooccurrence(log, split.train),
  () => cooccurrence(log, split.train, { acrossSessions: false }),
  () => cooccurrence(log, split.train, { popularityTies: false }),
]
console.log('model | part | users | actions | R@1 | R@5 | R@10 | R@20 | MRR | build+eval ms')
for (const make of scorers) {
  for (const part of ['valid', 'test'] as const) {
    t0 = performance.now()
    const scorer = make()
    const r = evaluateBaseline(log, split[part], scorer)
    const ms = performance.now() - t0
    console.log(
      `${scorer.name} | ${part} | ${r.users} | ${r.actions} | ${f(r.recall1)} | ${f(r.recall5)} | ${f(r.recall10)} | ${f(r.recall20)} | ${f(r.mrr)} | ${ms.toFixed(0)}`,
    )
  }
}

const padded = paddedHistoryBytes(log, split.train, B)
for (const maxUserSessions of [Number.POSITIVE_INFINITY, M]) {
  t0 = performance.now()
  const gen = new SessionBatches(log, split.train, { queues: B, sessionSteps: S, maxLength: L, seed, maxUserSessions })
  let batches = 0
  let actions = 0
  let steps = 0
  for (const b of gen) {
    batches++
    actions += b.actions
    for (let j = 0; j < b.length.length; j++) if (b.length[j] > 0) steps++
  }
  const genMs = performance.now() - t0
  console.log(
    `queue generator B=${B} S=${S} L=${L} maxUserSessions=${maxUserSessions} on train users: ${batches} batches, ` +
      `${actions} targets, ${((100 * steps) / (batches * B * S)).toFixed(1)}% of steps used, ${genMs.toFixed(0)} ms/epoch; ` +
      `data ${(gen.dataBytes / 1024).toFixed(1)} KiB (batch ${(gen.batchBytes / 1024).toFixed(1)} KiB) vs padded whole ` +
      `histories ${(padded / 1024).toFixed(1)} KiB: ${(padded / gen.dataBytes).toFixed(1)}x smaller`,
  )
}
