/**
 * {@link trainRankingInWorker}: the ranking training loop ({@link trainRanking}, unchanged) run in a
 * worker_threads Worker, so a process that trains keeps serving: the event loop only receives
 * progress messages and, at the end, the trained weights.
 *
 * Everything the worker needs is plain data (tower spec, optimizer spec, triplet source by name);
 * the worker rebuilds the same objects from it, so a seeded run gives bitwise the same weights as
 * {@link trainRanking} on the calling thread with the same objects.
 */
import type { Worker } from 'node:worker_threads'

import { ErrorCodes, SimsageError, type ErrorCode } from '../errors.js'
import { rankingTower, type TowerSpec } from '../models/ranking-tower.js'
import type { Sequential, TensorState } from '../nn/sequential.js'
import { describe } from '../validate.js'
import { rankingModels } from './methods.js'
import { startModuleWorker } from './module-worker.js'
import type { OptimizerSpec } from './optimizer-spec.js'
import { progressSink, type ProgressSink } from './progress.js'
import type { EpochMetrics, LrSchedule, RankingLoopOptions } from './ranking.js'

/** One optimizer step done, as reported by {@link RankingWorkerOptions.onProgress}. */
export interface TrainingProgress {
  /** 1-based epoch and the number of epochs. */
  epoch: number
  epochs: number
  /** 1-based step within the epoch and the steps per epoch. */
  step: number
  steps: number
  /** Running mean of the epoch's loss. */
  loss: number
}

/**
 * Options of {@link trainRankingInWorker}. Everything but the callbacks and the signal is sent to the
 * worker. `distance` and `softMargin`, when given, override the method's own (batch-hard-soft: euclidean
 * with a soft margin; the others: squared hinge).
 */
export interface RankingWorkerOptions extends RankingLoopOptions {
  /** n x tower.inputDim training rows. See `transfer` for what happens to this array. */
  x: Float32Array
  /** n class ids. See `transfer`. */
  labels: Int32Array
  /** Shape of the tower to train. */
  tower: TowerSpec
  /**
   * Initial weights: a seed for {@link rankingTower} (default: `seed`, as `simsage train ranking`
   * does), or a state from `model.state()` of a tower of this spec.
   */
  init?: number | Record<string, TensorState>
  /** Optimizer to build over the tower's parameters, e.g. `{ kind: 'adam', lr: 3e-4 }`. */
  optimizer: OptimizerSpec
  /**
   * Triplet source by name, as in `simsage experiment ranking`: 'batch-all', 'batch-hard',
   * 'batch-hard-soft', 'semi-hard', 'distance-weighted', 'margin-semihard', 'margin-hard' or
   * 'deep-ranking-sampler' (see `rankingModels` in lib/train/methods.ts).
   */
  method: string
  /** Buffer size of the Deep Ranking sampler (default 256, as the CLI). */
  bufferSize?: number
  /**
   * How `x` and `labels` reach the worker. Arrays backed by a SharedArrayBuffer are always shared
   * (no copy; do not write to them until the promise settles). Otherwise, by default each is
   * copied once (only the view, not the rest of its buffer) and the caller's arrays stay usable;
   * with `transfer: true` their ArrayBuffers are moved to the worker without a copy and the
   * caller's arrays (and any other view of those buffers) are detached (length 0) from then on.
   */
  transfer?: boolean
  /** A progress bar (TTY) or per-epoch lines on this thread's stderr, or a sink; default false. */
  progress?: boolean | ProgressSink
  /** Called on this thread after each epoch. */
  onEpoch?: (m: EpochMetrics) => void
  /** Called on this thread after each optimizer step. */
  onProgress?: (p: TrainingProgress) => void
  /**
   * Aborting rejects at once with code ERR_SIMSAGE_ABORTED (`ErrorCodes.ABORTED`) and stops
   * the worker at its next step boundary (it then exits; see {@link trainRankingInWorker}).
   */
  signal?: AbortSignal
}

