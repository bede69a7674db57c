/**
 * Deep Ranking metric learning: trains a ranking tower (lib/models/ranking-tower.ts) with the
 * triplet hinge loss l = max(0, g + D(a,p) − D(a,n)), D = squared Euclidean (Wang et al., CVPR
 * 2014), on triplets from a miner (over each batch's embeddings) or from the Deep Ranking online
 * sampler (over the stream of training items).
 */
import { ErrorCodes, SimsageError } from '../errors.js'
import { describe } from '../validate.js'
import { tripletLoss } from '../mining/loss.js'
import type { TripletMiner } from '../mining/miners.js'
import { TripletSampler } from '../mining/sampler.js'
import type { Optimizer } from '../nn/optim.js'
import type { Module } from '../nn/module.js'
import { Random } from '../random.js'
import { progressSink, type ProgressSink } from './progress.js'

/** Where each step's triplets come from. */
export type TripletSource =
  | { kind: 'miner'; miner: TripletMiner }
  | { kind: 'sampler'; bufferSize: number; outOfClassFraction?: number }

/** The loop's budget and loss settings, shared by {@link trainRanking} and the worker variant. */
export interface RankingLoopOptions {
  epochs: number
  /** Rows per step (miner) or most distinct rows per step (sampler). */
  batchSize: number
  /** g of the hinge, also the margin of the margin miners (default 0.2). */
  margin?: number
  /** D of the hinge: squared (Deep Ranking, the default) or plain Euclidean distance. */
  distance?: 'squared' | 'euclidean'
  /** Soft-margin loss log(1 + exp(D(a,p) - D(a,n))) instead of the hinge. */
  softMargin?: boolean
  /** Seed of shuffling, sampling and the distance-weighted miner (default 1). */
  seed?: number
  /**
   * Learning-rate schedule over all steps: `constant` (default) keeps the optimizer's lr; `cosine`
   * sets lr_t = lr_0 (1 + cos(pi t / steps)) / 2 before step t (0-based) of `steps`, from lr_0 down
   * towards 0 at the last step (lr_0: the optimizer's lr when training starts).
   */
  lrSchedule?: LrSchedule
}

/** The learning-rate schedules of {@link RankingLoopOptions.lrSchedule}. */
export type LrSchedule = 'constant' | 'cosine'

/** The learning rate of step `t` (0-based) of `total` under `schedule`, starting from `lr0`. */
export function scheduledLr(schedule: LrSchedule, lr0: number, t: number, total: number): number {
  if (schedule === 'constant' || total <= 1) return lr0
  return (lr0 * (1 + Math.cos((Math.PI * t) / total))) / 2
}

/** Options of {@link trainRanking}. */
export interface RankingTrainOptions extends RankingLoopOptions {
  /** n x inputDim training rows. */
  x: Float32Array
  labels: Int32Array
  inputDim: number
  embeddingDim: number
  /** Any tower: the MLP of ranking-tower.ts or a conv tower (conv-tower.ts), inputDim -> embeddingDim. */
  model: Module
  optimizer: Optimizer
  /**
   * Transforms each step's gathered rows in place before the forward (data augmentation, e.g.
   * lib/data/augment.ts's ImageAugmenter.apply); it keeps its own generator, so the loop's draws
   * are the same with or without it.
   */
  augment?: (x: Float32Array, batch: number) => void
  source: TripletSource
  /** Progress bar (TTY) or per-epoch lines; default false. */
  progress?: boolean | ProgressSink
  /** Called after each epoch. */
  onEpoch?: (m: EpochMetrics) => void
}

/** Per-epoch training metrics. */
export interface EpochMetrics {
  epoch: number
  /** Mean loss over the epoch's steps. */
  loss: number
  /** Share of triplets with non-zero loss. */
  activeFraction: number
  triplets: number
  seconds: number
  /** Training rows (images) forwarded per second. */
  rowsPerSecond: number
}

