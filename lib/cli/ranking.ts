/**
 * Command-line commands of the ranking task: `experiment ranking`, `train ranking`, `eval ranking`.
 * Progress and tables go to stderr/stdout; with --json the last stdout line is one JSON object.
 */
import { join } from 'node:path'

import type { Command } from 'commander'

import { ErrorCodes, SimsageError } from '../errors.js'
import { packageRoot } from '../native/binding.js'
import { commandGroup } from './group.js'

const list = (v: string) =>
  v
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x.length > 0)
function ints(v: string, name: string): number[] {
  const out = list(v).map(Number)
  if (out.some((x) => !Number.isInteger(x) || x < 0))
    throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `--${name} must be comma-separated non-negative integers`)
  return out
}
function num(v: string, name: string, min: number): number {
  const x = Number(v)
  if (!Number.isFinite(x) || x < min)
    throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `--${name} must be a number >= ${min}, got ${v}`)
  return x
}

/** The shipped Fashion-MNIST subset (3,000 training and 1,000 test images). */
export function defaultDataDir(): string {
  return join(packageRoot(), 'data', 'fashion-mnist-small')
}

type Opts = Record<string, string | boolean | undefined>

function common(cmd: Command): Command {
  return cmd
    .option('--data <dir>', 'directory with the four Fashion-MNIST IDX files (default: the shipped subset)')
    .option('--epochs <n>', 'training epochs', '30')
    .option('--seed <n>', 'seed for initialisation, shuffling and sampling', '1')
    .option('--batch-size <n>', 'rows per step', '256')
    .option('--lr <x>', 'Adam learning rate', '0.0003')
    .option('--margin <x>', 'triplet margin g', '0.2')
    .option('--hidden <list>', 'hidden layer widths', '512,256')
    .option('--embedding-dim <n>', 'embedding dimension', '64')
}

function parseCommon(o: Opts) {
  return {
    data: (o.data as string | undefined) ?? defaultDataDir(),
    epochs: num(o.epochs as string, 'epochs', 1),
    seed: num(o.seed as string, 'seed', 0),
    batchSize: num(o.batchSize as string, 'batch-size', 3),
    lr: num(o.lr as string, 'lr', 0),
    margin: num(o.margin as string, 'margin', 0),
    hidden: ints(o.hidden as string, 'hidden'),
    embeddingDim: num(o.embeddingDim as string, 'embedding-dim', 1),
  }
}

