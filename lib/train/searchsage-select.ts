/**
 * Training on a commit log with the number of epochs chosen on later, held-out commits (the
 * experiment and `train searchsage --commits`): the training commits are split again the way the
 * log was (the earlier 90% fit, the last 9% after a 1% gap validate); a run on the fit part keeps
 * the epoch with the best validation score — the trained tasks' validation Recall@10 weighted by
 * the task weights — and stops `patience` epochs after it; the model is then trained on all the
 * training commits for that many epochs. Nothing of the test commits is seen by either run.
 *
 * The frozen task's vectors (HierTCN item embeddings, lib/train/searchsage-hiertcn.ts) are trained
 * on each run's own commits: the fit run's on the fit commits only.
 */
import { ErrorCodes, SimsageError } from '../errors.js'
import { commitSearchData } from '../data/commit-search.js'
import { type Commit, type CommitSplit, splitCommits } from '../data/commits.js'
import type { SearchData } from '../data/search-data.js'
import {
  DEFAULT_DIM,
  entityWeight,
  type SearchSageModel,
  type SearchSageOptions,
  type SearchSageTasks,
  trainSearchSage,
} from './searchsage.js'
import { evaluateSearchSage } from './searchsage-eval.js'
import { hierTCNEntityVectors } from './searchsage-hiertcn.js'

/**
 * Options of {@link CommitTrainer.train}: the trainer's, less what the selection sets; `epochs` is
 * the most passes over the entity pairs (default 3), `recencyHalfLife` defaults to 0.25 and
 * `maxSubjects` to 4.
 */
export type SelectedOptions = Omit<
  SearchSageOptions,
  'validate' | 'frozen' | 'onEpoch' | 'passesPerEpoch' | 'stepsPerEpoch'
> & {
  /**
   * Dimension of the HierTCN item vectors of the frozen task (default `dim`, the whole query
   * vector; smaller: the frozen task trains, and searches with, the query vector's prefix of that
   * length).
   */
  frozenDim?: number
}

/**
 * The frozen task's vector dimension on a commit log when none is given: the whole query vector
 * (on symfony's validation commits, 128-dim HierTCN vectors gave the unified model file Recall@10
 * 0.4504 against 0.4419 with 32-dim ones searched by the prefix).
 */
export const defaultFrozenDim = (dim: number): number => dim

/** A commit log's pairs are in time order: recency weighting by default (half-life 1/4 of the pairs). */
export const COMMIT_RECENCY_HALF_LIFE = 0.25
/**
 * Earlier subjects kept per file on a commit log when none is given: 4 (chosen on symfony's
 * validation commits, where 16 let the entity tower overfit the subjects earlier: lower file
 * Recall@10 for the file-only and the unified model alike).
 */
export const COMMIT_MAX_SUBJECTS = 4
const QUARTER = 0.25

/**
 * The score the epochs are chosen by: the trained tasks' Recall@10 against the whole catalog,
 * weighted by the task weights (one score for one model, so a task that peaks later than the
 * others still counts; a single-task model's is its task's Recall@10).
 */
export function validationScore(
  tasks: SearchSageTasks,
  r: { entity: { recallAll: number }; query: { recallAll: number }; frozen?: { recallAll: number } },
): number {
  const wEntity = entityWeight(tasks)
  const wQuery = tasks.query ?? 0
  const wFrozen = tasks.frozen ?? 0
  const sum = wEntity + wQuery + wFrozen
  return (wEntity * r.entity.recallAll + wQuery * r.query.recallAll + wFrozen * (r.frozen?.recallAll ?? 0)) / sum
}

/** A model trained for the selected number of epochs, and the selection. */
export interface SelectedModel {
  model: SearchSageModel
  /** Passes over the entity pairs chosen on the validation commits, and their validation score ({@link validationScore}). */
  passes: number
  validation: number
  /** Seconds of both runs (selection + final), HierTCN not included. */
  trainSeconds: number
}

