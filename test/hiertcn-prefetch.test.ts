// The HierTCN batch prefetcher: batches built in a worker while the previous step trains are the
// queue generator's batches, in order (from a log in memory and from a partitioned spill); training
// on them gives bit-identical parameters and losses to the sequential path with the same seed; an
// epoch stopped early, a worker-side error and a closed prefetcher behave.
import { createHash } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

import t, { type Test } from 'tap'

import { ErrorCodes } from '../lib/errors.js'
import { spillInteractions } from '../lib/data/partitioned-log.js'
import { type SessionBatch, SessionBatches, type SessionBatchesOptions } from '../lib/data/session-batches.js'
import { loadInteractions } from '../lib/data/sessions.js'
import { HierTCN } from '../lib/models/hiertcn.js'
import { NextItemLoss } from '../lib/models/next-item-loss.js'
import { Adam } from '../lib/nn/optim.js'
import { Random } from '../lib/random.js'
import { progressSink } from '../lib/train/progress.js'
import { trainEpoch, trainEpochPrefetched } from '../lib/train/hiertcn.js'
import { BatchPrefetcher } from '../lib/train/hiertcn-prefetch.js'
import { rejectsCode } from './fixtures/assert.js'

function writeLog(t: Test, users: number): string {
  const rng = new Random(7)
  const rows = ['user_id,session_id,timestamp,item']
  for (let u = 0; u < users; u++) {
    let ts = 1000 + rng.int(5000)
    for (let s = 0; s < 1 + (u % 4); s++) {
      const n = 1 + rng.int(u % 9 === 0 ? 30 : 6)
      for (let a = 0; a < n; a++) rows.push(`u${u},${s},${(ts += 30)},i${rng.int(40)}`)
      ts += 40000
    }
  }
  mkdirSync(t.testdirName, { recursive: true })
  const path = join(t.testdirName, 'log.csv')
  writeFileSync(path, `${rows.join('\n')}\n`)
  return path
}

const FIELDS = ['input', 'target', 'items', 'length', 'carry', 'gap', 'user', 'offset', 'piece', 'sessionEnd'] as const

function digest(b: SessionBatch): string {
  const h = createHash('sha256').update(`${b.actions},${b.index},${b.queues},${b.steps},${b.maxLength}`)
  for (const f of FIELDS) h.update(new Uint8Array(b[f].buffer, b[f].byteOffset, b[f].byteLength))
  return h.digest('hex')
}

const OPTS: SessionBatchesOptions = { queues: 8, sessionSteps: 3, maxLength: 5, seed: 4, maxUserSessions: 2 }

t.test('prefetched batches are the generator batches, in order', async (t) => {
  const path = writeLog(t, 120)
  const log = await loadInteractions(path)
  const users = Int32Array.from({ length: log.numUsers }, (_, u) => u)
  const direct = (o: SessionBatchesOptions, src: ConstructorParameters<typeof SessionBatches>[0] = log) => {
    const out: string[] = []
    for (const b of new SessionBatches(src, users, o)) out.push(digest(b))
    return out
  }
  const pf = new BatchPrefetcher(log)
  t.teardown(() => pf.close())
  const drawn = async (o: SessionBatchesOptions, p = pf) => {
    const out: string[] = []
    for await (const b of p.epoch(users, o)) out.push(digest(b))
    return out
  }
  const want = direct(OPTS)
  t.ok(want.length > 3, `${want.length} batches`)
  t.same(await drawn(OPTS), want, 'the same batches')
  t.same(await drawn({ ...OPTS, seed: 9 }), direct({ ...OPTS, seed: 9 }), 'another epoch on the same worker')
  let n = 0
  for await (const _ of pf.epoch(users, OPTS)) if (++n === 2) break
  t.same(await drawn(OPTS), want, 'after an epoch stopped early')
  await rejectsCode(
    t,
    async () => {
      for await (const _ of pf.epoch(Int32Array.of(0, 10_000), OPTS));
    },
    ErrorCodes.INVALID_ARGUMENT,
    'a bad user: the worker error with its code',
  )
  const spill = await spillInteractions(path, { partitionUsers: 16, dir: t.testdirName })
  const fromSpill = new BatchPrefetcher(spill)
  t.same(
    await drawn(OPTS, fromSpill),
    direct({ ...OPTS, partitionUsers: 16 }),
    'from a spill: the whole log’s batches in partition order',
  )
  await fromSpill.close()
  spill.close()
  await pf.close()
  await rejectsCode(
    t,
    async () => {
      for await (const _ of pf.epoch(users, OPTS));
    },
    ErrorCodes.DISPOSED,
    'closed',
  )
})

t.test('training on prefetched batches equals training sequentially (same seed)', async (t) => {
  const log = await loadInteractions(writeLog(t, 60))
  const users = Int32Array.from({ length: log.numUsers }, (_, u) => u)
  const spec = {
    items: log.numItems,
    embeddingDim: 8,
    userHidden: 8,
    userLayers: 2,
    channels: [8, 8],
    dilations: [1, 2],
    kernelSize: 3,
    dropout: 0.2,
    decayTau: 0,
  }
  const run = async (prefetch: boolean) => {
    const model = new HierTCN(spec, 3)
    const loss = new NextItemLoss(model.output, model.itemBias, { kind: 'sampled', negatives: 8, rng: new Random(5) })
    const opt = new Adam(model.parameters(), { lr: 0.01 })
    const pf = prefetch ? new BatchPrefetcher(log) : undefined
    const losses: number[] = []
    for (let e = 0; e < 2; e++) {
      const o = { ...OPTS, seed: 4 + e }
      const f = pf
        ? await trainEpochPrefetched(model, pf.epoch(users, o), 8, loss, opt, progressSink(false))
        : trainEpoch(model, new SessionBatches(log, users, o), 8, loss, opt, progressSink(false))
      losses.push(f.loss, f.actions)
    }
    await pf?.close()
    const h = createHash('sha256')
    for (const p of model.parameters()) h.update(new Uint8Array(p.data.buffer, p.data.byteOffset, p.data.byteLength))
    return { losses, params: h.digest('hex') }
  }
  const seq = await run(false)
  const pre = await run(true)
  t.ok(seq.losses[1] > 0, 'actions trained')
  t.same(pre.losses, seq.losses, 'the same losses and action counts')
  t.equal(pre.params, seq.params, 'bit-identical parameters')
  const other = new HierTCN(spec, 4)
  const h = createHash('sha256')
  for (const p of other.parameters()) h.update(new Uint8Array(p.data.buffer, p.data.byteOffset, p.data.byteLength))
  t.not(h.digest('hex'), seq.params, 'the digest tells models apart')
})