/** Result of {@link trainRankingInWorker}. */
export interface RankingWorkerResult {
  /** A tower built on this thread holding the trained weights. */
  model: Sequential
  spec: TowerSpec
  /** Per-epoch metrics, as {@link trainRanking} returns them. */
  epochs: EpochMetrics[]
}

/** What the worker receives as workerData (internal). */
export interface RankingWorkerInput {
  x: Float32Array
  labels: Int32Array
  tower: TowerSpec
  init: number | Record<string, TensorState>
  optimizer: OptimizerSpec
  method: string
  bufferSize: number
  epochs: number
  batchSize: number
  margin: number
  distance?: 'squared' | 'euclidean'
  softMargin?: boolean
  lrSchedule?: LrSchedule
  seed: number
  /** Post start/tick/end messages (someone listens). */
  progress: boolean
  /** Set to 1 by this thread to stop the worker at its next step (SharedArrayBuffer, 1 int32). */
  stop: Int32Array
}

/** Messages from the worker (internal). */
export type RankingWorkerMessage =
  | { type: 'start'; epoch: number; epochs: number; steps: number }
  | { type: 'tick'; loss: number }
  | { type: 'end'; summary: string }
  | { type: 'epoch'; metrics: EpochMetrics }
  | { type: 'done'; epochs: EpochMetrics[]; weights: Record<string, TensorState> }
  | { type: 'error'; code: string; name: string; message: string; stack?: string }

function aborted(signal: AbortSignal): SimsageError {
  return new SimsageError(ErrorCodes.ABORTED, 'training was aborted', { cause: signal.reason })
}

/** The worker's error as a SimsageError on this thread: its code kept, its stack as the cause. */
function fromWorker(e: { code?: unknown; name?: string; message?: string; stack?: string }): SimsageError {
  const simsage = typeof e.code === 'string' && e.code.startsWith('ERR_SIMSAGE_')
  const message = simsage ? String(e.message) : `training worker failed: ${e.name ?? 'Error'}: ${e.message}`
  const cause = Object.assign(new Error(String(e.message)), { name: e.name ?? 'Error', stack: e.stack })
  return new SimsageError(simsage ? (e.code as ErrorCode) : ErrorCodes.INTERNAL, message, { cause })
}

/**
 * Trains a ranking tower with {@link trainRanking} in a worker thread; the calling thread's event
 * loop stays free. Same seed and options, same weights (bitwise) as on the calling thread with
 * `rankingTower(tower, init)`, `createOptimizer(...)` and `rankingModels(...)[method]()`.
 *
 * Errors: bad options that can be checked here (array types, tower spec, init state, method name)
 * reject before a worker starts; errors inside the worker (e.g. ERR_SIMSAGE_DIM_MISMATCH for
 * labels that do not match x) reject with the worker's code; `signal` rejects with
 * ERR_SIMSAGE_ABORTED; an error thrown by a callback stops the worker and rejects with it.
 *
 * Stopping is cooperative: the worker checks a shared flag before each step and exits, so a native
 * call in progress finishes first (a few ms per step at the shipped sizes). `worker.terminate()`
 * is not used: terminating a thread inside a native call aborts the process with the current
 * addon (node-addon-api rethrows the Napi::Error it cannot throw into a dying environment).
 */
