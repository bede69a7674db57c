/**
 * Command-line commands of query → entity retrieval (OmniSearchSage): `experiment searchsage`
 * (commit logs), `train searchsage` (a commit log, or the user's entities and pairs as JSONL:
 * lib/data/search-jsonl.ts) and `embed`. Progress goes to stderr; with --json the last stdout line
 * is one JSON object.
 */
import { type Command, Option } from 'commander'

import type { SearchSageTasks } from '../train/searchsage.js'
import { SEARCHSAGE_DEFAULTS } from '../train/searchsage-options.js'
import { ErrorCodes, SimsageError } from '../errors.js'
import { commandGroup } from './group.js'
import { integerOption, listOption, modelsOption, numberOption } from './parse.js'

type Opts = Record<string, unknown>
type Weights = [string, number][]

/** `--tasks`: name=weight items, names distinct, weights >= 0 ("pin=8,product=4,query=2"). */
const tasksOption = listOption<[string, number]>(
  'name=weight items (entity, query, or entity types), e.g. pin=8,product=4,query=2',
  (x) => {
    const m = /^([^=]+)=(.+)$/.exec(x)
    const w = m ? Number(m[2]) : Number.NaN
    return m && Number.isFinite(w) && w >= 0 ? [m[1].trim(), w] : undefined
  },
  (items) => {
    const names = items.map(([n]) => n)
    const twice = names.find((n, i) => names.indexOf(n) !== i)
    if (twice) return `task "${twice}" is given twice`
    if (names.includes('entity') && names.some((n) => n !== 'entity' && n !== 'query'))
      return 'give "entity" (one task over every entity) or entity types, not both'
    return undefined
  },
  'bad task',
)

/** The training tasks of `--tasks` (entity types: one task each) over `fallback`. */
function tasksOf(items: Weights | undefined, fallback: SearchSageTasks): SearchSageTasks {
  if (!items) return fallback
  const w = new Map(items)
  const typed = items.filter(([n]) => n !== 'entity' && n !== 'query')
  return {
    entity: typed.length > 0 ? Object.fromEntries(typed) : (w.get('entity') ?? 0),
    query: w.get('query') ?? 0,
  }
}

const MODELS = ['unified', 'file-only', 'query-only', 'frozen-only', 'ablations', 'tfidf'] as const

/** Formats the result table (one line per model). */
function table(rows: { model: string; metrics: Record<string, number>; train_seconds: number }[]): string {
  const cols = [
    'file_recall10_all',
    'file_recall10_1k',
    'file_popular_top10',
    'query_recall10_all',
    'query_recall10_1k',
    'frozen_recall10_all',
    'frozen_recall10_1k',
    'passes',
  ]
  const head = ['model'.padEnd(22), ...cols.map((c) => c.padStart(21)), 'train s'.padStart(9)].join('')
  const lines = rows.map((r) =>
    [
      r.model.padEnd(22),
      ...cols.map((c) => (r.metrics[c] === undefined ? '-' : r.metrics[c].toFixed(4)).padStart(21)),
      r.train_seconds.toFixed(1).padStart(9),
    ].join(''),
  )
  return [head, ...lines].join('\n')
}

const COMMITS_HELP = 'commit log: JSONL (or .jsonl.gz) of {ts, user_id, session_id, subject, items}'

/** The training options shared by `experiment searchsage` and `train searchsage`. */
function trainingOptions(cmd: Command): Command {
  return cmd
    .option(
      '--epochs <n>',
      'passes over the (query, entity) pairs: with --commits the most, the best quarter pass being chosen on later validation commits (default 3); with --entities exactly (default 1)',
      integerOption(1),
    )
    .option('--seed <n>', 'seed of initialisation, batches and sampling', integerOption(0), 1)
    .option('--batch <n>', 'pairs per step of each task', integerOption(2, 65536), 256)
    .option('--random-negatives <n>', 'random negatives per task per step', integerOption(0, 1 << 20), 256)
    .option('--dim <n>', 'embedding dimension', integerOption(1, 4096), 128)
    .option('--bag-dim <n>', 'hash embedding dimension', integerOption(1, 4096), 128)
    .option('--bag-rows <n>', 'hash table rows', integerOption(1, 1 << 26), 100_000)
    .option('--lr <x>', 'Adam learning rate of the MLPs and temperatures', numberOption(0, true), 2e-3)
    .option('--bag-lr <x>', 'lazy Adam learning rate of the hash tables', numberOption(0, true), 1e-2)
    .option(
      '--max-subjects <n>',
      'most recent texts kept of a list-valued entity field (commit logs: subjects per file; default 4 with --commits, 16 with --entities)',
      integerOption(1),
    )
    .option('--token-dropout <p>', 'share of training tokens left out at random (0 <= p < 1)', numberOption(0), 0.2)
    .option(
      '--ema-decay <x>',
      "per-step decay of the moving average of the weights that validation and the saved model use (0 <= x < 1; 0 = the last step's weights)",
      numberOption(0),
      SEARCHSAGE_DEFAULTS.emaDecay,
    )
    .option(
      '--recency-half-life <x>',
      'draw recent pairs more: weight halves every x of the pairs, in file order (default 0.25 with --commits, 0 = uniform with --entities)',
      numberOption(0),
    )
    .option(
      '--query-prefix <n>',
      'dimensions of the query vector the query → query task trains and searches on (default: dim / 4 with other tasks, else dim)',
      integerOption(1, 4096),
    )
    .option('--no-shared-bag', 'separate hash tables for the query and entity towers (default: one shared vocabulary)')
    .option(
      '--patience <n>',
      'with --commits: quarter passes without a better validation score before stopping',
      integerOption(1),
      2,
    )
}

