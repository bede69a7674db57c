/**
 * OmniSearchSage training and evaluation on a commit log (lib/data/commit-search.ts): one query
 * tower (commit subject → vector) trained against files (the entity tower over path, folder names
 * and earlier subjects) and against other queries of the same session (query → query, both sides
 * through the query tower), in multi-task batches mixed by task weights (paper: pin 8, product 4,
 * query 2; here file 8, query 2). Loss: {@link SampledSoftmaxLoss} per task over in-batch and
 * random negatives, logQ from a count-min sketch of entity frequency, false negatives (a candidate
 * that is a known training positive of the query, from a count-min sketch of pairs) masked.
 * Optimisers: lazy Adam over the hash bags' touched rows, Adam over the MLPs and the temperatures.
 * Evaluation: lib/train/searchsage-eval.ts.
 */
import { ErrorCodes, SimsageError } from '../errors.js'
import type { CommitSearchData } from '../data/commit-search.js'
import { Adam } from '../nn/optim.js'
import { Random } from '../random.js'
import { CountMinSketch } from '../search/count-min.js'
import { concatGathered, FieldFeatures } from '../search/field-features.js'
import { expectedDrawsLogQ, SampledSoftmaxLoss } from '../search/sampled-softmax.js'
import { TextTower } from '../search/towers.js'
import { LazyAdam } from '../text/sparse-optim.js'

/** The entity text fields of a file, by name. */
export const FILE_FIELDS = ['path', 'folders', 'subjects'] as const
export type FileField = (typeof FILE_FIELDS)[number]

/** Options of {@link trainSearchSage}. */
export interface SearchSageOptions {
  /** Task weights; a task with weight 0 or absent is not trained (default { file: 8, query: 2 }). */
  tasks?: { file?: number; query?: number; frozen?: number }
  /**
   * Frozen pre-existing file embeddings for the `frozen` task: [files, dim] rows aligned with
   * data.files.ids (dim = the query tower's output `dim`); a file whose row is all zeros has none.
   * The query tower learns to retrieve these vectors directly (a fixed entity tower), so an index
   * built from them before training keeps working with the trained query tower.
   */
  frozen?: Float32Array
  /** Entity text fields used (default all of FILE_FIELDS). */
  fields?: readonly FileField[]
  epochs?: number
  /** Pairs per step over all tasks (default 256). */
  batch?: number
  /** Random negatives per task per step (default 256). */
  randomNegatives?: number
  /** Output dimension (default 64). */
  dim?: number
  /** Hash embedding dimension (default 64). */
  bagDim?: number
  /** Hash table rows (default 100,000). */
  bagRows?: number
  hidden?: number[]
  /** Adam learning rate of the MLPs and temperatures (default 2e-3). */
  lr?: number
  /** Lazy Adam learning rate of the hash bags (default 1e-2). */
  bagLr?: number
  /** Most recent training subjects kept per file (default 64). */
  maxSubjects?: number
  /** Matryoshka prefixes (default: the whole dimension only). */
  prefixes?: number[]
  /** Count-min sketch size (default width 2^18, depth 4). */
  sketchWidth?: number
  sketchDepth?: number
  seed?: number
  /** Steps per epoch (default: one pass over the largest task's training pairs). */
  stepsPerEpoch?: number
  /** Called after each epoch. */
  onEpoch?: (e: { epoch: number; loss: number; seconds: number }) => void
}

/** A trained model: the two towers and what the evaluation reads. */
export interface SearchSageModel {
  query: TextTower
  entity: TextTower
  fields: readonly FileField[]
  /** The frozen vectors the query tower was trained against, if any. */
  frozen?: FrozenRows
  /** Bytes of the two count-min sketches. */
  sketchBytes: number
  trainSeconds: number
  pairsPerSecond: number
}

const DEFAULTS = {
  epochs: 5,
  batch: 256,
  randomNegatives: 256,
  dim: 64,
  bagDim: 64,
  bagRows: 100_000,
  hidden: [256],
  lr: 2e-3,
  bagLr: 1e-2,
  maxSubjects: 64,
  sketchWidth: 1 << 18,
  sketchDepth: 4,
  seed: 1,
}

/** The file fields' texts, one array per chosen field (subjects: the most recent maxSubjects). */
export function fileFieldTexts(data: CommitSearchData, fields: readonly FileField[], maxSubjects: number): string[][] {
  const f = data.files
  return fields.map((name) => {
    if (name === 'path') return f.path
    if (name === 'folders') return f.folders
    return f.subjects.map((s) => s.slice(-maxSubjects).join(' | '))
  })
}

