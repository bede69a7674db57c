/**
 * Next-item recommendation on interaction logs: training and evaluation of HierTCN, its TCN-only
 * low level, a GRU-only model (GRU4Rec-style) and the non-neural baselines, with one protocol:
 *
 * - users split 80/10/10 by a seeded hash of the user id; models train on the training users;
 * - after each epoch the validation users are scored and the best epoch's weights are kept (early
 *   stopping); the test users report;
 * - every action after a user's first is scored against every item: rank = items scored strictly
 *   higher; Recall@{1,5,10,20} and MRR averaged over a user's actions, then over users.
 */
import { ActionLanes } from '../data/action-lanes.js'
import { spillInteractions } from '../data/partitioned-log.js'
import { SessionBatches, type SessionBatchesOptions, paddedHistoryBytes } from '../data/session-batches.js'
import { itemCounts, loadInteractions, type InteractionLog } from '../data/sessions.js'
import { splitUsers } from '../data/split-users.js'
import { cooccurrence, evaluateBaseline, mostPopular } from '../baselines/index.js'
import { setThreads } from '../info.js'
import { GRU4Rec } from '../models/gru4rec.js'
import { HierTCN, type HierTCNSpec } from '../models/hiertcn.js'
import { NextItemLoss, type NextItemLossKind } from '../models/next-item-loss.js'
import type { Parameter } from '../nn/module.js'
import { Adam } from '../nn/optim.js'
import { Random } from '../random.js'
import { evaluateModel, type NextItemModel, trainEpoch, trainEpochPrefetched } from './hiertcn-epoch.js'
import { BatchPrefetcher } from './hiertcn-prefetch.js'
import { progressSink } from './progress.js'

export {
  type EpochFigures,
  evaluateModel,
  type NextItemModel,
  trainEpoch,
  trainEpochPrefetched,
} from './hiertcn-epoch.js'

/** Options of {@link runHierTCNExperiment}. */
export interface HierTCNExperimentOptions {
  /** Interaction log CSV (plain or .gz): user_id, [session_id,] timestamp, item. */
  sessions: string
  /** Seconds between actions that starts a new session when the file has no session_id. */
  sessionGap?: number
  epochs: number
  seed: number
  threads?: number
  /** Queues (HierTCN) / lanes (GRU-only) per batch. */
  batchSize: number
  /** Session steps per HierTCN batch. */
  sessionSteps: number
  /** Longest session piece (actions); longer sessions are cut into pieces. */
  maxLength: number
  /** Positions per GRU-only batch. */
  gruSteps: number
  /**
   * Training only: a user is queued as segments of at most this many sessions (HierTCN) with the
   * user state reset at each, so one very heavy user does not leave the other queues idle.
   */
  maxUserSessions: number
  /** The same for the GRU-only model's lanes, in actions. */
  maxUserActions: number
  embeddingDim: number
  /** HierTCN's user-level GRU hidden size. */
  userHidden: number
  channels: number[]
  dilations: number[]
  kernelSize: number
  dropout: number
  decayTau: number
  loss: NextItemLossKind
  negatives: number
  lr: number
  /** Adam learning rate of the GRU-only model (its recurrence diverges at HierTCN's rate). */
  gruLr: number
  /** Only these rows (default all): popular, cooccurrence, gru, tcn, hiertcn. */
  models?: string[]
  progress?: boolean
  log?: (line: string) => void
  /**
   * Build the next training batch in a worker while the current step trains (HierTCN and TCN-only
   * rows; default true). The same batches, so the same result; false builds them between steps.
   */
  prefetch?: boolean
  /**
   * Read the training users a partition of this many users at a time from a spill of the CSV
   * (`spillInteractions`) instead of the log in memory; also sets the epoch order (user-order.ts).
   */
  partitionUsers?: number
  /**
   * Receives the trained HierTCN (best epoch's weights), the log and each item's frequency among
   * the training users' actions (0: only validation or test users touched it, so its rows were
   * never trained), e.g. to save a checkpoint.
   */
  keep?: (model: HierTCN, log: InteractionLog, trainFrequency: Float32Array) => Promise<void>
}

/** Defaults of the experiment (and of `simsage experiment hiertcn`). */
export const HIERTCN_DEFAULTS: Omit<HierTCNExperimentOptions, 'sessions' | 'keep' | 'log' | 'models'> = {
  epochs: 8,
  seed: 1,
  batchSize: 64,
  sessionSteps: 4,
  maxLength: 16,
  gruSteps: 8,
  maxUserSessions: 64,
  maxUserActions: 256,
  embeddingDim: 64,
  userHidden: 64,
  channels: [64, 64, 64],
  dilations: [1, 2, 4],
  kernelSize: 3,
  dropout: 0.3,
  decayTau: 0,
  loss: 'softmax',
  negatives: 512,
  lr: 0.01,
  gruLr: 0.002,
}