/** The training data of `train searchsage`: exactly one of --commits and --entities + --pairs. */
async function trainingData(o: Opts) {
  const jsonl = o.entities !== undefined || o.pairs !== undefined || o.queryPairs !== undefined
  if ((o.commits !== undefined) === jsonl) {
    throw new SimsageError(
      ErrorCodes.INVALID_ARGUMENT,
      'give one training source: --commits <jsonl>, or --entities <jsonl> with --pairs <jsonl> (and optionally --query-pairs)',
    )
  }
  if (o.commits !== undefined) {
    if (o.fields !== undefined || o.queryField !== undefined) {
      throw new SimsageError(
        ErrorCodes.INVALID_ARGUMENT,
        '--fields and --query-field go with --entities, not --commits',
      )
    }
    const { loadCommits, splitCommits } = await import('../data/commits.js')
    const { CommitTrainer } = await import('../train/searchsage-select.js')
    const trainer = new CommitTrainer(
      splitCommits(await loadCommits(o.commits as string)),
      (l) => void process.stderr.write(`${l}\n`),
    )
    return { data: trainer.data, tasks: tasksOf(o.tasks as Weights, { entity: 8, query: 2 }), trainer }
  }
  if (o.entities === undefined || o.pairs === undefined) {
    throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, '--entities and --pairs go together')
  }
  const { loadSearchJsonl } = await import('../data/search-jsonl.js')
  const data = await loadSearchJsonl({
    entities: o.entities as string,
    pairs: o.pairs as string,
    queryPairs: o.queryPairs as string | undefined,
    fields: o.fields as string[] | undefined,
    queryField: o.queryField as string | undefined,
  })
  const c = data.entities
  process.stderr.write(
    `${c.ids.length} entities, fields ${c.fields.map((f) => `"${f.name}"`).join(', ')}${data.queryField ? ` (query field "${data.queryField}")` : ''}; ${data.train.entity.queries.length} pairs, ${data.train.query.queries.length} query pairs\n`,
  )
  const tasks = tasksOf(o.tasks as Weights, o.queryPairs !== undefined ? { entity: 8, query: 2 } : { entity: 1 })
  if ((tasks.query ?? 0) > 0 && data.train.query.queries.length === 0) {
    throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, 'the query task needs --query-pairs')
  }
  return { data, tasks }
}

function trainingValues(o: Opts) {
  return {
    epochs: o.epochs as number | undefined,
    seed: o.seed as number,
    batch: o.batch as number,
    randomNegatives: o.randomNegatives as number,
    dim: o.dim as number,
    bagDim: o.bagDim as number,
    bagRows: o.bagRows as number,
    lr: o.lr as number,
    bagLr: o.bagLr as number,
    maxSubjects: o.maxSubjects as number | undefined,
    tokenDropout: o.tokenDropout as number,
    emaDecay: o.emaDecay as number,
    recencyHalfLife: o.recencyHalfLife as number | undefined,
    sharedBag: o.sharedBag as boolean,
    queryPrefix: o.queryPrefix as number | undefined,
    patience: o.patience as number,
  }
}