export async function trainRankingInWorker(o: RankingWorkerOptions): Promise<RankingWorkerResult> {
  if (o === null || typeof o !== 'object')
    throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `options must be an object, got ${describe(o)}`)
  if (!(o.x instanceof Float32Array))
    throw new SimsageError(ErrorCodes.INVALID_TYPE, `x must be a Float32Array, got ${describe(o.x)}`)
  if (!(o.labels instanceof Int32Array))
    throw new SimsageError(ErrorCodes.INVALID_TYPE, `labels must be an Int32Array, got ${describe(o.labels)}`)
  const seed = o.seed ?? 1
  const init = o.init ?? seed
  // Built now: checks the spec and the initial state before any thread starts, and receives the
  // trained weights at the end.
  const model = rankingTower(o.tower, typeof init === 'number' ? init : 1)
  if (typeof init !== 'number') model.load(init)
  const margin = o.margin ?? 0.2
  const bufferSize = o.bufferSize ?? 256
  if (!Object.hasOwn(rankingModels({ margin, bufferSize, seed }), o.method)) {
    const names = Object.keys(rankingModels({ margin, bufferSize, seed })).join(', ')
    throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `method must be one of ${names}, got ${describe(o.method)}`)
  }
  if (o.signal?.aborted) throw aborted(o.signal)

  const shared = (a: ArrayBufferView) => a.buffer instanceof SharedArrayBuffer
  const x = shared(o.x) || o.transfer ? o.x : o.x.slice()
  const labels = shared(o.labels) || o.transfer ? o.labels : o.labels.slice()
  const transferList = [...new Set([x.buffer, labels.buffer])].filter((b): b is ArrayBuffer => b instanceof ArrayBuffer)
  const sink = typeof o.progress === 'object' ? o.progress : progressSink(o.progress === true)
  const input: RankingWorkerInput = {
    x,
    labels,
    tower: o.tower,
    init,
    optimizer: o.optimizer,
    method: o.method,
    bufferSize,
    epochs: o.epochs,
    batchSize: o.batchSize,
    margin,
    distance: o.distance,
    softMargin: o.softMargin,
    lrSchedule: o.lrSchedule,
    seed,
    progress: Boolean(o.progress) || typeof o.onProgress === 'function',
    stop: new Int32Array(new SharedArrayBuffer(4)),
  }
  let worker: Worker
  try {
    worker = startModuleWorker(import.meta.url, 'ranking-worker', { workerData: input, transferList })
  } catch (e) {
    throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `cannot start the training worker: ${(e as Error).message}`, {
      cause: e,
    })
  }

  return new Promise<RankingWorkerResult>((resolve, reject) => {
    let settled = false
    let open: { epoch: number; epochs: number } | undefined
    let at = { epoch: 0, epochs: 0, step: 0, steps: 0 }
    const finish = (err: SimsageError | unknown, result?: RankingWorkerResult) => {
      if (settled) return
      settled = true
      o.signal?.removeEventListener('abort', onAbort)
      if (err !== undefined) {
        Atomics.store(input.stop, 0, 1)
        // Close a bar left open mid-epoch.
        if (open) {
          const { epoch, epochs } = open
          open = undefined
          try {
            sink.end(`epoch ${epoch}/${epochs}: stopped`)
          } catch {
            // the first error is the one reported
          }
        }
        reject(err)
      } else {
        resolve(result!)
      }
    }
    const onAbort = () => finish(aborted(o.signal!))
    o.signal?.addEventListener('abort', onAbort, { once: true })

    worker.on('message', (m: RankingWorkerMessage) => {
      if (settled) return
      try {
        switch (m.type) {
          case 'start':
            open = { epoch: m.epoch, epochs: m.epochs }
            at = { epoch: m.epoch, epochs: m.epochs, step: 0, steps: m.steps }
            sink.start(m.epoch, m.epochs, m.steps)
            break
          case 'tick':
            at.step++
            sink.tick(m.loss)
            o.onProgress?.({ ...at, loss: m.loss })
            break
          case 'end':
            open = undefined
            sink.end(m.summary)
            break
          case 'epoch':
            o.onEpoch?.(m.metrics)
            break
          case 'done':
            model.load(m.weights)
            finish(undefined, { model, spec: o.tower, epochs: m.epochs })
            break
          case 'error':
            finish(fromWorker(m))
            break
        }
      } catch (e) {
        finish(e)
      }
    })
    // An error the worker script did not catch (e.g. a module that failed to load).
    worker.on('error', (e: Error) => finish(fromWorker(e as Error & { code?: unknown })))
    worker.on('exit', (code) => {
      finish(new SimsageError(ErrorCodes.INTERNAL, `the training worker exited (code ${code}) without a result`))
    })
  })
}
