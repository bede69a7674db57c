/**
 * Command-line commands of the ranking task: `experiment ranking`, `train ranking`, `eval ranking`.
 * Progress and tables go to stderr/stdout; with --json the last stdout line is one JSON object.
 */
import { join } from 'node:path'

import { type Command, Option } from 'commander'

import { ErrorCodes, SimsageError } from '../errors.js'
import { packageRoot } from '../native/binding.js'
import { commandGroup } from './group.js'
import type { LrSchedule } from '../train/ranking.js'
import { integerOption, listOption, numberOption } from './parse.js'

/** The rows of `experiment ranking` (raw pixels, then every triplet source of lib/train/methods.ts). */
export const RANKING_METHODS = [
  'batch-all',
  'batch-hard',
  'batch-hard-soft',
  'semi-hard',
  'distance-weighted',
  'margin-semihard',
  'margin-hard',
  'deep-ranking-sampler',
] as const
const MODELS = ['raw-pixels', ...RANKING_METHODS]
/** The tower types of `--tower`. */
const TOWERS = ['mlp', 'conv', 'multiscale'] as const
/** Fashion-MNIST's classes. */
const CLASSES = 10

/** The shipped Fashion-MNIST subset (3,000 training and 1,000 test images). */
export function defaultDataDir(): string {
  return join(packageRoot(), 'data', 'fashion-mnist-small')
}

type Opts = Record<string, unknown>

function common(cmd: Command): Command {
  return cmd
    .option('--data <dir>', 'directory with the four Fashion-MNIST IDX files (default: the shipped subset)')
    .option('--epochs <n>', 'training epochs (an integer >= 1)', integerOption(1), 30)
    .option('--seed <n>', 'seed for initialisation, shuffling and sampling (an integer >= 0)', integerOption(0), 1)
    .option('--batch-size <n>', 'rows per step (an integer >= 3)', integerOption(3), 256)
    .option('--lr <x>', 'Adam learning rate (a number > 0)', numberOption(0, true), 0.0003)
    .option('--margin <x>', 'triplet margin g (a number >= 0)', numberOption(0), 0.2)
    .option(
      '--hidden <list>',
      'comma-separated positive hidden layer widths',
      listOption(
        'positive integers',
        (x) => {
          const n = Number(x)
          return Number.isInteger(n) && n >= 1 && n <= 1 << 24 ? n : undefined
        },
        undefined,
        'bad width',
      ),
      [512, 256],
    )
    .option('--embedding-dim <n>', 'embedding dimension (an integer in [1, 16777216])', integerOption(1, 1 << 24), 64)
    .addOption(
      new Option('--tower <type>', 'tower: mlp (--hidden), conv (ConvNet) or multiscale (Deep Ranking multiscale)')
        .choices(TOWERS)
        .default('mlp'),
    )
    .option('--augment', 'random crops (zero padding 2) and horizontal flips of the training batches')
    .addOption(
      new Option('--lr-schedule <s>', 'learning rate over the run: constant, or cosine decay to 0 over all steps')
        .choices(['constant', 'cosine'])
        .default('constant'),
    )
    .option(
      '--conv-widths <list>',
      'conv and multiscale towers: output channels of each trunk stage, comma-separated (default 16,32,64)',
      listOption(
        'positive integers',
        (x) => {
          const n = Number(x)
          return Number.isInteger(n) && n >= 1 && n <= 4096 ? n : undefined
        },
        undefined,
        'bad width',
      ),
    )
}

function parseCommon(o: Opts) {
  return {
    data: (o.data as string | undefined) ?? defaultDataDir(),
    epochs: o.epochs as number,
    seed: o.seed as number,
    batchSize: o.batchSize as number,
    lr: o.lr as number,
    margin: o.margin as number,
    hidden: o.hidden as number[],
    embeddingDim: o.embeddingDim as number,
    tower: o.tower as (typeof TOWERS)[number],
    augment: o.augment === true,
    lrSchedule: o.lrSchedule as LrSchedule,
    convWidths: o.convWidths as number[] | undefined,
  }
}

