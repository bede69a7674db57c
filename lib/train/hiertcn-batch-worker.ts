/**
 * Worker entry of the HierTCN batch prefetcher (`hiertcn-prefetch.ts`): builds the queue
 * generator's batches off the training thread. `workerData` names the source: a log's CSR arrays
 * (copied once) or a partitioned spill to attach to (read here, a partition at a time).
 *
 * Protocol (parent → worker): `{ type: 'epoch', users, options, e }` starts an epoch; `{ type:
 * 'give', arrays }` hands a batch's arrays back for reuse (one credit); `{ type: 'stop' }` ends the
 * epoch early. Worker → parent: `{ type: 'batch', batch }` (its arrays transferred), `{ type:
 * 'end' }`, `{ type: 'error', code, message }`. At most `depth` batches are out at once.
 */
import { parentPort, workerData } from 'node:worker_threads'

import { SimsageError } from '../errors.js'
import { PartitionedLog } from '../data/partitioned-log.js'
import { type SessionBatch, SessionBatches, type SessionBatchesOptions } from '../data/session-batches.js'
import { logReader, type UserReader } from '../data/user-order.js'
import { BATCH_ARRAYS, type BatchSource } from './hiertcn-batch-protocol.js'

type Msg =
  | { type: 'epoch'; users: Int32Array; options: SessionBatchesOptions; e: number }
  | { type: 'give'; arrays: ArrayBufferLike[] }
  | { type: 'stop' }

// Only when started as the prefetcher's worker: the package may be imported by any worker thread.
const port = (workerData as { source?: BatchSource } | undefined)?.source ? parentPort : null
if (port) {
  const { source, depth } = workerData as { source: BatchSource; depth: number }
  const reader: UserReader =
    source.kind === 'arrays' ? logReader(source.arrays, source.partitionUsers) : PartitionedLog.attach(source.spill)
  const free: SessionBatch[] = []
  let out = 0
  let stop = false
  let wake: (() => void) | undefined

  /** A batch object holding a copy of `b` in recycled (or new) arrays. */
  const copy = (b: SessionBatch): SessionBatch => {
    const c = free.pop() ?? ({ ...b } as SessionBatch)
    const o = c as unknown as Record<string, ArrayLike<number> & { set(a: ArrayLike<number>): void }>
    for (const f of BATCH_ARRAYS) {
      const src = b[f]
      const dst = o[f] as typeof src
      if (dst === src || dst.length !== src.length) o[f] = src.slice() as never
      else dst.set(src as never)
    }
    return Object.assign(c, {
      queues: b.queues,
      steps: b.steps,
      maxLength: b.maxLength,
      actions: b.actions,
      index: b.index,
    })
  }

  const run = async (m: Extract<Msg, { type: 'epoch' }>) => {
    stop = false
    out = 0
    try {
      const gen = new SessionBatches(reader, m.users, { ...m.options, buffers: 1 }).epoch(m.e)
      for (const b of gen) {
        while (out >= depth && !stop) await new Promise<void>((r) => (wake = r))
        if (stop) break
        const c = copy(b)
        out++
        port.postMessage(
          { type: 'batch', batch: c },
          BATCH_ARRAYS.map((f) => c[f].buffer as ArrayBuffer),
        )
      }
      port.postMessage({ type: 'end' })
    } catch (e) {
      const code = e instanceof SimsageError ? e.code : undefined
      port.postMessage({ type: 'error', code, message: (e as Error).message })
    }
  }

  port.on('message', (m: Msg) => {
    if (m.type === 'epoch') {
      void run(m)
    } else if (m.type === 'give') {
      out--
      const b = {} as Record<string, unknown>
      for (const [i, f] of BATCH_ARRAYS.entries()) {
        const Ctor = f === 'carry' || f === 'gap' ? Float32Array : f === 'sessionEnd' ? Uint8Array : Int32Array
        b[f] = new Ctor(m.arrays[i] as ArrayBuffer)
      }
      free.push(b as unknown as SessionBatch)
      wake?.()
    } else {
      stop = true
      wake?.()
    }
  })
}
