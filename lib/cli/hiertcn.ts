/**
 * Command-line commands of the next-item task: `experiment hiertcn`, `train hiertcn`,
 * `eval hiertcn`. Progress goes to stderr; with --json the last stdout line is one JSON object.
 */
import { type Command, Option } from 'commander'

import { commandGroup } from './group.js'
import { integerOption, listOption, modelsOption, numberOption } from './parse.js'

type Opts = Record<string, unknown>

const LOSSES = ['softmax', 'sampled', 'hinge'] as const
const MODELS = ['popular', 'cooccurrence', 'gru', 'tcn', 'hiertcn'] as const

const positiveList = (what: string) =>
  listOption(
    what,
    (x) => {
      const n = Number(x)
      return Number.isInteger(n) && n >= 1 && n <= 1 << 16 ? n : undefined
    },
    undefined,
    'bad value',
  )

function common(cmd: Command): Command {
  return cmd
    .requiredOption(
      '--sessions <csv>',
      'interaction log: CSV (or .csv.gz) with user_id, timestamp, item [, session_id]',
    )
    .option(
      '--session-gap <seconds>',
      'cut sessions at gaps longer than this when the file has no session_id',
      numberOption(0, true),
    )
    .option('--epochs <n>', 'training epochs (an integer >= 1)', integerOption(1), 8)
    .option('--seed <n>', 'seed for the user split, initialisation and shuffling', integerOption(0), 1)
    .option('--threads <n>', 'native threads (an integer >= 1; default: all cores)', integerOption(1, 256))
    .option('--batch-size <n>', 'queues (HierTCN) / lanes (GRU-only) per batch', integerOption(1, 65536), 64)
    .option('--session-steps <n>', 'session steps per HierTCN batch', integerOption(1, 4096), 4)
    .option(
      '--max-length <n>',
      'longest session piece in actions (longer sessions are cut)',
      integerOption(1, 4096),
      16,
    )
    .option('--gru-steps <n>', 'positions per GRU-only batch', integerOption(1, 4096), 8)
    .option(
      '--max-user-sessions <n>',
      'training: queue a user as segments of at most this many sessions (HierTCN)',
      integerOption(1),
      64,
    )
    .option(
      '--max-user-actions <n>',
      'training: queue a user as segments of at most this many actions (GRU-only)',
      integerOption(2),
      256,
    )
    .option('--embedding-dim <n>', 'item embedding size', integerOption(1, 4096), 64)
    .option('--user-hidden <n>', "HierTCN's user-level GRU hidden size", integerOption(1, 4096), 64)
    .option('--channels <list>', 'TCN block widths', positiveList('positive integers'), [64, 64, 64])
    .option('--dilations <list>', 'TCN block dilations (one per block)', positiveList('positive integers'), [1, 2, 4])
    .option('--kernel-size <n>', 'TCN kernel size', integerOption(1, 64), 3)
    .option('--dropout <x>', 'TCN dropout in [0, 1)', numberOption(0), 0.3)
    .option('--decay-tau <seconds>', 'user-state decay exp(-gap/tau) between sessions; 0 = none', numberOption(0), 0)
    .addOption(new Option('--loss <name>', 'training loss').choices(LOSSES).default('softmax'))
    .option('--negatives <n>', 'sampled negatives per batch (sampled, hinge)', integerOption(1), 512)
    .option('--lr <x>', 'Adam learning rate (HierTCN, TCN-only)', numberOption(0, true), 0.01)
    .option('--gru-lr <x>', 'Adam learning rate of the GRU-only model', numberOption(0, true), 0.002)
    .option('--no-prefetch', 'build each training batch between steps instead of in a worker during the previous step')
    .option(
      '--partition-users <n>',
      'read the training users from a spill of the CSV, this many users per partition (bounds the generator memory)',
      integerOption(1),
    )
}