/** Adds `experiment ranking`, `train ranking` and `eval ranking` to the program. */
export function registerRankingCommands(program: Command): void {
  const experiment = commandGroup(program, 'experiment', 'train and evaluate every method of a task with one budget')
  common(experiment.command('ranking'))
    .description('Deep Ranking on Fashion-MNIST: every miner, the Deep Ranking sampler and raw pixels, one budget')
    .option('--train-classes <list>', 'train on these classes only and evaluate retrieval among the others')
    .option(
      '--models <list>',
      'only these rows (raw-pixels, batch-all, batch-hard, batch-hard-soft, semi-hard, distance-weighted, ' +
        'margin-semihard, margin-hard, deep-ranking-sampler)',
    )
    .option('--json', 'print the result as one JSON object on the last stdout line')
    .action(async (o: Opts) => {
      const { runRankingExperiment, TABLE_HEADER } = await import('../train/experiment.js')
      const options = {
        ...parseCommon(o),
        trainClasses: o.trainClasses ? ints(o.trainClasses as string, 'train-classes') : undefined,
        models: o.models ? list(o.models as string) : undefined,
      }
      const out = o.json ? process.stderr : process.stdout
      out.write(`${TABLE_HEADER}\n`)
      const result = await runRankingExperiment({ ...options, progress: true, log: (l) => void out.write(`${l}\n`) })
      if (o.json) process.stdout.write(`${JSON.stringify(result)}\n`)
    })

  const train = commandGroup(program, 'train', 'train a model and write a checkpoint')
  common(train.command('ranking'))
    .description('train a ranking tower on Fashion-MNIST and write a safetensors checkpoint')
    .requiredOption('--out <file>', 'checkpoint path (.safetensors)')
    .option('--method <name>', 'triplet source (see `experiment ranking --models`)', 'semi-hard')
    .action(async (o: Opts) => {
      const { loadFashionMnist } = await import('../data/fashion-mnist.js')
      const { rankingModels } = await import('../train/methods.js')
      const { rankingTower, saveTower } = await import('../models/ranking-tower.js')
      const { trainRanking } = await import('../train/ranking.js')
      const { Adam } = await import('../nn/optim.js')
      const c = parseCommon(o)
      const models = rankingModels({ margin: c.margin, bufferSize: 256, seed: c.seed })
      const method = o.method as string
      if (!models[method])
        throw new SimsageError(
          ErrorCodes.INVALID_ARGUMENT,
          `unknown --method ${method}; one of ${Object.keys(models).join(', ')}`,
        )
      const data = await loadFashionMnist(c.data, 'train')
      const spec = { inputDim: data.dim, hidden: c.hidden, embeddingDim: c.embeddingDim }
      const model = rankingTower(spec, c.seed)
      trainRanking({
        x: data.images,
        labels: data.labels,
        inputDim: data.dim,
        embeddingDim: c.embeddingDim,
        model,
        optimizer: new Adam(model.parameters(), { lr: c.lr }),
        ...models[method](),
        epochs: c.epochs,
        batchSize: c.batchSize,
        margin: c.margin,
        seed: c.seed,
        progress: true,
      })
      await saveTower(o.out as string, model, spec, {
        method,
        epochs: String(c.epochs),
        seed: String(c.seed),
        data: 'fashion-mnist',
      })
      process.stdout.write(`checkpoint written to ${o.out}\n`)
    })

  const evalCmd = commandGroup(program, 'eval', 'evaluate a checkpoint')
  evalCmd
    .command('ranking')
    .description('evaluate a ranking tower checkpoint: test images as queries against the training images')
    .requiredOption('--checkpoint <file>', 'checkpoint written by `train ranking`')
    .option('--data <dir>', 'directory with the four Fashion-MNIST IDX files (default: the shipped subset)')
    .option('--json', 'print the metrics as one JSON object')
    .action(async (o: Opts) => {
      const { loadFashionMnist } = await import('../data/fashion-mnist.js')
      const { loadTower, embed } = await import('../models/ranking-tower.js')
      const { retrievalMetrics, similarityPrecision, labelTriplets } = await import('../eval/retrieval.js')
      const dir = (o.data as string | undefined) ?? defaultDataDir()
      const { model, spec } = await loadTower(o.checkpoint as string)
      const [train, test] = await Promise.all([loadFashionMnist(dir, 'train'), loadFashionMnist(dir, 'test')])
      if (train.dim !== spec.inputDim)
        throw new SimsageError(
          ErrorCodes.DIM_MISMATCH,
          `the checkpoint expects ${spec.inputDim} inputs, the data has ${train.dim}`,
        )
      const q = embed(model, test.images, spec.inputDim, spec.embeddingDim)
      const g = embed(model, train.images, spec.inputDim, spec.embeddingDim)
      const m = retrievalMetrics(
        { vectors: q, labels: test.labels, dim: spec.embeddingDim },
        { vectors: g, labels: train.labels, dim: spec.embeddingDim },
        { recallAt: [1, 10] },
      )
      const metrics = {
        recall1: m.recall[1],
        recall10: m.recall[10],
        knnAccuracy: m.knnAccuracy,
        scoreAt30: m.scoreAtTopK,
        similarityPrecision: similarityPrecision(q, spec.embeddingDim, labelTriplets(test.labels, 20000, 12345)),
      }
      process.stdout.write(
        o.json
          ? `${JSON.stringify({ task: 'ranking', checkpoint: o.checkpoint, metrics })}\n`
          : `${JSON.stringify(metrics, null, 2)}\n`,
      )
    })
}