/** Adds `experiment ranking`, `train ranking` and `eval ranking` to the program. */
export function registerRankingCommands(program: Command): void {
  const experiment = commandGroup(program, 'experiment', 'train and evaluate every method of a task with one budget')
  common(experiment.command('ranking'))
    .description('Deep Ranking on Fashion-MNIST: every miner, the Deep Ranking sampler and raw pixels, one budget')
    .option(
      '--train-classes <list>',
      'train on these classes only (comma-separated, 0-9, at least one held out) and evaluate retrieval among the others',
      listOption(
        `class numbers from 0 to ${CLASSES - 1}`,
        (x) => {
          const n = Number(x)
          return Number.isInteger(n) && n >= 0 && n < CLASSES ? n : undefined
        },
        (classes) =>
          new Set(classes).size >= CLASSES ? 'at least one class must be held out for evaluation' : undefined,
        'bad class',
      ),
    )
    .option(
      '--models <list>',
      `only these rows (comma-separated: ${MODELS.join(', ')})`,
      listOption(
        `model names (${MODELS.join(', ')})`,
        (x) => (MODELS.includes(x) ? x : undefined),
        undefined,
        'unknown model',
      ),
    )
    .option('--json', 'print the result as one JSON object on the last stdout line')
    .action(async (o: Opts) => {
      const { runRankingExperiment, TABLE_HEADER } = await import('../train/experiment.js')
      const options = {
        ...parseCommon(o),
        trainClasses: o.trainClasses as number[] | undefined,
        models: o.models as string[] | undefined,
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
    .addOption(
      new Option('--method <name>', 'triplet source (see `experiment ranking --models`)')
        .choices(RANKING_METHODS)
        .default('semi-hard'),
    )
    .action(async (o: Opts) => {
      const { loadFashionMnist } = await import('../data/fashion-mnist.js')
      const { rankingModels } = await import('../train/methods.js')
      const { rankingTower, saveTower } = await import('../models/ranking-tower.js')
      const { ConvTower, defaultConvTowerSpec } = await import('../models/conv-tower.js')
      const { saveConvTower } = await import('../models/conv-tower-checkpoint.js')
      const { ImageAugmenter } = await import('../data/augment.js')
      const { trainRanking } = await import('../train/ranking.js')
      const { Adam } = await import('../nn/optim.js')
      const c = parseCommon(o)
      const models = rankingModels({ margin: c.margin, bufferSize: 256, seed: c.seed })
      const method = o.method as string
      const data = await loadFashionMnist(c.data, 'train')
      const spec = { inputDim: data.dim, hidden: c.hidden, embeddingDim: c.embeddingDim }
      const side = Math.round(Math.sqrt(data.dim))
      const conv =
        c.tower === 'mlp'
          ? undefined
          : new ConvTower(
              {
                ...defaultConvTowerSpec(c.tower, c.embeddingDim),
                ...(c.convWidths ? { widths: c.convWidths } : {}),
                height: side,
                width: side,
              },
              c.seed,
            )
      const mlp = conv ? undefined : rankingTower(spec, c.seed)
      const model = conv ?? mlp!
      const augmenter = c.augment
        ? new ImageAugmenter({ channels: 1, height: side, width: side, seed: c.seed })
        : undefined
      trainRanking({
        augment: augmenter ? (x, b) => augmenter.apply(x, b) : undefined,
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
        lrSchedule: c.lrSchedule,
        progress: true,
      })
      const meta = { method, epochs: String(c.epochs), seed: String(c.seed), data: 'fashion-mnist' }
      if (conv) await saveConvTower(o.out as string, conv, meta)
      else await saveTower(o.out as string, mlp!, spec, meta)
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
      const { embed } = await import('../models/ranking-tower.js')
      const { loadAnyTower } = await import('../models/conv-tower-checkpoint.js')
      const { retrievalMetrics, similarityPrecision, labelTriplets } = await import('../eval/retrieval.js')
      const dir = (o.data as string | undefined) ?? defaultDataDir()
      const spec = await loadAnyTower(o.checkpoint as string)
      const { model } = spec
      const [train, test] = await Promise.all([loadFashionMnist(dir, 'train'), loadFashionMnist(dir, 'test')])
      if (train.dim !== spec.inputDim)
        throw new SimsageError(
          ErrorCodes.DIM_MISMATCH,
          `the checkpoint expects ${spec.inputDim} inputs, the data has ${train.dim}`,
        )
      const batch = spec.type === 'mlp' ? 1024 : 256
      const q = embed(model, test.images, spec.inputDim, spec.embeddingDim, batch)
      const g = embed(model, train.images, spec.inputDim, spec.embeddingDim, batch)
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
