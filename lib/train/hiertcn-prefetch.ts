/**
 * HierTCN's "next batch prepared while the current one trains": the queue generator runs in a
 * worker thread (`hiertcn-batch-worker.ts`) and hands over batches whose arrays are transferred,
 * not copied; while the training thread runs a step on batch k (synchronous native calls), the
 * worker fills batch k + 1. Double-buffered: at most `depth` (default 2) batches are out, and a
 * batch's arrays go back to the worker when the next one is asked for.
 *
 * The batches are those of `SessionBatches` with the same log, users and options, in the same
 * order, so training on them gives the same result as the sequential path.
 */
import type { Worker } from 'node:worker_threads'

import { type ErrorCode, ErrorCodes, SimsageError } from '../errors.js'
import { PartitionedLog } from '../data/partitioned-log.js'
import type { SessionBatch, SessionBatchesOptions } from '../data/session-batches.js'
import type { InteractionLog } from '../data/sessions.js'
import { BATCH_ARRAYS, type BatchSource } from './hiertcn-batch-protocol.js'
import { startModuleWorker } from './module-worker.js'

type Reply =
  | { type: 'batch'; batch: SessionBatch }
  | { type: 'end' }
  | { type: 'error'; code?: ErrorCode; message: string }

/** Batches of the queue generator built in a worker, one epoch at a time. */
export class BatchPrefetcher {
  readonly #worker: Worker
  readonly #inbox: Reply[] = []
  #waiting: ((r: Reply) => void) | undefined
  #failed: Error | undefined
  #busy = false
  #closed = false

  /**
   * @param log the log in memory (its CSR arrays are copied to the worker once) or a spill
   * @param depth batches out at once (2: one training, one being prepared)
   * @param partitionUsers with an in-memory log: the partition order (see `SessionBatchesOptions`)
   */
  constructor(log: InteractionLog | PartitionedLog, depth = 2, partitionUsers?: number) {
    const source: BatchSource =
      log instanceof PartitionedLog
        ? { kind: 'spill', spill: log.spill }
        : {
            kind: 'arrays',
            partitionUsers,
            arrays: {
              numUsers: log.numUsers,
              userOffsets: log.userOffsets,
              userSessions: log.userSessions,
              sessionOffsets: log.sessionOffsets,
              item: log.item,
              time: log.time,
            },
          }
    this.#worker = startModuleWorker(import.meta.url, 'hiertcn-batch-worker', { workerData: { source, depth } })
    this.#worker.on('message', (r: Reply) => this.#deliver(r))
    this.#worker.on('error', (e) => {
      this.#failed = e
      this.#deliver({ type: 'error', message: e.message })
    })
    this.#worker.unref()
  }

  #deliver(r: Reply): void {
    const w = this.#waiting
    if (w) {
      this.#waiting = undefined
      w(r)
    } else this.#inbox.push(r)
  }

  #next(): Promise<Reply> {
    const r = this.#inbox.shift()
    if (r) return Promise.resolve(r)
    if (this.#failed) return Promise.resolve({ type: 'error', message: this.#failed.message })
    return new Promise((resolve) => (this.#waiting = resolve))
  }

  /**
   * Epoch `e` of `SessionBatches(log, users, options)`. A batch is valid until the next one is
   * asked for (its arrays then go back to the worker). One epoch at a time.
   */
  async *epoch(users: Int32Array, options: SessionBatchesOptions, e = 0): AsyncGenerator<SessionBatch> {
    if (this.#closed) throw new SimsageError(ErrorCodes.DISPOSED, 'the batch prefetcher is closed')
    if (this.#busy) throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, 'one prefetched epoch at a time')
    this.#busy = true
    this.#worker.ref()
    this.#worker.postMessage({ type: 'epoch', users, options, e })
    let prev: SessionBatch | undefined
    let ended = false
    try {
      for (;;) {
        if (prev) {
          const arrays = BATCH_ARRAYS.map((f) => (prev as SessionBatch)[f].buffer)
          this.#worker.postMessage({ type: 'give', arrays }, arrays as ArrayBuffer[])
          prev = undefined
        }
        const r = await this.#next()
        if (r.type === 'end') {
          ended = true
          return
        }
        if (r.type === 'error') {
          ended = true
          throw new SimsageError(r.code ?? ErrorCodes.INTERNAL, `batch worker: ${r.message}`)
        }
        prev = r.batch
        yield r.batch
      }
    } finally {
      if (!ended && !this.#failed) {
        this.#worker.postMessage({ type: 'stop' })
        for (let r = await this.#next(); r.type === 'batch'; r = await this.#next());
      }
      this.#busy = false
      this.#worker.unref()
    }
  }

  /** Stops the worker. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.#worker.terminate()
  }
}