/** Trains models on one commit split's training commits with validation-chosen epochs. */
export class CommitTrainer {
  /** The training data of all training commits (the caller's evaluation data set). */
  readonly data: SearchData
  readonly #fitCommits: readonly Commit[]
  readonly #trainCommits: readonly Commit[]
  readonly #fit: SearchData
  readonly #log: (line: string) => void
  #frozen: Promise<{ fit: Float32Array; all: Float32Array; seconds: number }> | undefined
  #frozenDim = 0

  constructor(split: CommitSplit, log: (line: string) => void = () => {}) {
    this.data = commitSearchData(split)
    const inner = splitCommits(split.train)
    this.#fitCommits = inner.train
    this.#trainCommits = split.train
    this.#fit = commitSearchData(inner)
    this.#log = log
  }

  /** HierTCN vectors of the fit and of all training commits (computed once per dimension). */
  frozenVectors(dim: number, seed = 1): Promise<{ fit: Float32Array; all: Float32Array; seconds: number }> {
    if (!this.#frozen || this.#frozenDim !== dim) {
      this.#frozenDim = dim
      this.#frozen = (async () => {
        const opts = { dim, seed, log: (l: string) => this.#log(`hiertcn: ${l}`) }
        const fit = await hierTCNEntityVectors(this.#fitCommits, this.#fit.entities, opts)
        const all = await hierTCNEntityVectors(this.#trainCommits, this.data.entities, opts)
        this.#log(
          `hiertcn item vectors: ${fit.covered} / ${all.covered} files covered (fit / all), ${(fit.seconds + all.seconds).toFixed(1)} s`,
        )
        return { fit: fit.vectors, all: all.vectors, seconds: fit.seconds + all.seconds }
      })()
    }
    return this.#frozen
  }

  /** Selects the epochs on the validation commits, then trains on all training commits. */
  async train(name: string, o: SelectedOptions): Promise<SelectedModel> {
    const tasks = o.tasks ?? { entity: 8, query: 2 }
    const needFrozen = (tasks.frozen ?? 0) > 0 || o.frozenInput === true
    const dim = o.dim ?? DEFAULT_DIM
    if (o.frozenDim !== undefined && !(Number.isInteger(o.frozenDim) && o.frozenDim >= 1 && o.frozenDim <= dim)) {
      throw new SimsageError(
        ErrorCodes.INVALID_ARGUMENT,
        `frozenDim must be an integer in [1, dim = ${dim}], got ${o.frozenDim}`,
      )
    }
    const frozen = needFrozen ? await this.frozenVectors(o.frozenDim ?? defaultFrozenDim(dim), o.seed) : undefined
    const fitData = this.#fit
    // Epochs of a quarter pass: early stopping looks four times per pass over the entity pairs.
    const { frozenDim: _frozenDim, ...rest } = o
    const base = {
      ...rest,
      recencyHalfLife: o.recencyHalfLife ?? COMMIT_RECENCY_HALF_LIFE,
      maxSubjects: o.maxSubjects ?? COMMIT_MAX_SUBJECTS,
      passesPerEpoch: QUARTER,
    }
    const selected = trainSearchSage(fitData, {
      ...base,
      epochs: Math.max(1, Math.round((o.epochs ?? 3) / QUARTER)),
      frozen: frozen?.fit,
      validate: (model) => validationScore(tasks, evaluateSearchSage(model, fitData, base.maxSubjects)),
      onEpoch: (e) =>
        this.#log(
          `${name} (validation run): quarter pass ${e.epoch} loss ${e.loss.toFixed(4)}, validation score ${e.validation?.toFixed(4)} (${e.seconds.toFixed(1)} s)`,
        ),
    })
    const model = trainSearchSage(this.data, {
      ...base,
      frozen: frozen?.all,
      epochs: selected.bestEpoch,
      onEpoch: (e) =>
        this.#log(
          `${name}: quarter pass ${e.epoch}/${selected.bestEpoch} loss ${e.loss.toFixed(4)} (${e.seconds.toFixed(1)} s)`,
        ),
    })
    return {
      model,
      passes: selected.bestEpoch * QUARTER,
      validation: selected.validation ?? 0,
      trainSeconds: selected.trainSeconds + model.trainSeconds,
    }
  }
}
