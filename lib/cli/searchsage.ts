/**
 * Command-line commands of query → entity retrieval (OmniSearchSage): `experiment searchsage`.
 * Progress goes to stderr; with --json the last stdout line is one JSON object.
 */
import type { Command } from 'commander'

import { commandGroup } from './group.js'
import { integerOption, listOption, numberOption } from './parse.js'

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

/** Adds `experiment searchsage` to the program. */
export function registerSearchSageCommands(program: Command): void {
  const experiment = commandGroup(program, 'experiment', 'train and evaluate every method of a task with one budget')
  experiment
    .command('searchsage')
    .description(
      'query → file retrieval on a commit log (OmniSearchSage): the unified multi-task model, one model per task, field ablations and TF-IDF, one budget',
    )
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
    .option(
      '--models <list>',
      `only these rows (comma-separated: ${MODELS.join(', ')})`,
      listOption(
        `model names (${MODELS.join(', ')})`,
        (x) => ((MODELS as readonly string[]).includes(x) ? x : undefined),
        undefined,
        'unknown model',
      ),
    )
    .option('--json', 'print the result as one JSON object on the last stdout line')
    .action(async (o: Opts) => {
      const { runSearchSageExperiment } = await import('../train/searchsage-experiment.js')
      const out = o.json ? process.stderr : process.stdout
      const result = await runSearchSageExperiment({
        commits: o.commits as string,
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
}