function options(o: Opts) {
  const channels = o.channels as number[]
  const dilations = o.dilations as number[]
  if (channels.length !== dilations.length) {
    throw new Error(`--channels has ${channels.length} blocks but --dilations has ${dilations.length}`)
  }
  if (!((o.dropout as number) < 1)) throw new Error('--dropout must be < 1')
  return {
    sessions: o.sessions as string,
    sessionGap: o.sessionGap as number | undefined,
    epochs: o.epochs as number,
    seed: o.seed as number,
    threads: o.threads as number | undefined,
    batchSize: o.batchSize as number,
    sessionSteps: o.sessionSteps as number,
    maxLength: o.maxLength as number,
    gruSteps: o.gruSteps as number,
    maxUserSessions: o.maxUserSessions as number,
    maxUserActions: o.maxUserActions as number,
    embeddingDim: o.embeddingDim as number,
    userHidden: o.userHidden as number,
    channels,
    dilations,
    kernelSize: o.kernelSize as number,
    dropout: o.dropout as number,
    decayTau: o.decayTau as number,
    loss: o.loss as (typeof LOSSES)[number],
    negatives: o.negatives as number,
    lr: o.lr as number,
    gruLr: o.gruLr as number,
    prefetch: o.prefetch !== false,
    partitionUsers: o.partitionUsers as number | undefined,
  }
}

/** Adds `experiment hiertcn`, `train hiertcn` and `eval hiertcn` to the program. */
export function registerHierTCNCommands(program: Command): void {
  const experiment = commandGroup(program, 'experiment', 'train and evaluate every method of a task with one budget')
  common(experiment.command('hiertcn'))
    .description(
      'next-item recommendation on an interaction log: HierTCN, TCN-only, GRU-only, last-item co-occurrence and most-popular, one budget',
    )
    .option('--models <list>', `only these rows (comma-separated: ${MODELS.join(', ')})`, modelsOption(MODELS))
    .option('--json', 'print the result as one JSON object on the last stdout line')
    .action(async (o: Opts) => {
      const { runHierTCNExperiment, HIERTCN_TABLE_HEADER } = await import('../train/hiertcn.js')
      const out = o.json ? process.stderr : process.stdout
      out.write(`${HIERTCN_TABLE_HEADER}\n`)
      const result = await runHierTCNExperiment({
        ...options(o),
        models: o.models as string[] | undefined,
        progress: true,
        log: (l) => void out.write(`${l}\n`),
      })
      if (o.json) process.stdout.write(`${JSON.stringify(result)}\n`)
    })

  const train = commandGroup(program, 'train', 'train a model and write a checkpoint')
  common(train.command('hiertcn'))
    .description('train HierTCN on the training users of an interaction log and write a checkpoint')
    .requiredOption('--out <file>', 'checkpoint path (.safetensors); the item vocabulary is stored in it')
    .option('--export-index <file>', 'also write the item embeddings as an EmbeddingIndex file (ids = item numbers)')
    .action(async (o: Opts) => {
      const { trainHierTCNCommand } = await import('../train/hiertcn-checkpoint.js')
      await trainHierTCNCommand({
        ...options(o),
        out: o.out as string,
        exportIndex: o.exportIndex as string | undefined,
      })
    })

  const evalCmd = commandGroup(program, 'eval', 'evaluate a checkpoint')
  evalCmd
    .command('hiertcn')
    .description("evaluate a HierTCN checkpoint on an interaction log's test users (the same seeded split)")
    .requiredOption('--checkpoint <file>', 'checkpoint written by `train hiertcn`')
    .requiredOption('--sessions <csv>', 'interaction log (CSV or .csv.gz)')
    .option('--session-gap <seconds>', 'session gap when the file has no session_id', numberOption(0, true))
    .option('--seed <n>', 'seed of the user split (as in training)', integerOption(0), 1)
    .option('--users <which>', 'which users to score: test, valid or all', 'test')
    .option('--json', 'print the metrics as one JSON object')
    .action(async (o: Opts) => {
      const { evalHierTCNCommand } = await import('../train/hiertcn-checkpoint.js')
      await evalHierTCNCommand({
        checkpoint: o.checkpoint as string,
        sessions: o.sessions as string,
        sessionGap: o.sessionGap as number | undefined,
        seed: o.seed as number,
        users: o.users as string,
        json: Boolean(o.json),
      })
    })
}