/**
 * The fields of files `ids` whose `subjects` field leaves out `exclude[i]` (the training pair's own
 * query): a pair must not find its query verbatim in its positive's text, or the towers learn to
 * copy text, which does not carry over to new queries.
 */
function fieldTextsExcluding(
  data: CommitSearchData,
  fields: readonly FileField[],
  maxSubjects: number,
  ids: ArrayLike<number>,
  exclude: readonly string[],
): string[][] {
  const f = data.files
  return fields.map((name) =>
    Array.from(ids, (e, i) => {
      if (name === 'path') return f.path[e]
      if (name === 'folders') return f.folders[e]
      return f.subjects[e]
        .filter((x) => x !== exclude[i])
        .slice(-maxSubjects)
        .join(' | ')
    }),
  )
}

/** Frozen vectors and which files have one. */
export interface FrozenRows {
  vectors: Float32Array
  has: Uint8Array
}

/** Checks frozen vectors ([files, dim], finite; all-zero rows = none). */
function checkFrozen(v: unknown, files: number, dim: number): FrozenRows {
  if (!(v instanceof Float32Array)) {
    throw new SimsageError(ErrorCodes.INVALID_TYPE, 'the frozen task needs options.frozen as a Float32Array')
  }
  if (v.length !== files * dim) {
    throw new SimsageError(
      ErrorCodes.DIM_MISMATCH,
      `frozen must be ${files} files x dim ${dim}, got ${v.length} values`,
    )
  }
  const has = new Uint8Array(files)
  for (let e = 0; e < files; e++) {
    for (let k = 0; k < dim; k++) {
      const x = v[e * dim + k]
      if (!Number.isFinite(x)) throw new SimsageError(ErrorCodes.NON_FINITE, `frozen vector of file ${e} holds ${x}`)
      if (x !== 0) has[e] = 1
    }
  }
  return { vectors: v, has }
}

