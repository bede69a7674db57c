/**
 * `simsage experiment ranking`: trains and evaluates every miner and the Deep Ranking sampler, plus
 * the raw-pixel baseline, with one budget (epochs, batch size, optimizer, seed), and reports
 * Recall@1/@10, kNN accuracy, similarity precision, score-at-top-30 and training seconds.
 *
 * All classes (default): queries are the test images, the gallery is the training images.
 * Held-out classes (`trainClasses` set): models train on those classes only; evaluation uses only
 * the other classes: test images of those classes as queries against training images of those
 * classes as the gallery, so every class seen at evaluation is new to the model.
 */
import { ErrorCodes, SimsageError } from '../errors.js'
import { filterClasses, loadFashionMnist, type LabeledImages } from '../data/fashion-mnist.js'
import { labelTriplets, retrievalMetrics, similarityPrecision } from '../eval/retrieval.js'
import { Adam } from '../nn/optim.js'
import { embed, rankingTower, type TowerSpec } from '../models/ranking-tower.js'
import { ConvTower, defaultConvTowerSpec, type TowerType } from '../models/conv-tower.js'
import { ImageAugmenter } from '../data/augment.js'
import type { Module } from '../nn/module.js'
import { rankingModels } from './methods.js'
import { type LrSchedule, trainRanking } from './ranking.js'

/** Options of {@link runRankingExperiment}. */
export interface RankingExperimentOptions {
  /** Directory with the four Fashion-MNIST IDX files. */
  data: string
  epochs: number
  seed: number
  batchSize: number
  lr: number
  margin: number
  hidden: number[]
  embeddingDim: number
  /** Train on these classes and evaluate on the others (held-out retrieval). */
  trainClasses?: number[]
  /** Only these rows (model names); default all. */
  models?: string[]
  /** The tower the methods train (default mlp); conv towers need square single-channel images. */
  tower?: TowerType
  /** Random crops (zero padding 2) and horizontal flips of the training batches (default false). */
  augment?: boolean
  /** Learning-rate schedule over the run (default constant). */
  lrSchedule?: LrSchedule
  /** Output channels of the conv trunk's stages (conv and multiscale towers; default 16, 32, 64). */
  convWidths?: number[]
  progress?: boolean
  log?: (line: string) => void
}

/** One row of the result table. */
export interface ExperimentRow {
  /** The method's name, prefixed with `conv:` / `multiscale:` for conv towers. */
  model: string
  /** The tower trained (absent for the raw baseline). */
  tower?: TowerType
  metrics: { recall1: number; recall10: number; knnAccuracy: number; similarityPrecision: number; scoreAt30: number }
  train_seconds: number
  /** Training rows per second, mean of the epochs' figures (absent for the raw baseline). */
  rows_per_second?: number
  /** Each epoch's figures, so the throughput can be checked (absent for the raw baseline). */
  epochs?: { epoch: number; loss: number; seconds: number; rows_per_second: number }[]
}

/** The experiment's result (the `--json` line). */
export interface ExperimentResult {
  task: 'ranking'
  dataset: string
  split: string
  options: Omit<RankingExperimentOptions, 'log' | 'progress'>
  rows: ExperimentRow[]
}

function evaluate(
  name: string,
  q: Float32Array,
  qLabels: Int32Array,
  g: Float32Array,
  gLabels: Int32Array,
  dim: number,
  seconds: number,
): ExperimentRow {
  const m = retrievalMetrics(
    { vectors: q, labels: qLabels, dim },
    { vectors: g, labels: gLabels, dim },
    { metric: 'cosine', recallAt: [1, 10], knnK: 10, scoreAt: 30 },
  )
  const sp = similarityPrecision(q, dim, labelTriplets(qLabels, 20000, 12345), 'cosine')
  return {
    model: name,
    metrics: {
      recall1: m.recall[1],
      recall10: m.recall[10],
      knnAccuracy: m.knnAccuracy,
      similarityPrecision: sp,
      scoreAt30: m.scoreAtTopK,
    },
    train_seconds: seconds,
  }
}