export const HIERTCN_MODELS = ['popular', 'cooccurrence', 'gru', 'tcn', 'hiertcn'] as const

export interface HierTCNRow {
  model: string
  metrics: { recall1: number; recall5: number; recall10: number; recall20: number; mrr: number }
  /** Validation metrics of the kept epoch. */
  valid?: { recall10: number; mrr: number }
  train_seconds: number
  params: number
  /** The process's peak resident memory after this row (MB; rows run in order, so it only grows). */
  peak_rss_mb: number
  best_epoch?: number
  seconds_per_epoch?: number
  /**
   * Seconds per epoch the training thread spent getting batches: building them (sequential), or
   * waiting for the worker that builds them during the previous step (`prefetch`).
   */
  batch_seconds_per_epoch?: number
  /** Whether the training batches were prepared in a worker while the previous step trained. */
  prefetch?: boolean
  /** Training actions (targets) per second, mean over epochs. */
  actions_per_second?: number
}

export interface HierTCNResult {
  task: 'hiertcn'
  dataset: string
  users: { train: number; valid: number; test: number }
  items: number
  actions: number
  rows: HierTCNRow[]
  /** HierTCN's training actions/s over the GRU-only model's (the paper reports 2.5x). */
  throughput_ratio?: number
  /** The queue generator's data memory against padding whole user histories (bytes). */
  data_memory?: {
    queue_bytes: number
    padded_bytes: number
    ratio: number
    /** With `partitionUsers`: peak bytes of one partition read, against the whole log's arrays. */
    partition_bytes?: number
    log_bytes?: number
  }
}

const round = (x: number, d = 4) => Math.round(x * 10 ** d) / 10 ** d

function peakRssMb(): number {
  return Math.round(process.resourceUsage().maxRSS / 1024)
}

function itemFrequency(log: InteractionLog, users: Int32Array): Float32Array {
  const counts = itemCounts(log, users)
  let n = 0
  for (const c of counts) n += c
  return Float32Array.from(counts, (c) => c / Math.max(n, 1))
}

function count(it: Iterable<unknown>): number {
  let n = 0
  for (const _ of it) n++
  return n
}

function snapshot(params: Parameter[]): Float32Array[] {
  return params.map((p) => Float32Array.from(p.data))
}

function restore(params: Parameter[], snap: Float32Array[]): void {
  for (const [i, p] of params.entries()) p.data.set(snap[i])
}

/**
 * Trains `model` for `epochs` with early stopping on the validation users; returns the test
 * metrics of the best epoch and the training figures.
 */
async function fitAndTest<B>(
  name: string,
  model: NextItemModel<B>,
  make: (users: Int32Array, train: boolean, epoch: number) => Iterable<B>,
  slots: number,
  split: { train: Int32Array; valid: Int32Array; test: Int32Array },
  freq: Float32Array,
  o: HierTCNExperimentOptions,
  prefetched?: (users: Int32Array, epoch: number) => AsyncIterable<B>,
): Promise<Omit<HierTCNRow, 'model'>> {
  const rng = new Random(o.seed * 7919 + 13)
  const loss = new NextItemLoss(model.output, model.itemBias, {
    kind: o.loss,
    negatives: o.negatives,
    itemFrequency: freq,
    rng,
  })
  const params = model.parameters()
  const optimizer = new Adam(params, { lr: name === 'gru' ? o.gruLr : o.lr })
  const sink = progressSink(o.progress ?? false)
  let best = { epoch: 0, mrr: -1, recall10: 0 }
  let bestSnap = snapshot(params)
  let trainSeconds = 0
  let batchSeconds = 0
  let actionsPerSecond = 0
  for (let epoch = 1; epoch <= o.epochs; epoch++) {
    sink.start(epoch, o.epochs, count(make(split.train, true, epoch)))
    const e = prefetched
      ? await trainEpochPrefetched(model, prefetched(split.train, epoch), slots, loss, optimizer, sink)
      : trainEpoch(model, make(split.train, true, epoch), slots, loss, optimizer, sink)
    trainSeconds += e.seconds
    batchSeconds += e.batchSeconds
    actionsPerSecond += e.actions / e.seconds
    const v = evaluateModel(model, make(split.valid, false, 0), slots, loss)
    const better = v.mrr > best.mrr
    if (better) {
      best = { epoch, mrr: v.mrr, recall10: v.recall10 }
      bestSnap = snapshot(params)
    }
    sink.end(
      `${name} epoch ${epoch}/${o.epochs}: loss ${e.loss.toFixed(4)}, ${e.seconds.toFixed(1)} s, ` +
        `${Math.round(e.actions / e.seconds)} actions/s, ${e.batchSeconds.toFixed(2)} s ${prefetched ? 'waiting for' : 'building'} batches, valid R@10 ${v.recall10.toFixed(4)} MRR ${v.mrr.toFixed(4)}` +
        (better ? ' (best)' : ''),
    )
  }
  restore(params, bestSnap)
  const t = evaluateModel(model, make(split.test, false, 0), slots, loss)
  return {
    metrics: {
      recall1: round(t.recall1),
      recall5: round(t.recall5),
      recall10: round(t.recall10),
      recall20: round(t.recall20),
      mrr: round(t.mrr),
    },
    valid: { recall10: round(best.recall10), mrr: round(best.mrr) },
    train_seconds: round(trainSeconds, 2),
    params: params.reduce((s, p) => s + p.size, 0),
    peak_rss_mb: peakRssMb(),
    best_epoch: best.epoch,
    seconds_per_epoch: round(trainSeconds / o.epochs, 2),
    batch_seconds_per_epoch: round(batchSeconds / o.epochs, 3),
    prefetch: prefetched !== undefined,
    actions_per_second: Math.round(actionsPerSecond / o.epochs),
  }
}

