/**
 * `simsage experiment searchsage`: on one commit log and one budget, the unified multi-task model,
 * one model per task, the unified model without each entity text field (ablations) and the TF-IDF
 * baseline; Recall@10 per task against the whole catalog and against the positive + 1,000 random
 * entities, and how much of the top 10 the 10 most popular files fill.
 */
import { basename } from 'node:path'

import { TfidfIndex, tfidfTerms } from '../baselines/tfidf.js'
import { FILE_FIELDS } from '../data/commit-search.js'
import { loadCommits, splitCommits } from '../data/commits.js'
import { byPopularity, type PairRecall, pairRecall } from '../eval/pair-recall.js'
import type { SearchData } from '../data/search-data.js'
import { DEFAULT_DIM } from './searchsage.js'
import { evaluateSearchSage } from './searchsage-eval.js'
import { CommitTrainer, defaultFrozenDim, type SelectedOptions } from './searchsage-select.js'

type Tasks = { entity?: number; query?: number; frozen?: number }

/** Models of the experiment. */
export const SEARCHSAGE_MODELS = ['unified', 'file-only', 'query-only', 'frozen-only', 'ablations', 'tfidf'] as const
export type SearchSageModelName = (typeof SEARCHSAGE_MODELS)[number]

/** Options of {@link runSearchSageExperiment}. */
export interface SearchSageExperimentOptions extends Omit<SelectedOptions, 'tasks' | 'fields'> {
  commits: string
  /**
   * The frozen task (HierTCN item vectors trained on the training commits' sessions, ~2 minutes
   * on symfony): in the unified model and the frozen-only row (default true).
   */
  frozen?: boolean
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
  /** Seconds spent training the HierTCN item vectors of the frozen task (fit + all; 0 without it). */
  hiertcn_seconds: number
  /** Dimension of the frozen task's HierTCN vectors (0 without the frozen task). */
  frozen_dim: number
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
  const { commits: _path, models: _models, log: _log, ...training } = o
  const trainer = new CommitTrainer(splitCommits(await loadCommits(o.commits)), log)
  const data = trainer.data
  const rows: SearchSageRow[] = []
  let hierTcnSeconds = 0
  let frozenDim = 0
  const train = async (name: string, tasks: Tasks, fields: readonly string[] = FILE_FIELDS): Promise<SearchSageRow> => {
    if (tasks.frozen) {
      frozenDim = o.frozenDim ?? defaultFrozenDim(o.dim ?? DEFAULT_DIM)
      hierTcnSeconds = (await trainer.frozenVectors(frozenDim, o.seed)).seconds
    }
    const s = await trainer.train(name, { ...training, tasks, fields })
    const r = evaluateSearchSage(s.model, data, o.maxSubjects)
    const row = {
      model: name,
      metrics: {
        ...metrics(tasks.entity ? r.entity : undefined, tasks.query ? r.query : undefined),
        ...(tasks.frozen && r.frozen
          ? { frozen_recall10_all: r.frozen.recallAll, frozen_recall10_1k: r.frozen.recallSampled }
          : {}),
        passes: s.passes,
        validation_score: s.validation,
      },
      train_seconds: s.trainSeconds,
    }
    log(`${name}: ${JSON.stringify(row.metrics)}`)
    return row
  }
  // Task weights: file 8 : query 2 as the paper's pin 8 : query 2; frozen 8, chosen on symfony's
  // validation commits (issue 10's notes of 2026-12-08 have the probes).
  const unified: Tasks = o.frozen === false ? { entity: 8, query: 2 } : { entity: 8, query: 2, frozen: 8 }
  if (models.has('tfidf')) rows.push(tfidfRow(data))
  if (models.has('unified')) rows.push(await train('unified', unified))
  if (models.has('file-only')) rows.push(await train('file-only', { entity: 1 }))
  if (models.has('query-only')) rows.push(await train('query-only', { query: 1 }))
  if (models.has('frozen-only') && o.frozen !== false) rows.push(await train('frozen-only', { frozen: 1 }))
  if (models.has('ablations')) {
    for (const drop of FILE_FIELDS) {
      rows.push(
        await train(
          `unified-no-${drop}`,
          unified,
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
    hiertcn_seconds: hierTcnSeconds,
    frozen_dim: frozenDim,
    rows,
  }
}
