// The native memory an index holds is reported to V8 (AdjustExternalMemory), so the GC's
// heuristics see it: V8's external-memory count grows with add/addAsync and goes back on dispose()
// or, for an index never disposed, when the finalizer runs. The count is read through the raw
// binding's externalMemory(): Node 20's process.memoryUsage().external leaves the reported part out
// (it shows ArrayBuffer memory only), so it cannot show this.
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

import t from 'tap'

import { EmbeddingIndex } from '../lib/index.js'
import { binding } from '../lib/native/binding.js'
import { mulberry32, randomMatrix } from './fixtures/random.js'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

const N = 200_000
const DIM = 64
const VECTOR_BYTES = N * DIM * 4
const ids = Float64Array.from({ length: N }, (_, i) => i)
const vectors = randomMatrix(mulberry32(5), N, DIM)
const external = () => binding().externalMemory()

t.test('add() reports the vectors as external memory; dispose() gives it back', async (t) => {
  const before = external()
  const index = new EmbeddingIndex({ dim: DIM })
  index.add(ids, vectors)
  const grown = external() - before
  t.ok(grown >= VECTOR_BYTES, `external memory grew by ${grown} bytes (vectors: ${VECTOR_BYTES})`)
  t.ok(grown < VECTOR_BYTES * 2, 'and by less than twice the vectors (an estimate, not a guess)')
  index.remove(ids.subarray(0, 1000))
  const afterRemove = external() - before
  t.ok(
    afterRemove <= grown && afterRemove >= VECTOR_BYTES,
    `remove keeps the capacity and drops the per-row bookkeeping (${afterRemove})`,
  )
  index.dispose()
  t.ok(external() - before < VECTOR_BYTES / 10, `dispose() gave it back (${external() - before} bytes left)`)
})

t.test('addAsync() reports it too', async (t) => {
  const before = external()
  const index = new EmbeddingIndex({ dim: DIM })
  await index.addAsync(ids, vectors)
  const grown = external() - before
  t.ok(grown >= VECTOR_BYTES, `external memory grew by ${grown} bytes after addAsync`)
  index.dispose()
  t.ok(external() - before < VECTOR_BYTES / 10, 'dispose() gave it back')
})

t.test('an index never disposed gives it back when collected', async (t) => {
  const before = external()
  ;(() => {
    const index = new EmbeddingIndex({ dim: DIM })
    index.add(ids, vectors)
  })()
  t.ok(external() - before >= VECTOR_BYTES, 'reported while alive')
  for (let i = 0; i < 20 && external() - before >= VECTOR_BYTES / 10; i++) {
    gc()
    await new Promise((r) => setTimeout(r, 10))
  }
  t.ok(external() - before < VECTOR_BYTES / 10, `the finalizer gave it back (${external() - before} bytes left)`)
})