/** A shuffled cycle over [0, n): next(k) returns k indices, reshuffling at the end of each pass. */
class Cycle {
  #order: Int32Array
  #at = 0
  readonly #rng: Random
  constructor(n: number, rng: Random) {
    this.#order = Int32Array.from({ length: n }, (_, i) => i)
    this.#rng = rng
    this.#shuffle()
  }
  #shuffle() {
    const o = this.#order
    for (let i = o.length - 1; i > 0; i--) {
      const j = Math.floor(this.#rng.next() * (i + 1))
      const t = o[i]
      o[i] = o[j]
      o[j] = t
    }
    this.#at = 0
  }
  next(k: number): Int32Array {
    const out = new Int32Array(k)
    for (let i = 0; i < k; i++) {
      if (this.#at === this.#order.length) this.#shuffle()
      out[i] = this.#order[this.#at++]
    }
    return out
  }
}

/** Trains the unified (or a single-task) model. */
export function trainSearchSage(data: CommitSearchData, options: SearchSageOptions = {}): SearchSageModel {
  const o = { ...DEFAULTS, ...options }
  const tasks = options.tasks ?? { file: 8, query: 2 }
  const wFile = tasks.file ?? 0
  const wQuery = tasks.query ?? 0
  const wFrozen = tasks.frozen ?? 0
  if (!(wFile >= 0 && wQuery >= 0 && wFrozen >= 0 && wFile + wQuery + wFrozen > 0)) {
    throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, 'task weights must be >= 0 with at least one > 0')
  }
  const frozenRows = wFrozen > 0 ? checkFrozen(options.frozen, data.files.ids.length, o.dim) : undefined
  const fields = options.fields ?? FILE_FIELDS
  if (fields.length === 0) throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, 'at least one entity field is needed')
  const rng = new Random(o.seed)
  const wSum = wFile + wQuery + wFrozen
  const share = (w: number) => (w > 0 ? Math.max(1, Math.round((o.batch * w) / wSum)) : 0)
  const bFile = share(wFile)
  const bQuery = share(wQuery)
  const bFrozen = share(wFrozen)

  const query = new TextTower({
    fields: ['text'],
    bagRows: o.bagRows,
    bagDim: o.bagDim,
    hidden: o.hidden,
    outputDim: o.dim,
    seed: o.seed,
  })
  const entity = new TextTower({
    fields: [...fields],
    bagRows: o.bagRows,
    bagDim: o.bagDim,
    hidden: o.hidden,
    outputDim: o.dim,
    seed: o.seed + 100,
  })
  const files = data.files
  const nFiles = files.ids.length
  const nSubjects = data.subjects.ids.length
  const fileText = new FieldFeatures(entity.bag, fileFieldTexts(data, fields, o.maxSubjects))
  // Query texts: every distinct subject (the query → query catalog) covers every training query.
  const subjectText = new FieldFeatures(query.bag, [data.subjects.ids])
  const subjectOf = (q: string) => data.subjects.index.get(q) as number

  // Count-min sketches: entity frequency (logQ) and known pairs (false-negative masks).
  const entitySketch = new CountMinSketch({ width: o.sketchWidth, depth: o.sketchDepth, seed: o.seed })
  const pairSketch = new CountMinSketch({ width: o.sketchWidth, depth: o.sketchDepth, seed: o.seed + 1 })
  const train = data.train
  for (let i = 0; i < train.file.entity.length; i++) {
    entitySketch.add(`f${train.file.entity[i]}`)
    pairSketch.addPair(subjectOf(train.file.queries[i]), train.file.entity[i])
  }
  for (let i = 0; i < train.query.entity.length; i++) {
    entitySketch.add(`q${train.query.entity[i]}`)
    pairSketch.addPair(subjectOf(train.query.queries[i]), -1 - train.query.entity[i])
  }

  const fileLoss = new SampledSoftmaxLoss(o.dim, { prefixes: o.prefixes })
  const queryLoss = new SampledSoftmaxLoss(o.dim, { prefixes: o.prefixes })
  const frozenLoss = new SampledSoftmaxLoss(o.dim, { prefixes: o.prefixes })
  const dense = new Adam(
    [
      ...query.mlp.parameters(),
      ...entity.mlp.parameters(),
      ...fileLoss.parameters(),
      ...queryLoss.parameters(),
      ...frozenLoss.parameters(),
    ],
    { lr: o.lr },
  )
  const queryBagOpt = new LazyAdam(query.bag, { lr: o.bagLr })
  const entityBagOpt = new LazyAdam(entity.bag, { lr: o.bagLr })

  const fileCycle = bFile > 0 ? new Cycle(train.file.entity.length, rng) : undefined
  const queryCycle = bQuery > 0 && train.query.entity.length > 0 ? new Cycle(train.query.entity.length, rng) : undefined
  // The frozen task: the training file pairs whose file has a frozen vector.
  const frozenPairs = frozenRows
    ? Int32Array.from(train.file.entity.keys()).filter((i) => frozenRows.has[train.file.entity[i]])
    : new Int32Array(0)
  const frozenFiles = frozenRows ? Int32Array.from(frozenRows.has.keys()).filter((e) => frozenRows.has[e]) : undefined
  const frozenCycle = bFrozen > 0 && frozenPairs.length > 0 ? new Cycle(frozenPairs.length, rng) : undefined
  const steps =
    options.stepsPerEpoch ??
    Math.ceil(
      Math.max(
        bFile > 0 ? train.file.entity.length / bFile : 0,
        bQuery > 0 ? train.query.entity.length / bQuery : 0,
        bFrozen > 0 ? frozenPairs.length / bFrozen : 0,
      ),
    )
  const R = o.randomNegatives
  const start = performance.now()
  let pairsSeen = 0
  for (let epoch = 1; epoch <= o.epochs; epoch++) {
    const t0 = performance.now()
    let lossSum = 0
    for (let step = 0; step < steps; step++) {
      const filePairs = fileCycle ? fileCycle.next(bFile) : new Int32Array(0)
      const queryPairs = queryCycle ? queryCycle.next(bQuery) : new Int32Array(0)
      const zPairs = frozenCycle ? frozenCycle.next(bFrozen) : new Int32Array(0)
      const nf = filePairs.length
      const nq = queryPairs.length
      const nz = zPairs.length
      const zOff = nf + 2 * nq + (nq > 0 ? Math.min(R, nSubjects) : 0)
      const Rf = nf > 0 ? Math.min(R, nFiles) : 0
      const Rq = nq > 0 ? Math.min(R, nSubjects) : 0
      // Query tower rows: file anchors, query anchors, query positives, random queries, frozen anchors.
      const qIds = new Int32Array(zOff + nz)
      for (let i = 0; i < nf; i++) qIds[i] = subjectOf(train.file.queries[filePairs[i]])
      for (let i = 0; i < nq; i++) {
        qIds[nf + i] = subjectOf(train.query.queries[queryPairs[i]])
        qIds[nf + nq + i] = train.query.entity[queryPairs[i]]
      }
      for (let i = 0; i < Rq; i++) qIds[nf + 2 * nq + i] = Math.floor(rng.next() * nSubjects)
      for (let i = 0; i < nz; i++) qIds[zOff + i] = subjectOf(train.file.queries[frozenPairs[zPairs[i]]])
      const qOut = query.forward(subjectText.gather(qIds), qIds.length).slice()
      const dQ = new Float32Array(qOut.length)
      const D = o.dim
      let loss = 0
      if (nf > 0) {
        const eIds = new Int32Array(nf + Rf)
        for (let i = 0; i < nf; i++) eIds[i] = train.file.entity[filePairs[i]]
        for (let i = 0; i < Rf; i++) eIds[nf + i] = Math.floor(rng.next() * nFiles)
        const anchors = Array.from(filePairs, (p) => train.file.queries[p])
        const own = new FieldFeatures(
          entity.bag,
          fieldTextsExcluding(data, fields, o.maxSubjects, eIds.subarray(0, nf), anchors),
        )
        const g = concatGathered(
          own.gather(Int32Array.from({ length: nf }, (_, i) => i)),
          fileText.gather(eIds.subarray(nf)),
        )
        const eOut = entity.forward(g, eIds.length)
        const M = eIds.length
        const freq = Float64Array.from(eIds, (e) => entitySketch.frequency(`f${e}`))
        const logQ = expectedDrawsLogQ(freq, nf, Rf, nFiles)
        const mask = new Uint8Array(nf * M)
        for (let r = 0; r < nf; r++) {
          const q = qIds[r]
          for (let j = 0; j < M; j++) if (j !== r && pairSketch.estimatePair(q, eIds[j]) > 0) mask[r * M + j] = 1
        }
        const out = fileLoss.step(qOut.subarray(0, nf * D), eOut, nf, M, eIds, logQ, mask)
        loss += out.loss
        dQ.set(out.dq, 0)
        entityBagOpt.step(entity.backward(out.dc))
      }
      if (nq > 0) {
        const cIds = qIds.subarray(nf + nq)
        const M = cIds.length
        const freq = Float64Array.from(cIds, (e) => entitySketch.frequency(`q${e}`))
        const logQ = expectedDrawsLogQ(freq, nq, Rq, nSubjects)
        const mask = new Uint8Array(nq * M)
        for (let r = 0; r < nq; r++) {
          const q = qIds[nf + r]
          for (let j = 0; j < M; j++) {
            if (j !== r && (cIds[j] === q || pairSketch.estimatePair(q, -1 - cIds[j]) > 0)) {
              mask[r * M + j] = 1
            }
          }
        }
        const out = queryLoss.step(
          qOut.slice(nf * D, (nf + nq) * D),
          qOut.slice((nf + nq) * D),
          nq,
          M,
          cIds,
          logQ,
          mask,
        )
        loss += out.loss
        dQ.set(out.dq, nf * D)
        dQ.set(out.dc, (nf + nq) * D)
      }
      if (nz > 0 && frozenRows && frozenFiles) {
        const Rz = Math.min(R, frozenFiles.length)
        const zIds = new Int32Array(nz + Rz)
        for (let i = 0; i < nz; i++) zIds[i] = train.file.entity[frozenPairs[zPairs[i]]]
        for (let i = 0; i < Rz; i++) zIds[nz + i] = frozenFiles[Math.floor(rng.next() * frozenFiles.length)]
        const M = zIds.length
        const c = new Float32Array(M * D)
        zIds.forEach((e, j) => {
          c.set(frozenRows.vectors.subarray(e * D, e * D + D), j * D)
        })
        const freq = Float64Array.from(zIds, (e) => entitySketch.frequency(`f${e}`))
        const logQ = expectedDrawsLogQ(freq, nz, Rz, frozenFiles.length)
        const mask = new Uint8Array(nz * M)
        for (let r = 0; r < nz; r++) {
          const q = qIds[zOff + r]
          for (let j = 0; j < M; j++) if (j !== r && pairSketch.estimatePair(q, zIds[j]) > 0) mask[r * M + j] = 1
        }
        const out = frozenLoss.step(qOut.slice(zOff * D, (zOff + nz) * D), c, nz, M, zIds, logQ, mask)
        loss += out.loss
        dQ.set(out.dq, zOff * D)
      }
      queryBagOpt.step(query.backward(dQ))
      dense.step()
      dense.zeroGrad()
      lossSum += loss
      pairsSeen += nf + nq + nz
    }
    options.onEpoch?.({ epoch, loss: lossSum / steps, seconds: (performance.now() - t0) / 1000 })
  }
  const trainSeconds = (performance.now() - start) / 1000
  return {
    query,
    entity,
    fields,
    frozen: frozenRows,
    sketchBytes: entitySketch.bytes + pairSketch.bytes,
    trainSeconds,
    pairsPerSecond: pairsSeen / trainSeconds,
  }
}
