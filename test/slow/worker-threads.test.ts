// The addon in worker_threads: three workers and the main thread run the same workload at the same
// time (index build, add, addAsync, remove, search, searchSync, topkAsync, an nn and a mining call)
// and get the main thread's results; the workers exit cleanly (code 0), and a fresh worker loads the
// addon again after the others are gone.
import { Worker } from 'node:worker_threads'

import t from 'tap'

import { workload, type WorkloadResult } from '../fixtures/workers/workload.js'

const entry = new URL('../fixtures/workers/ts-worker.mjs', import.meta.url)
const module = new URL('../fixtures/workers/workload-worker.ts', import.meta.url).href

function runWorker(seed: number, rounds: number): Promise<{ result: WorkloadResult; code: number }> {
  return new Promise((resolve, reject) => {
    const w = new Worker(entry, { workerData: { module, seed, rounds } })
    let result: WorkloadResult | undefined
    w.on('message', (m: WorkloadResult) => (result = m))
    w.on('error', reject)
    w.on('exit', (code) =>
      result ? resolve({ result, code }) : reject(new Error(`worker exited with ${code} and no result`)),
    )
  })
}

t.test('three workers and the main thread at once get the same results', async (t) => {
  const seed = 42
  const rounds = 3
  const workers = [runWorker(seed, rounds), runWorker(seed, rounds), runWorker(seed, rounds)]
  let mine: WorkloadResult | undefined
  for (let r = 0; r < rounds; r++) mine = await workload(seed)
  const done = await Promise.all(workers)
  t.ok(mine, 'the main thread finished')
  t.equal(mine!.size, 20_000 - 3, 'main: the index held every vector minus the removed ones')
  t.equal(mine!.searchAsync.length, 64 * 10, 'main: every query answered')
  t.same(mine!.searchAsync, mine!.searchSync, 'main: search and searchSync agree')
  done.forEach(({ result, code }, i) => {
    t.equal(code, 0, `worker ${i} exited with code 0`)
    t.same(result, mine, `worker ${i}: results equal the main thread's`)
  })
})

t.test('a new worker loads the addon after the others have exited', async (t) => {
  const { result, code } = await runWorker(7, 1)
  t.equal(code, 0, 'exit code 0')
  t.same(result, await workload(7), 'same results as the main thread')
})