/** Trains `model` in place; returns per-epoch metrics. Deterministic for a given seed. */
export function trainRanking(o: RankingTrainOptions): EpochMetrics[] {
  const n = o.labels.length
  if (o.x.length !== n * o.inputDim) {
    throw new SimsageError(ErrorCodes.DIM_MISMATCH, `x holds ${o.x.length / o.inputDim} rows but there are ${n} labels`)
  }
  if (!Number.isInteger(o.epochs) || o.epochs < 1)
    throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, 'epochs must be a positive integer')
  if (!Number.isInteger(o.batchSize) || o.batchSize < 3)
    throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, 'batchSize must be an integer >= 3')
  const schedule = o.lrSchedule ?? 'constant'
  if (schedule !== 'constant' && schedule !== 'cosine') {
    throw new SimsageError(
      ErrorCodes.INVALID_ARGUMENT,
      `lrSchedule must be 'constant' or 'cosine', got ${describe(schedule)}`,
    )
  }
  const lr0 = o.optimizer.lr
  const totalSteps = o.epochs * Math.floor(n / o.batchSize)
  const rng = new Random(o.seed ?? 1)
  const sink = typeof o.progress === 'object' ? o.progress : progressSink(o.progress === true)
  const lossOpts = {
    dim: o.embeddingDim,
    margin: o.margin ?? 0.2,
    distance: o.distance ?? 'squared',
    softMargin: o.softMargin ?? false,
  }
  // Step buffers, reused by every step (a step has at most batchSize rows): no allocation, and no
  // page faults, per step. The miner keeps its own distance matrix.
  const xb = new Float32Array(o.batchSize * o.inputDim)
  const lb = new Int32Array(o.batchSize)
  const gradBuf = new Float32Array(o.batchSize * o.embeddingDim)
  const order = new Int32Array(n).map((_, i) => i)
  const params = o.model.parameters()
  const history: EpochMetrics[] = []
  for (let epoch = 1; epoch <= o.epochs; epoch++) {
    rng.shuffle(order)
    const steps = Math.floor(n / o.batchSize)
    sink.start(epoch, o.epochs, steps)
    const t0 = performance.now()
    let lossSum = 0,
      active = 0,
      triplets = 0,
      rows = 0
    const sampler =
      o.source.kind === 'sampler'
        ? new TripletSampler({
            labels: o.labels,
            bufferSize: o.source.bufferSize,
            outOfClassFraction: o.source.outOfClassFraction ?? 0.5,
            seed: rng.nextU32(),
          })
        : undefined
    for (let s = 0; s < steps; s++) {
      const slice = order.subarray(s * o.batchSize, (s + 1) * o.batchSize)
      let rowsOf: ArrayLike<number>
      let tripletIdx: Int32Array | undefined
      if (sampler) {
        // Stream this step's items into the buffers, then draw triplets over everything buffered;
        // the batch is the distinct rows those triplets use.
        for (const i of slice) sampler.offer(i)
        const drawn = sampler.sample(Math.floor(o.batchSize / 3))
        const rowOf = new Map<number, number>()
        const local = new Int32Array(drawn.length)
        for (let j = 0; j < drawn.length; j++) {
          let r = rowOf.get(drawn[j])
          if (r === undefined) {
            r = rowOf.size
            rowOf.set(drawn[j], r)
          }
          local[j] = r
        }
        rowsOf = [...rowOf.keys()]
        tripletIdx = local
      } else {
        rowsOf = slice
      }
      const b = rowsOf.length
      for (let j = 0; j < b; j++) {
        xb.set(o.x.subarray(rowsOf[j] * o.inputDim, (rowsOf[j] + 1) * o.inputDim), j * o.inputDim)
        lb[j] = o.labels[rowsOf[j]]
      }
      o.augment?.(xb, b)
      const emb = o.model.forward(xb.subarray(0, b * o.inputDim), b)
      if (o.source.kind === 'miner') tripletIdx = o.source.miner.mine(emb, lb.subarray(0, b), o.embeddingDim).data
      for (const p of params) p.grad.fill(0)
      const r = tripletLoss(emb, tripletIdx!, { ...lossOpts, grad: gradBuf.subarray(0, b * o.embeddingDim) })
      if (tripletIdx!.length > 0) {
        o.model.backward(r.grad)
        if (schedule !== 'constant') o.optimizer.lr = scheduledLr(schedule, lr0, (epoch - 1) * steps + s, totalSteps)
        o.optimizer.step()
      }
      lossSum += r.loss
      active += r.active
      triplets += tripletIdx!.length / 3
      rows += b
      sink.tick(lossSum / (s + 1))
    }
    const seconds = (performance.now() - t0) / 1000
    const m: EpochMetrics = {
      epoch,
      loss: lossSum / Math.max(1, steps),
      activeFraction: triplets ? active / triplets : 0,
      triplets,
      seconds,
      rowsPerSecond: rows / seconds,
    }
    sink.end(
      `epoch ${epoch}/${o.epochs}: loss ${m.loss.toFixed(4)}, ` +
        `active ${(100 * m.activeFraction).toFixed(1)}% of ${triplets} triplets, ` +
        `${seconds.toFixed(1)} s, ${Math.round(m.rowsPerSecond)} rows/s`,
    )
    history.push(m)
    o.onEpoch?.(m)
  }
  return history
}
