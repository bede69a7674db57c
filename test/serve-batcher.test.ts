// The micro-batcher (lib/serve/batcher.ts): concurrent items share batches up to maxBatch rows,
// keys never mix, a failing slot fails only its item, a throw fails the batch, disabled = one each.
import t from 'tap'

import { MicroBatcher } from '../lib/serve/batcher.js'

t.test('concurrent adds share batches of at most maxBatch rows, in order', async (t) => {
  const batches: number[][] = []
  const b = new MicroBatcher<number, number>({
    run: (xs) => {
      batches.push(xs)
      return xs.map((x) => x * 10)
    },
    maxBatch: 4,
  })
  const out = await Promise.all(Array.from({ length: 10 }, (_, i) => b.add(i)))
  t.same(
    out,
    Array.from({ length: 10 }, (_, i) => i * 10),
    'each item gets its own result',
  )
  t.ok(batches.length >= 3 && batches.length < 10, `${batches.length} batches`)
  t.ok(
    batches.every((x) => x.length <= 4),
    'no batch over maxBatch',
  )
  t.same(
    batches.flat(),
    Array.from({ length: 10 }, (_, i) => i),
    'order kept',
  )
  await b.drain()
  t.equal(b.pending, 0)
})

t.test('rows, keys, per-item errors, batch errors, disabled', async (t) => {
  const seen: string[][] = []
  const b = new MicroBatcher<{ k: string; n: number }, string>({
    run: (xs) => {
      seen.push(xs.map((x) => x.k))
      if (xs.some((x) => x.k === 'boom')) throw new Error('batch failed')
      return xs.map((x) => (x.n < 0 ? new Error(`bad ${x.n}`) : `${x.k}${x.n}`))
    },
    rows: (x) => x.n,
    key: (x) => x.k,
    maxBatch: 8,
  })
  const r = await Promise.allSettled([
    b.add({ k: 'a', n: 1 }),
    b.add({ k: 'b', n: 2 }),
    b.add({ k: 'a', n: -1 }),
    b.add({ k: 'a', n: 20 }),
  ])
  t.same(
    r.map((x) => x.status),
    ['fulfilled', 'fulfilled', 'rejected', 'fulfilled'],
    'a failing slot fails only its item; an item over maxBatch runs alone',
  )
  t.ok(
    seen.every((ks) => new Set(ks).size === 1),
    'keys never share a batch',
  )
  await t.rejects(b.add({ k: 'boom', n: 1 }), /batch failed/)
  const calls: number[] = []
  const solo = new MicroBatcher<number, number>({
    run: (xs) => {
      calls.push(xs.length)
      return xs
    },
    enabled: false,
  })
  await Promise.all([1, 2, 3].map((x) => solo.add(x)))
  t.same(calls, [1, 1, 1], 'disabled: one call per item')
  t.throws(() => new MicroBatcher({ run: (x) => x, maxBatch: 0 }), { code: 'ERR_SIMSAGE_INVALID_ARGUMENT' })
})
