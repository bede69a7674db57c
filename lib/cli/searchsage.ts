/**
 * Command-line commands of query → entity retrieval (OmniSearchSage): `experiment searchsage`.
 * Progress goes to stderr; with --json the last stdout line is one JSON object.
 */
import { type Command, Option } from 'commander'

import { commandGroup } from './group.js'
import { integerOption, modelsOption, numberOption } from './parse.js'

type Opts = Record<string, unknown>

const MODELS = ['unified', 'file-only', 'query-only', 'ablations', 'tfidf'] as const

/** Formats the result table (one line per model). */
function table(rows: { model: string; metrics: Record<string, number>; train_seconds: number }[]): string {
  const cols = [
    'file_recall10_all',
    'file_recall10_1k',
    'file_popular_top10',
    'query_recall10_all',
    'query_recall10_1k',
  ]
  const head = ['model'.padEnd(22), ...cols.map((c) => c.padStart(19)), 'train s'.padStart(9)].join('')
  const lines = rows.map((r) =>
    [
      r.model.padEnd(22),
      ...cols.map((c) => (r.metrics[c] === undefined ? '-' : r.metrics[c].toFixed(4)).padStart(19)),
      r.train_seconds.toFixed(1).padStart(9),
    ].join(''),
  )
  return [head, ...lines].join('\n')
}

/** The training options shared by `experiment searchsage` and `train searchsage`. */
function trainingOptions(cmd: Command): Command {
  return cmd
    .requiredOption(
      '--commits <jsonl>',
      'commit log: JSONL (or .jsonl.gz) of {ts, user_id, session_id, subject, items}',
    )
    .option('--epochs <n>', 'training epochs (an integer >= 1)', integerOption(1), 5)
    .option('--seed <n>', 'seed of initialisation, batches and sampling', integerOption(0), 1)
    .option('--batch <n>', 'pairs per step over all tasks', integerOption(2, 65536), 256)
    .option('--random-negatives <n>', 'random negatives per task per step', integerOption(0, 1 << 20), 256)
    .option('--dim <n>', 'embedding dimension', integerOption(1, 4096), 64)
    .option('--bag-dim <n>', 'hash embedding dimension', integerOption(1, 4096), 64)
    .option('--bag-rows <n>', 'hash table rows', integerOption(1, 1 << 26), 100_000)
    .option('--lr <x>', 'Adam learning rate of the MLPs and temperatures', numberOption(0, true), 2e-3)
    .option('--bag-lr <x>', 'lazy Adam learning rate of the hash tables', numberOption(0, true), 1e-2)
    .option('--max-subjects <n>', 'most recent training subjects kept per file', integerOption(1), 64)
}

function trainingValues(o: Opts) {
  return {
    epochs: o.epochs as number,
    seed: o.seed as number,
    batch: o.batch as number,
    randomNegatives: o.randomNegatives as number,
    dim: o.dim as number,
    bagDim: o.bagDim as number,
    bagRows: o.bagRows as number,
    lr: o.lr as number,
    bagLr: o.bagLr as number,
    maxSubjects: o.maxSubjects as number,
  }
}

/** Adds `experiment searchsage`, `train searchsage` and `embed` to the program. */
export function registerSearchSageCommands(program: Command): void {
  const experiment = commandGroup(program, 'experiment', 'train and evaluate every method of a task with one budget')
  trainingOptions(experiment.command('searchsage'))
    .description(
      'query → file retrieval on a commit log (OmniSearchSage): the unified multi-task model, one model per task, field ablations and TF-IDF, one budget',
    )
    .option('--models <list>', `only these rows (comma-separated: ${MODELS.join(', ')})`, modelsOption(MODELS))
    .option('--json', 'print the result as one JSON object on the last stdout line')
    .action(async (o: Opts) => {
      const { runSearchSageExperiment } = await import('../train/searchsage-experiment.js')
      const out = o.json ? process.stderr : process.stdout
      const result = await runSearchSageExperiment({
        commits: o.commits as string,
        ...trainingValues(o),
        models: o.models as (typeof MODELS)[number][] | undefined,
        log: (l) => void process.stderr.write(`${l}\n`),
      })
      const s = result.split
      out.write(
        `${result.dataset}: ${s.files} files, ${s.trainPairs} training pairs, ${s.testPairs} test pairs (${s.unseenTestPairs} more name files outside the catalog), ${s.queryTestPairs} query → query test pairs\n`,
      )
      out.write(`${table(result.rows)}\n`)
      if (o.json) process.stdout.write(`${JSON.stringify(result)}\n`)
    })

  const train = commandGroup(program, 'train', 'train a model and write a checkpoint')
  trainingOptions(train.command('searchsage'))
    .description('train the unified searchsage model (file 8 : query 2) on a commit log and write a checkpoint')
    .requiredOption('--out <file>', 'checkpoint to write (safetensors)')
    .action(async (o: Opts) => {
      const { loadCommits, splitCommits } = await import('../data/commits.js')
      const { commitSearchData } = await import('../data/commit-search.js')
      const { trainSearchSage } = await import('../train/searchsage.js')
      const { saveSearchSage } = await import('../search/checkpoint.js')
      const values = trainingValues(o)
      const data = commitSearchData(splitCommits(await loadCommits(o.commits as string)))
      const model = trainSearchSage(data, {
        ...values,
        onEpoch: (e) =>
          void process.stderr.write(`epoch ${e.epoch}: loss ${e.loss.toFixed(4)} (${e.seconds.toFixed(1)} s)\n`),
      })
      await saveSearchSage(o.out as string, {
        query: model.query,
        entity: model.entity,
        maxSubjects: values.maxSubjects,
      })
      process.stdout.write(`checkpoint written to ${o.out}\n`)
    })

  program
    .command('embed')
    .description('embed the texts of a JSONL file with a searchsage checkpoint and write an EmbeddingIndex file')
    .requiredOption('--model <file>', 'checkpoint from `simsage train searchsage`')
    .requiredOption(
      '--input <jsonl>',
      'one item per line: {"id", "text"} (query tower) or {"id", <field>: ...} (entity)',
    )
    .requiredOption('--out <file>', 'index file to write')
    .addOption(
      new Option('--tower <name>', 'which tower embeds the items').choices(['query', 'entity']).default('query'),
    )
    .action(async (o: Opts) => {
      const { loadSearchSage } = await import('../search/checkpoint.js')
      const { embedToIndex } = await import('../search/embed-jsonl.js')
      const model = await loadSearchSage(o.model as string)
      const n = await embedToIndex(model, o.input as string, o.out as string, o.tower as 'query' | 'entity')
      process.stdout.write(`${n} items embedded into ${o.out}\n`)
    })
}
