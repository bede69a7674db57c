/**
 * The options, defaults and result of OmniSearchSage training ({@link trainSearchSage} in
 * lib/train/searchsage.ts).
 */
import type { TextTower } from '../search/towers.js'
import type { FrozenRows } from './searchsage-frozen.js'
import type { SearchSageTasks } from './searchsage-tasks.js'

/** Options of {@link trainSearchSage}. */
export interface SearchSageOptions {
  /**
   * Task weights; a task with weight 0 or absent is not trained (default { entity: 8, query: 2 }).
   * `entity` is one weight for one query → entity task over every entity, or weights per entity
   * type (`{ pin: 8, product: 4 }`, the paper's mix): one task per type, its pairs those whose
   * entity is of that type, its random negatives and its logQ frequencies of that type only.
   */
  tasks?: SearchSageTasks
  /**
   * Frozen pre-existing entity embeddings for the `frozen` task: [entities, d] rows aligned with
   * data.entities.ids, d <= `dim` (d < dim: the frozen task trains, and its index is searched by,
   * the query vector's first d dimensions, L2-normalised); an all-zero row means none.
   * The query tower learns to retrieve these vectors directly (a fixed entity tower), so an index
   * built from them before training keeps working with the trained query tower.
   */
  frozen?: Float32Array
  /**
   * Join each entity's frozen vector (`frozen`; a zero row for an entity without one) to its text
   * in the entity tower, as the paper's entity tower joins pre-existing embeddings to text features
   * (default false). The entity tower then needs those vectors to embed (model.frozen).
   */
  frozenInput?: boolean
  /** Names of the entity text fields used, in the tower's order (default: all of the catalog's). */
  fields?: readonly string[]
  /** Epochs (default 1: with an epoch of one pass, about where symfony's validation peaks); with `validate`, the most. */
  epochs?: number
  /**
   * Pairs per step of each task (default 256): every task (each entity type's too) draws this many
   * pairs a step, as its single-task model would, and the task weights weigh the tasks' mean
   * losses. (Until this changed, a task drew its weight's share of `batch`: the query → query and
   * frozen tasks, at 2 of 12, saw a sixth of the pairs their single-task models see.)
   */
  batch?: number
  /** Random negatives per task per step (default 256). */
  randomNegatives?: number
  /** Output dimension (default 128). */
  dim?: number
  /** Hash embedding dimension (default 128). */
  bagDim?: number
  /** Hash table rows (default 100,000). */
  bagRows?: number
  hidden?: number[]
  /** Adam learning rate of the MLPs and temperatures (default 2e-3). */
  lr?: number
  /** Lazy Adam learning rate of the hash bags (default 1e-2). */
  bagLr?: number
  /** Most recent texts kept of a list-valued field (commit logs: subjects per file; default 16). */
  maxSubjects?: number
  /** Matryoshka prefixes (default: the whole dimension only). */
  prefixes?: number[]
  /**
   * The query → query task on a prefix: its loss (and its evaluation) uses the first `queryPrefix`
   * dimensions of the query vector, L2-normalised, so query → query search runs on that prefix
   * (`simsage embed --prefix query`) and the other dimensions serve the entity tasks alone
   * (default: dim / 4 when an entity or frozen task trains beside it, else all `dim`). On symfony
   * the query → query task over all dimensions cost the file task 0.02–0.03 Recall@10.
   */
  queryPrefix?: number
  /** Count-min sketch size (default width 2^18, depth 4). */
  sketchWidth?: number
  sketchDepth?: number
  seed?: number
  /**
   * Passes over the entity task's training pairs per epoch (default 1; without the entity task,
   * over the largest task's): below 1, early stopping looks more often.
   */
  passesPerEpoch?: number
  /** Steps per epoch (overrides passesPerEpoch). */
  stepsPerEpoch?: number
  /**
   * Recency weighting: the training pairs (in time order, as a commit log's are) are drawn with
   * weight 2^(−age / (halfLife · pairs)), so the most recent pairs, closest to what comes next,
   * weigh most; the entity-frequency sketch (logQ) counts the same weights. 0: uniform passes.
   */
  recencyHalfLife?: number
  /**
   * One hash bag (one vocabulary) for the query and entity towers (default true): a word of a query
   * and the same word in an entity's text start from the same rows.
   */
  sharedBag?: boolean
  /** Token dropout of the training texts: each token left out with this probability (default 0.2). */
  tokenDropout?: number
  /**
   * Moving average of the weights (lib/nn/average.ts), per-step decay in [0, 1); 0 turns it off
   * (default 0.99: about the last 100 steps, sampled every 4th). Validation, the kept epoch and the
   * returned model use the averaged weights; training goes on from the last step's. A run whose
   * planned steps (epochs x steps per epoch) are fewer than 1 / (1 − emaDecay) keeps the last
   * step's weights. Chosen on symfony's validation commits (issue 10's notes of 2026-12-08).
   */
  emaDecay?: number
  /**
   * Held-out score of the towers, higher is better (e.g. Recall@10 on later pairs), computed after
   * each epoch: training keeps the best epoch's weights and stops after `patience` epochs without
   * a better score.
   */
  validate?: (model: SearchSageTowersView) => number
  /** Epochs without a better validation score before training stops (default 2). */
  patience?: number
  /** Called after each epoch (with the validation score when `validate` is given). */
  onEpoch?: (e: {
    epoch: number
    loss: number
    seconds: number
    validation?: number
    query: TextTower
    entity: TextTower
  }) => void
}

/** What evaluation and validation read of a model. */
export type SearchSageTowersView = Pick<
  SearchSageModel,
  'query' | 'entity' | 'fields' | 'frozen' | 'maxSubjects' | 'queryPrefix'
>

/** A trained model: the two towers and what the evaluation reads. */
export interface SearchSageModel {
  query: TextTower
  entity: TextTower
  /** The entity tower's fields (names in the catalog). */
  fields: readonly string[]
  /** Most recent texts kept of a list-valued entity field in training (what evaluation uses too). */
  maxSubjects?: number
  /** Dimensions of the query vector that query → query search uses (the prefix; default all). */
  queryPrefix?: number
  /** The frozen vectors (the frozen task's fixed tower and/or the entity tower's input), if given. */
  frozen?: FrozenRows
  /** Bytes of the count-min sketches (entity and query frequency, pairs). */
  sketchBytes: number
  /** The query → entity tasks trained: 'entity' (every entity), or one per entity type, with weights. */
  entityTasks: { name: string; weight: number; pairs: number }[]
  trainSeconds: number
  pairsPerSecond: number
  /** Epochs run, and the epoch whose weights were kept (the last one without `validate`). */
  epochs: number
  bestEpoch: number
  /** The kept epoch's validation score (with `validate`). */
  validation?: number
}

/** The query tower's output dimension when none is given. */
export const DEFAULT_DIM = 128

export const SEARCHSAGE_DEFAULTS = {
  epochs: 1,
  batch: 256,
  randomNegatives: 256,
  dim: DEFAULT_DIM,
  bagDim: 128,
  bagRows: 100_000,
  hidden: [256],
  lr: 2e-3,
  bagLr: 1e-2,
  maxSubjects: 16,
  sketchWidth: 1 << 18,
  sketchDepth: 4,
  seed: 1,
  sharedBag: true,
  tokenDropout: 0.2,
  emaDecay: 0.99,
}