/** HierTCN's spec from the experiment options (userHidden 0 = the TCN-only row). */
export function hierTCNSpec(o: HierTCNExperimentOptions, items: number, userHidden = o.userHidden): HierTCNSpec {
  return {
    items,
    embeddingDim: o.embeddingDim,
    userHidden,
    userLayers: 2,
    channels: o.channels,
    dilations: o.dilations,
    kernelSize: o.kernelSize,
    dropout: o.dropout,
    decayTau: o.decayTau,
  }
}

/**
 * The GRU-only model's hidden size that brings its parameter count closest to `target` (the
 * item tables and head are shared costs; the GRU takes the rest).
 */
export function gruHiddenFor(target: number, items: number, d: number, layers: number): number {
  let best = 1
  let bestGap = Infinity
  for (let h = 8; h <= 2048; h += 8) {
    const gru = 3 * h * (d + h + 2) + (layers - 1) * 3 * h * (2 * h + 2)
    // input and output item tables, item bias, start token, GRU, head
    const total = items * (2 * d + 1) + d + gru + h * d + d
    const gap = Math.abs(total - target)
    if (gap < bestGap) {
      bestGap = gap
      best = h
    }
  }
  return best
}

/** Runs every row of the experiment and returns the table. */
export async function runHierTCNExperiment(o: HierTCNExperimentOptions): Promise<HierTCNResult> {
  const log = o.log ?? (() => {})
  if (o.threads !== undefined) setThreads(o.threads)
  const data = await loadInteractions(o.sessions, { sessionGap: o.sessionGap })
  const split = splitUsers(data, { seed: o.seed })
  const want = new Set(o.models ?? HIERTCN_MODELS)
  const V = data.items.length
  const freq = itemFrequency(data, split.train)
  const result: HierTCNResult = {
    task: 'hiertcn',
    dataset: o.sessions,
    users: { train: split.train.length, valid: split.valid.length, test: split.test.length },
    items: V,
    actions: data.numActions,
    rows: [],
  }
  const baseline = (model: string, scorer: Parameters<typeof evaluateBaseline>[2]) => {
    const t0 = performance.now()
    const m = evaluateBaseline(data, split.test, scorer)
    const row: HierTCNRow = {
      model,
      metrics: {
        recall1: round(m.recall1),
        recall5: round(m.recall5),
        recall10: round(m.recall10),
        recall20: round(m.recall20),
        mrr: round(m.mrr),
      },
      train_seconds: round((performance.now() - t0) / 1000, 2),
      params: 0,
      peak_rss_mb: peakRssMb(),
    }
    result.rows.push(row)
    log(formatRow(row))
  }
  if (want.has('popular')) baseline('popular', mostPopular(data, split.train))
  if (want.has('cooccurrence')) baseline('cooccurrence', cooccurrence(data, split.train))

  // Training batches: from a partitioned spill when asked (the generator then holds one partition
  // of users), else from the log in memory; the same order either way (see user-order.ts).
  const spill =
    o.partitionUsers === undefined
      ? undefined
      : await spillInteractions(o.sessions, { sessionGap: o.sessionGap, partitionUsers: o.partitionUsers })
  const batchOptions = (train: boolean, epoch: number): SessionBatchesOptions => ({
    queues: o.batchSize,
    sessionSteps: o.sessionSteps,
    maxLength: o.maxLength,
    seed: o.seed + epoch,
    shuffle: train,
    maxUserSessions: train ? o.maxUserSessions : undefined,
    partitionUsers: train ? o.partitionUsers : undefined,
  })
  const sessionBatches = (users: Int32Array, train: boolean, epoch: number) =>
    new SessionBatches(train && spill ? spill : data, users, batchOptions(train, epoch))
  const prefetcher = o.prefetch === false ? undefined : new BatchPrefetcher(spill ?? data, 2, o.partitionUsers)
  const prefetched = prefetcher
    ? (users: Int32Array, epoch: number) => prefetcher.epoch(users, batchOptions(true, epoch))
    : undefined
  try {
    await trainRows()
    summarise()
  } finally {
    await prefetcher?.close()
    spill?.close()
  }
  return result

  async function trainRows(): Promise<void> {
    const hierParams = new HierTCN(hierTCNSpec(o, V), o.seed).parameterCount
    for (const name of ['gru', 'tcn', 'hiertcn'] as const) {
      if (!want.has(name)) continue
      let row: HierTCNRow
      if (name === 'gru') {
        const hidden = gruHiddenFor(hierParams, V, o.embeddingDim, 1)
        const model = new GRU4Rec({ items: V, embeddingDim: o.embeddingDim, hidden, layers: 1 }, o.seed)
        const lanes = (users: Int32Array, train: boolean, epoch: number) =>
          new ActionLanes(data, users, {
            lanes: o.batchSize,
            steps: o.gruSteps,
            seed: o.seed + epoch,
            shuffle: train,
            maxUserActions: train ? o.maxUserActions : undefined,
          })
        row = { model: 'gru', ...(await fitAndTest('gru', model, lanes, o.batchSize, split, freq, o)) }
      } else {
        const model = new HierTCN(hierTCNSpec(o, V, name === 'tcn' ? 0 : o.userHidden), o.seed)
        row = {
          model: name,
          ...(await fitAndTest(name, model, sessionBatches, o.batchSize, split, freq, o, prefetched)),
        }
        if (name === 'hiertcn' && o.keep) await o.keep(model, data, freq)
      }
      result.rows.push(row)
      log(formatRow(row))
    }
  }
  function summarise(): void {
    const hier = result.rows.find((r) => r.model === 'hiertcn')
    const gru = result.rows.find((r) => r.model === 'gru')
    if (hier?.actions_per_second && gru?.actions_per_second) {
      result.throughput_ratio = round(hier.actions_per_second / gru.actions_per_second, 2)
    }
    const gen = sessionBatches(split.train, true, 1)
    let peak = 0
    for (const _ of gen) peak = Math.max(peak, gen.dataBytes)
    const padded = paddedHistoryBytes(data, split.train, o.batchSize)
    result.data_memory = { queue_bytes: peak, padded_bytes: padded, ratio: round(padded / Math.max(peak, 1), 2) }
    log(
      `throughput: HierTCN / GRU-only actions/s = ${result.throughput_ratio ?? 'n/a'}; data memory: queue ` +
        `${peak} B vs padded histories ${padded} B (${result.data_memory.ratio}x smaller)`,
    )
    if (spill) {
      result.data_memory.partition_bytes = gen.partitionBytes
      result.data_memory.log_bytes = data.bytes
      log(
        `partitioned reader: ${spill.partitions} partitions of ${o.partitionUsers} users; peak partition read ` +
          `${gen.partitionBytes} B vs the whole log's arrays ${data.bytes} B`,
      )
    }
    for (const name of ['tcn', 'hiertcn']) {
      const r = result.rows.find((x) => x.model === name)
      if (r?.seconds_per_epoch !== undefined) {
        log(
          `${name}: ${r.seconds_per_epoch} s/epoch with batch prefetch ${r.prefetch ? 'on' : 'off'}; the training ` +
            `thread spent ${r.batch_seconds_per_epoch} s/epoch ${r.prefetch ? 'waiting for' : 'building'} batches`,
        )
      }
    }
  }
}

/** The table header printed by the CLI. */
export const HIERTCN_TABLE_HEADER =
  'model          R@1     R@5     R@10    R@20    MRR     train_s  params    peak_MB  epoch'

export function formatRow(r: HierTCNRow): string {
  const f = (x: number) => x.toFixed(4).padEnd(8)
  return (
    `${r.model.padEnd(15)}${f(r.metrics.recall1)}${f(r.metrics.recall5)}${f(r.metrics.recall10)}` +
    `${f(r.metrics.recall20)}${f(r.metrics.mrr)}${r.train_seconds.toFixed(1).padEnd(9)}` +
    `${String(r.params).padEnd(10)}${String(r.peak_rss_mb).padEnd(9)}${r.best_epoch ?? '-'}`
  )
}
