// The addon's native paths in a loop, watching resident memory (npm run test:leaks, docs/
// reliability.md): EmbeddingIndex create / add / addAsync / search / searchSync / remove / save /
// load / dispose, topk and topkAsync, the mining calls and a dense layer, and their error paths
// (bad ids, NaN, wrong dims, a search on a disposed index, a corrupt file). Each round does the same
// work; after a warm-up the resident set must not keep growing: a leak of even a few hundred bytes
// per call shows as tens of MB over the rounds.
//
//   node --import tsx --expose-gc scripts/leak-check.ts [--rounds N]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import {
  BatchHardMiner,
  EmbeddingIndex,
  Linear,
  pairwiseDistances,
  SimsageError,
  topk,
  topkAsync,
  tripletLoss,
} from '../lib/index.js'

const ri = process.argv.indexOf('--rounds')
const rounds = ri >= 0 ? Number(process.argv[ri + 1]) : 100
const dir = mkdtempSync(join(tmpdir(), 'simsage-leak-'))
const dim = 32
const n = 2000
const vectors = new Float32Array(n * dim).map((_, i) => Math.sin(i))
const ids = Array.from({ length: n }, (_, i) => i)
const queries = vectors.subarray(0, 16 * dim)
const bad = new Float32Array(dim).fill(Number.NaN)
const labels = new Int32Array(64).map((_, i) => i % 4)
let errors = 0

async function expectError(fn: () => unknown): Promise<void> {
  try {
    await fn()
  } catch (e) {
    if (!(e instanceof SimsageError)) throw e
    errors++
    return
  }
  throw new Error('expected a SimsageError')
}

async function round(): Promise<void> {
  for (const metric of ['ip', 'cosine', 'l2'] as const) {
    const index = new EmbeddingIndex({ dim, metric, metadata: { m: metric } })
    index.add(ids, vectors)
    await index.addAsync(ids.slice(0, 500), vectors.subarray(0, 500 * dim))
    await index.search(queries, 10, { deny: [1, 2], exclude: Array.from({ length: 16 }, () => [3]) })
    index.searchSync(queries, 3000, { allow: [5, 6, 7] })
    index.remove(ids.slice(0, 100))
    await expectError(() => index.add([1], bad))
    await expectError(() => index.addAsync([-1], vectors.subarray(0, dim)))
    await expectError(() => index.search(new Float32Array(dim + 1), 1))
    const file = join(dir, `i-${metric}.ssg`)
    await index.save(file)
    const again = await EmbeddingIndex.load(file)
    again.dispose()
    index.dispose()
    await expectError(() => index.search(queries, 1))
  }
  writeFileSync(join(dir, 'bad.ssg'), Buffer.alloc(200, 7))
  await expectError(() => EmbeddingIndex.load(join(dir, 'bad.ssg')))
  topk(queries, vectors, { dim, k: 10, metric: 'cosine', deny: [4] })
  await topkAsync(queries, vectors, { dim, k: 10, metric: 'l2' })
  await expectError(() => topk(queries, bad, { dim, k: 1 }))
  const emb = vectors.subarray(0, 64 * dim)
  pairwiseDistances(emb, { dim, metric: 'cosine' })
  const triplets = new BatchHardMiner({ metric: "euclidean" }).mine(emb, labels, dim)
  tripletLoss(emb, triplets, { dim, margin: 0.2 })
  await expectError(() => tripletLoss(emb, [0, 0, 99999], { dim, margin: 0.2 }))
  const layer = new Linear(dim, 8)
  layer.forward(emb, 64)
}

const rss: number[] = []
for (let r = 0; r < rounds; r++) {
  await round()
  globalThis.gc?.()
  await new Promise((resolve) => setTimeout(resolve, 10))
  rss.push(process.memoryUsage().rss / 2 ** 20)
}
rmSync(dir, { recursive: true, force: true })
// Compare the second half's mean with the end of the warm-up (a third of the rounds).
const warm = rss[Math.floor(rounds / 3)]
const last = rss.slice(Math.floor(rounds / 2))
const grown = last.reduce((a, b) => a + b, 0) / last.length - warm
const slope = (rss[rounds - 1] - warm) / (rounds - 1 - Math.floor(rounds / 3))
console.log(
  `leak-check: ${rounds} rounds, ${errors} coded errors, RSS ${rss[0].toFixed(1)} -> ${warm.toFixed(1)} (warm) -> ` +
    `${rss[rounds - 1].toFixed(1)} MiB, ${slope.toFixed(2)} MiB/round after warm-up`,
)
if (slope > 0.5 && grown > 8) {
  console.error('leak-check: resident memory keeps growing: a native leak?')
  process.exit(1)
}
