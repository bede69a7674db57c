// Issue 8, defect 1: a worker thread that dies (terminate() from its parent, or process.exit() in
// the worker) while a native async call it started is still running must not take the process down.
// Settling the promise in an environment that is shutting down is a no-op. Each case runs in a
// child process, so an abort fails the test instead of killing the tap runner.
import { spawnSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

import t from 'tap'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const child = join(root, 'test', 'fixtures', 'workers', 'abandon-child.ts')

for (const op of ['search', 'topk', 'sync']) {
  for (const how of ['terminate', 'exit']) {
    t.test(
      `a worker that ${how === 'exit' ? 'calls process.exit()' : 'is terminated'} during ${{ search: 'EmbeddingIndex.search()', topk: 'topkAsync()', sync: 'a loop of synchronous calls' }[op]}`,
      async (t) => {
        const env = { ...process.env }
        delete env.NODE_OPTIONS
        const r = spawnSync(process.execPath, ['--import', 'tsx', child, op, how], {
          cwd: root,
          env,
          encoding: 'utf8',
          timeout: 60_000,
        })
        const out = `${r.stdout}\n${r.stderr}`
        t.equal(r.signal, null, `the child was not killed by a signal (${r.signal})`)
        t.equal(r.status, 0, `the child exited with 0\n${out}`)
        t.notMatch(out, /terminate called/, 'no C++ exception escaped')
        t.match(r.stdout, /worker exited/, 'the worker exited')
        t.match(r.stdout, /child done/, 'the process kept running after the worker died')
      },
    )
  }
}
