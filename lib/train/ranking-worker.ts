/**
 * Worker entry of {@link trainRankingInWorker} (internal): rebuilds the tower, optimizer and
 * triplet source from plain data, runs {@link trainRanking}, posts progress, metrics and finally
 * the trained weights (transferred, not copied). Any error is posted with its code. When the
 * calling thread sets the stop flag, training ends at the next step and the worker exits quietly.
 */
import { parentPort, workerData } from 'node:worker_threads'

import { ErrorCodes, SimsageError } from '../errors.js'
import { rankingTower } from '../models/ranking-tower.js'
import { rankingModels } from './methods.js'
import { createOptimizer } from './optimizer-spec.js'
import type { ProgressSink } from './progress.js'
import type { RankingWorkerInput, RankingWorkerMessage } from './ranking-in-worker.js'
import { trainRanking } from './ranking.js'

const port = parentPort!
const post = (m: RankingWorkerMessage, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer)

/** Thrown between steps when the calling thread asked to stop. */
class Stopped extends Error {}

function checkStop(d: RankingWorkerInput): void {
  if (Atomics.load(d.stop, 0) !== 0) throw new Stopped()
}

function run(d: RankingWorkerInput): void {
  checkStop(d)
  const model = rankingTower(d.tower, typeof d.init === 'number' ? d.init : 1)
  if (typeof d.init !== 'number') model.load(d.init)
  const optimizer = createOptimizer(model.parameters(), d.optimizer)
  const make = rankingModels({ margin: d.margin, bufferSize: d.bufferSize, seed: d.seed })[d.method]
  if (!make) throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `unknown method ${JSON.stringify(d.method)}`)
  const method = make()
  // Always installed: its start and tick are where the stop flag is checked (between steps).
  const sink: ProgressSink = {
    start: (epoch, epochs, steps) => {
      checkStop(d)
      if (d.progress) post({ type: 'start', epoch, epochs, steps })
    },
    tick: (loss) => {
      checkStop(d)
      if (d.progress) post({ type: 'tick', loss })
    },
    end: (summary) => {
      if (d.progress) post({ type: 'end', summary })
    },
  }
  const epochs = trainRanking({
    x: d.x,
    labels: d.labels,
    inputDim: d.tower.inputDim,
    embeddingDim: d.tower.embeddingDim,
    model,
    optimizer,
    source: method.source,
    distance: d.distance ?? method.distance,
    softMargin: d.softMargin ?? method.softMargin,
    lrSchedule: d.lrSchedule,
    margin: d.margin,
    seed: d.seed,
    epochs: d.epochs,
    batchSize: d.batchSize,
    progress: sink,
    onEpoch: (metrics) => post({ type: 'epoch', metrics }),
  })
  const weights = model.state() // fresh copies: safe to transfer
  post(
    { type: 'done', epochs, weights },
    Object.values(weights).map((t) => t.data.buffer as ArrayBuffer),
  )
}

try {
  run(workerData as RankingWorkerInput)
} catch (e) {
  // Stopped: nothing to report (the caller has settled); the thread ends with this script.
  if (!(e instanceof Stopped)) {
    const err = e instanceof Error ? e : new Error(String(e))
    const code = (err as { code?: unknown }).code
    post({
      type: 'error',
      code: typeof code === 'string' ? code : '',
      name: err.name,
      message: err.message,
      stack: err.stack,
    })
  }
}
