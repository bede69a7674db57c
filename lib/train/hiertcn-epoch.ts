/**
 * One epoch of next-item training or evaluation for the models of `hiertcn.ts`: a step per batch
 * (forward, loss, backward, Adam), over batches built on this thread or arriving from a prefetcher,
 * with the seconds the training thread spent getting batches.
 */
import { RankingMetrics, type RankingResult } from '../eval/ranking.js'
import type { Predictions } from '../models/hiertcn.js'
import type { NextItemLoss } from '../models/next-item-loss.js'
import type { Parameter } from '../nn/module.js'
import type { Adam } from '../nn/optim.js'
import type { ProgressSink } from './progress.js'

/** A model the loop can train: batches in, predictions out. */
export interface NextItemModel<Batch> {
  forward(batch: Batch): Predictions
  backward(dp: Float32Array): void
  parameters(): Parameter[]
  resetState(slots: number): void
  training: boolean
  readonly output: Parameter
  readonly itemBias: Parameter
}

/** Scores every prediction of every batch against all items into `metrics` (evaluation mode). */
export function evaluateModel<B>(
  model: NextItemModel<B>,
  batches: Iterable<B>,
  slots: number,
  loss: NextItemLoss,
): RankingResult {
  const metrics = new RankingMetrics()
  model.training = false
  model.resetState(slots)
  const v = loss.count
  for (const b of batches) {
    const pr = model.forward(b)
    if (pr.rows === 0) continue
    const scores = loss.scores(pr.p, pr.rows)
    for (let r = 0; r < pr.rows; r++) metrics.addScores(pr.users[r], scores.subarray(r * v, r * v + v), pr.targets[r])
  }
  model.training = true
  return metrics.result()
}

/** One training epoch's figures. */
export interface EpochFigures {
  /** Mean loss per trained action. */
  loss: number
  actions: number
  seconds: number
  /** Seconds the training thread spent getting batches (building them, or waiting for a prefetcher). */
  batchSeconds: number
}

/** One optimisation step on `b`; returns the loss sum and the rows (0: nothing to predict). */
function trainStep<B>(model: NextItemModel<B>, b: B, loss: NextItemLoss, optimizer: Adam): [number, number] {
  const pr = model.forward(b)
  if (pr.rows === 0) return [0, 0]
  optimizer.zeroGrad()
  const { loss: l, dp } = loss.step(pr.p, pr.targets, pr.rows)
  model.backward(dp)
  optimizer.step()
  return [l * pr.rows, pr.rows]
}

/** One training epoch over batches built on this thread. */
export function trainEpoch<B>(
  model: NextItemModel<B>,
  batches: Iterable<B>,
  slots: number,
  loss: NextItemLoss,
  optimizer: Adam,
  sink: ProgressSink,
): EpochFigures {
  const t0 = performance.now()
  model.training = true
  model.resetState(slots)
  let sum = 0
  let actions = 0
  let waited = 0
  const it = batches[Symbol.iterator]()
  for (;;) {
    const w = performance.now()
    const r = it.next()
    waited += performance.now() - w
    if (r.done) break
    const [l, rows] = trainStep(model, r.value, loss, optimizer)
    if (rows === 0) continue
    sum += l
    actions += rows
    sink.tick(sum / actions)
  }
  const seconds = (performance.now() - t0) / 1000
  return { loss: sum / Math.max(actions, 1), actions, seconds, batchSeconds: waited / 1000 }
}

/**
 * {@link trainEpoch} over batches that arrive asynchronously (a `BatchPrefetcher`: the next batch is
 * built in a worker while this step runs). The same steps in the same order: the same result.
 */
export async function trainEpochPrefetched<B>(
  model: NextItemModel<B>,
  batches: AsyncIterable<B>,
  slots: number,
  loss: NextItemLoss,
  optimizer: Adam,
  sink: ProgressSink,
): Promise<EpochFigures> {
  const t0 = performance.now()
  model.training = true
  model.resetState(slots)
  let sum = 0
  let actions = 0
  let waited = 0
  const it = batches[Symbol.asyncIterator]()
  for (;;) {
    const w = performance.now()
    const r = await it.next()
    waited += performance.now() - w
    if (r.done) break
    const [l, rows] = trainStep(model, r.value, loss, optimizer)
    if (rows === 0) continue
    sum += l
    actions += rows
    sink.tick(sum / actions)
  }
  const seconds = (performance.now() - t0) / 1000
  return { loss: sum / Math.max(actions, 1), actions, seconds, batchSeconds: waited / 1000 }
}
