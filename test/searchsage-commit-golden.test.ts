// The commit-log path of searchsage training does not drift: a fixed-seed run (scalar SIMD, so the
// numbers do not depend on the CPU) reproduces the losses, embeddings and metrics of
// test/fixtures/searchsage-commit-golden.json. Recorded before the training data type was
// generalised (which left it unchanged); re-recorded on purpose when the query task got its
// own frequency sketch (its counts had been shrinking the entity task's logQ frequencies) and again
// when each task's loss was weighted by its share of the pairs (it had weighed 1 whatever its share),
// and again when every task came to draw `batch` pairs a step, its loss weighed by its task weight.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

import t from 'tap'

import { setSimd } from '../lib/info.js'
import { type Fingerprint, searchSageFingerprint } from './fixtures/searchsage-fingerprint.js'

t.test('commit path: fixed-seed losses, embeddings and metrics as recorded', async (t) => {
  const golden = JSON.parse(
    readFileSync(join(import.meta.dirname, 'fixtures', 'searchsage-commit-golden.json'), 'utf8'),
  ) as Fingerprint
  setSimd('scalar')
  try {
    const fp = searchSageFingerprint()
    for (const k of Object.keys(golden) as (keyof Fingerprint)[]) {
      t.equal(fp[k].length, golden[k].length, `${k}: length`)
      // The scalar kernels give the same bits on this machine; a compiler that contracts
      // differently may move the last bits, never by 1e-5.
      const worst = Math.max(...fp[k].map((x, i) => Math.abs(x - golden[k][i]) / Math.max(1, Math.abs(golden[k][i]))))
      t.ok(worst <= 1e-5, `${k}: largest relative difference ${worst}`)
    }
    t.ok(golden.losses[2] < golden.losses[0], 'the recorded run learns')
  } finally {
    setSimd('auto')
  }
})