/** Adds `experiment searchsage`, `train searchsage` and `embed` to the program. */
export function registerSearchSageCommands(program: Command): void {
  const experiment = commandGroup(program, 'experiment', 'train and evaluate every method of a task with one budget')
  trainingOptions(experiment.command('searchsage'))
    .requiredOption('--commits <jsonl>', COMMITS_HELP)
    .description(
      'query → file retrieval on a commit log (OmniSearchSage): the unified multi-task model, one model per task, field ablations and TF-IDF, one budget',
    )
    .option('--models <list>', `only these rows (comma-separated: ${MODELS.join(', ')})`, modelsOption(MODELS))
    .option('--no-frozen', 'skip the frozen task (HierTCN item vectors, about 4 minutes on symfony) and its row')
    .option(
      '--frozen-dim <n>',
      "dimension of the frozen task's HierTCN item vectors (default --dim; smaller: the query vector's prefix of that length searches them)",
      integerOption(1, 4096),
    )
    .option('--json', 'print the result as one JSON object on the last stdout line')
    .action(async (o: Opts) => {
      const { runSearchSageExperiment } = await import('../train/searchsage-experiment.js')
      const out = o.json ? process.stderr : process.stdout
      const result = await runSearchSageExperiment({
        commits: o.commits as string,
        ...trainingValues(o),
        models: o.models as (typeof MODELS)[number][] | undefined,
        frozen: o.frozen as boolean,
        frozenDim: o.frozenDim as number | undefined,
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
    .description(
      'train the unified searchsage model (entity 8 : query 2, or --tasks) on a commit log or on your entities and pairs (JSONL), and write a checkpoint',
    )
    .option('--commits <jsonl>', COMMITS_HELP)
    .option('--entities <jsonl>', 'entities: JSONL (or .jsonl.gz) of {id, type?, fields: {name: text or [texts]}}')
    .option('--pairs <jsonl>', '(query, entity) pairs: JSONL of {query, entity, type?}')
    .option('--query-pairs <jsonl>', '(query, query) pairs: JSONL of {query, other} (query → query task)')
    .option(
      '--fields <list>',
      'with --entities: the entity fields to use, in order (default: all)',
      listOption('field names', (x) => x),
    )
    .option('--query-field <name>', "with --entities: the list field of the entity's earlier queries")
    .option(
      '--tasks <list>',
      'task weights, e.g. pin=8,product=4,query=2 (one task per entity type) or entity=8,query=2 (default: entity=8,query=2 with query pairs, else entity=1)',
      tasksOption,
    )
    .requiredOption('--out <file>', 'checkpoint to write (safetensors)')
    .action(async (o: Opts) => {
      const { trainSearchSage } = await import('../train/searchsage.js')
      const { saveSearchSage } = await import('../search/checkpoint.js')
      const values = trainingValues(o)
      const { data, tasks, trainer } = await trainingData(o)
      // A commit log: passes chosen on later validation commits (searchsage-select.ts); the
      // user's JSONL has no time order: exactly --epochs passes.
      const model = trainer
        ? (await trainer.train('unified', { ...values, tasks })).model
        : trainSearchSage(data, {
            ...values,
            epochs: values.epochs ?? 1,
            recencyHalfLife: values.recencyHalfLife ?? 0,
            tasks,
            onEpoch: (e) =>
              void process.stderr.write(`epoch ${e.epoch}: loss ${e.loss.toFixed(4)} (${e.seconds.toFixed(1)} s)\n`),
          })
      const taskLine = model.entityTasks.map((e) => `${e.name} ${e.weight} (${e.pairs} pairs)`)
      if ((tasks.query ?? 0) > 0) taskLine.push(`query ${tasks.query} (${data.train.query.queries.length} pairs)`)
      process.stderr.write(`tasks: ${taskLine.join(', ')}\n`)
      await saveSearchSage(o.out as string, {
        query: model.query,
        entity: model.entity,
        maxSubjects: model.maxSubjects ?? SEARCHSAGE_DEFAULTS.maxSubjects,
        queryPrefix: model.queryPrefix ?? model.query.outputDim,
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
    .option(
      '--prefix <n>',
      'keep the first n dimensions of each vector, re-normalised; "query": the checkpoint\'s query → query prefix (for an index of queries searched by queries)',
    )
    .action(async (o: Opts) => {
      const { loadSearchSage } = await import('../search/checkpoint.js')
      const { embedToIndex } = await import('../search/embed-jsonl.js')
      const model = await loadSearchSage(o.model as string)
      const n = await embedToIndex(model, o.input as string, o.out as string, o.tower as 'query' | 'entity', {
        prefix: o.prefix as string | undefined,
      })
      process.stdout.write(`${n} items embedded into ${o.out}\n`)
    })
}
