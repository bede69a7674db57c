/**
 * `simsage experiment searchsage`: on one commit log and one budget, the unified multi-task model,
 * one model per task, the unified model without each entity text field (ablations) and the TF-IDF
 * baseline; Recall@10 per task against the whole catalog and against the positive + 1,000 random
 * entities, and how much of the top 10 the 10 most popular files fill.
 */
import { basename } from 'node:path'

import { TfidfIndex, tfidfTerms } from '../baselines/tfidf.js'
import { commitSearchData, FILE_FIELDS } from '../data/commit-search.js'
import { loadCommits, splitCommits } from '../data/commits.js'
import { byPopularity, type PairRecall, pairRecall } from '../eval/pair-recall.js'
import type { SearchData } from '../data/search-data.js'
import { type SearchSageOptions, trainSearchSage } from './searchsage.js'
import { evaluateSearchSage } from './searchsage-eval.js'

/** Models of the experiment. */
export const SEARCHSAGE_MODELS = ['unified', 'file-only', 'query-only', 'ablations', 'tfidf'] as const
export type SearchSageModelName = (typeof SEARCHSAGE_MODELS)[number]

/** Options of {@link runSearchSageExperiment}. */
export interface SearchSageExperimentOptions extends Omit<SearchSageOptions, 'tasks' | 'fields' | 'onEpoch'> {
  commits: string
  models?: readonly SearchSageModelName[]
  /** Progress lines (stderr in the CLI). */
  log?: (line: string) => void
}

/** One row of the table. */
export interface SearchSageRow {
  model: string
  metrics: Record<string, number>
  train_seconds: number
}

/** The experiment's result: the JSON the CLI prints with --json. */
export interface SearchSageResult {
  task: 'searchsage'
  dataset: string
  split: { files: number; trainPairs: number; testPairs: number; unseenTestPairs: number; queryTestPairs: number }
  rows: SearchSageRow[]
}

function metrics(file: PairRecall | undefined, query: PairRecall | undefined): Record<string, number> {
  const m: Record<string, number> = {}
  if (file) {
    m.file_recall10_all = file.recallAll
    m.file_recall10_1k = file.recallSampled
    m.file_popular_top10 = file.popularShare
  }
  if (query) {
    m.query_recall10_all = query.recallAll
    m.query_recall10_1k = query.recallSampled
  }
  return m
}

/** TF-IDF over path tokens + earlier subjects (files) and over subjects (queries). */
function tfidfRow(data: SearchData): SearchSageRow {
  const t0 = performance.now()
  const f = data.entities
  const [path, subjects] = ['path', 'subjects'].map((n) => f.fields.find((x) => x.name === n)?.values ?? [])
  const docs = f.ids.map((_, i) => [...path[i].flatMap(tfidfTerms), ...subjects[i].flatMap(tfidfTerms)])
  const fileIndex = new TfidfIndex(docs)
  const fq = data.test.entity.queries.map(tfidfTerms)
  const file = pairRecall(
    { entities: fileIndex.size, positive: data.test.entity.entity, score: (p, out) => fileIndex.scores(fq[p], out) },
    { popularity: byPopularity(f.popularity) },
  )
  const subjectIndex = new TfidfIndex(data.queries.ids.map(tfidfTerms))
  const qq = data.test.query.queries.map(tfidfTerms)
  const query = pairRecall({
    entities: subjectIndex.size,
    positive: data.test.query.entity,
    score: (p, out) => subjectIndex.scores(qq[p], out),
  })
  return { model: 'tfidf', metrics: metrics(file, query), train_seconds: (performance.now() - t0) / 1000 }
}

/** Runs the experiment (see the file comment). */
export async function runSearchSageExperiment(o: SearchSageExperimentOptions): Promise<SearchSageResult> {
  const log = o.log ?? (() => {})
  const models = new Set(o.models ?? SEARCHSAGE_MODELS)
  const split = splitCommits(await loadCommits(o.commits))
  const data = commitSearchData(split)
  // Validation: the training commits split again the same way (earlier 90% fit, last 9% after a
  // 1% gap validate); it picks the number of epochs, then the model is trained on all the
  // training commits for that many epochs.
  const fit = commitSearchData(splitCommits(split.train))
  const rows: SearchSageRow[] = []
  const train = (
    name: string,
    tasks: { entity?: number; query?: number },
    fields: readonly string[] = FILE_FIELDS,
  ): SearchSageRow => {
    const selected = trainSearchSage(fit, {
      ...o,
      tasks,
      fields,
      validate: (towers) => {
        const r = evaluateSearchSage({ ...towers, fields }, fit, o.maxSubjects)
        return tasks.entity ? r.entity.recallAll : r.query.recallAll
      },
      onEpoch: (e) =>
        log(
          `${name} (validation run): epoch ${e.epoch} loss ${e.loss.toFixed(4)} validation R@10 ${e.validation?.toFixed(4)} (${e.seconds.toFixed(1)} s)`,
        ),
    })
    const model = trainSearchSage(data, {
      ...o,
      tasks,
      fields,
      epochs: selected.bestEpoch,
      onEpoch: (e) =>
        log(`${name}: epoch ${e.epoch}/${selected.bestEpoch} loss ${e.loss.toFixed(4)} (${e.seconds.toFixed(1)} s)`),
    })
    const r = evaluateSearchSage(model, data, o.maxSubjects)
    return {
      model: name,
      metrics: {
        ...metrics(tasks.entity ? r.entity : undefined, tasks.query ? r.query : undefined),
        epochs: selected.bestEpoch,
        validation_recall10: selected.validation ?? 0,
      },
      train_seconds: selected.trainSeconds + model.trainSeconds,
    }
  }
  if (models.has('tfidf')) rows.push(tfidfRow(data))
  if (models.has('unified')) rows.push(train('unified', { entity: 8, query: 2 }))
  if (models.has('file-only')) rows.push(train('file-only', { entity: 1 }))
  if (models.has('query-only')) rows.push(train('query-only', { query: 1 }))
  if (models.has('ablations')) {
    for (const drop of FILE_FIELDS) {
      rows.push(
        train(
          `unified-no-${drop}`,
          { entity: 8, query: 2 },
          FILE_FIELDS.filter((f) => f !== drop),
        ),
      )
    }
  }
  return {
    task: 'searchsage',
    dataset: basename(o.commits),
    split: {
      files: data.entities.ids.length,
      trainPairs: data.train.entity.entity.length,
      testPairs: data.test.entity.entity.length,
      unseenTestPairs: data.unseenTestPairs,
      queryTestPairs: data.test.query.entity.length,
    },
    rows,
  }
}