/** Runs the experiment; rows in a fixed order, raw pixels first. */
export async function runRankingExperiment(o: RankingExperimentOptions): Promise<ExperimentResult> {
  const log = o.log ?? (() => {})
  let train: LabeledImages = await loadFashionMnist(o.data, 'train')
  let test: LabeledImages = await loadFashionMnist(o.data, 'test')
  let gallery = train
  let split = 'all classes: test queries vs training gallery'
  if (o.trainClasses) {
    const held = [...new Set(train.labels)].filter((c) => !o.trainClasses!.includes(c)).sort((a, b) => a - b)
    gallery = filterClasses(train, held)
    test = filterClasses(test, held)
    train = filterClasses(train, o.trainClasses)
    split =
      `train on classes ${o.trainClasses.join(',')}; evaluate on held-out classes ${held.join(',')} ` +
      '(test queries vs their training images)'
  }
  log(`${split}; ${train.n} training rows, ${test.n} queries, ${gallery.n} gallery rows`)
  const rows: ExperimentRow[] = []
  const want = (name: string) => !o.models || o.models.includes(name)
  if (want('raw-pixels')) {
    rows.push(evaluate('raw-pixels', test.images, test.labels, gallery.images, gallery.labels, train.dim, 0))
    log(formatRow(rows[rows.length - 1]))
  }
  const spec: TowerSpec = { inputDim: train.dim, hidden: o.hidden, embeddingDim: o.embeddingDim }
  const tower = o.tower ?? 'mlp'
  const side = Math.round(Math.sqrt(train.dim))
  if (tower !== 'mlp' && side * side !== train.dim) {
    throw new SimsageError(ErrorCodes.DIM_MISMATCH, `a ${tower} tower needs square images, got ${train.dim} pixels`)
  }
  // Conv towers keep one activation map per layer and row: embed them in smaller batches.
  const embedBatch = tower === 'mlp' ? 1024 : 256
  const newModel = (): Module => {
    if (tower === 'mlp') return rankingTower(spec, o.seed)
    const base = defaultConvTowerSpec(tower, o.embeddingDim)
    return new ConvTower({ ...base, widths: o.convWidths ?? base.widths, height: side, width: side }, o.seed)
  }
  const models = rankingModels({ margin: o.margin, bufferSize: 256, seed: o.seed })
  for (const [method_, method] of Object.entries(models)) {
    if (!want(method_)) continue
    const name = tower === 'mlp' ? method_ : `${tower}:${method_}`
    const model = newModel()
    const augmenter = o.augment
      ? new ImageAugmenter({ channels: 1, height: side, width: side, seed: o.seed })
      : undefined
    const optimizer = new Adam(model.parameters(), { lr: o.lr })
    const t0 = performance.now()
    const hist = trainRanking({
      x: train.images,
      labels: train.labels,
      inputDim: train.dim,
      embeddingDim: o.embeddingDim,
      model,
      optimizer,
      augment: augmenter ? (x, b) => augmenter.apply(x, b) : undefined,
      ...method(),
      epochs: o.epochs,
      batchSize: o.batchSize,
      margin: o.margin,
      seed: o.seed,
      lrSchedule: o.lrSchedule,
      progress: o.progress,
    })
    const seconds = (performance.now() - t0) / 1000
    const q = embed(model, test.images, train.dim, o.embeddingDim, embedBatch)
    const g = embed(model, gallery.images, train.dim, o.embeddingDim, embedBatch)
    const row = evaluate(name, q, test.labels, g, gallery.labels, o.embeddingDim, seconds)
    row.tower = tower
    row.rows_per_second = hist.reduce((s, h) => s + h.rowsPerSecond, 0) / hist.length
    row.epochs = hist.map((h) => ({
      epoch: h.epoch,
      loss: h.loss,
      seconds: h.seconds,
      rows_per_second: h.rowsPerSecond,
    }))
    rows.push(row)
    log(formatRow(row))
  }
  const { log: _l, progress: _p, ...options } = o
  return { task: 'ranking', dataset: 'fashion-mnist', split, options, rows }
}

/** One line of the table. */
export function formatRow(r: ExperimentRow): string {
  const m = r.metrics
  return [
    r.model.padEnd(22),
    m.recall1.toFixed(4).padStart(8),
    m.recall10.toFixed(4).padStart(8),
    m.knnAccuracy.toFixed(4).padStart(8),
    m.similarityPrecision.toFixed(4).padStart(8),
    m.scoreAt30.toFixed(2).padStart(8),
    r.train_seconds.toFixed(1).padStart(9),
    (r.rows_per_second === undefined ? '-' : Math.round(r.rows_per_second).toString()).padStart(8),
  ].join(' ')
}

/** The table header matching {@link formatRow}. */
export const TABLE_HEADER = [
  'model'.padEnd(22),
  'R@1'.padStart(8),
  'R@10'.padStart(8),
  'kNN@10'.padStart(8),
  'simPrec'.padStart(8),
  'score@30'.padStart(8),
  'train s'.padStart(9),
  'img/s'.padStart(8),
].join(' ')
