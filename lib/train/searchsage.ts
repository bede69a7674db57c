/**
 * OmniSearchSage training on a {@link SearchData} (a commit log, lib/data/commit-search.ts, or the
 * user's JSONL files, lib/data/search-jsonl.ts): one query tower (query text → vector) trained
 * against entities (the entity tower over the catalog's named text fields; commit logs: a file's
 * path, folder names and earlier subjects) and against other queries (query → query, both sides
 * through the query tower), in multi-task steps where every task draws `batch` pairs and the task
 * weights weigh the tasks' losses (paper: pin 8, product 4, query 2; here entity 8, query 2). Loss: {@link SampledSoftmaxLoss} per task over in-batch and
 * random negatives, logQ from a count-min sketch of entity frequency, false negatives (a candidate
 * that is a known training positive of the query, from a count-min sketch of pairs) masked.
 * Optimisers: lazy Adam over the hash bags' touched rows, Adam over the MLPs and the temperatures;
 * validation and the returned model use a moving average of all the weights (`emaDecay`).
 * Options and result: searchsage-options.ts; tasks: searchsage-tasks.ts; evaluation:
 * searchsage-eval.ts.
 */
import { ErrorCodes, SimsageError } from '../errors.js'
import { entityFieldTexts, entityFieldTextsExcluding, type SearchData } from '../data/search-data.js'
import { WeightAverage } from '../nn/average.js'
import { Adam } from '../nn/optim.js'
import { Random } from '../random.js'
import { CountMinSketch } from '../search/count-min.js'
import { concatGathered, dropTokens, FieldFeatures, type GatheredFields } from '../search/field-features.js'
import { expectedDrawsLogQ, SampledSoftmaxLoss, type SampledSoftmaxStep } from '../search/sampled-softmax.js'
import { TextTower } from '../search/towers.js'
import { LazyAdam } from '../text/sparse-optim.js'
import { Cycle, RecencySampler, recencyWeight } from './pair-order.js'
import { checkFrozen, type FrozenRows, frozenRowsOf } from './searchsage-frozen.js'
import { SEARCHSAGE_DEFAULTS, type SearchSageModel, type SearchSageOptions } from './searchsage-options.js'
import { entityTaskSplit } from './searchsage-tasks.js'

export { type FrozenRows, frozenRowsOf } from './searchsage-frozen.js'
export {
  DEFAULT_DIM,
  type SearchSageModel,
  type SearchSageOptions,
  type SearchSageTowersView,
} from './searchsage-options.js'
export { entityTaskSplit, entityWeight, hasEntityTask, type SearchSageTasks } from './searchsage-tasks.js'

/** A task's loss prefixes: `prefixes` when it uses all `dim`, else those shorter than `m`, then m. */
function prefixLengths(prefixes: number[] | undefined, m: number, dim: number): number[] | undefined {
  return m < dim ? [...(prefixes ?? []).filter((p) => p < m), m] : prefixes
}

/** Steps between two samples of the weights' moving average (one pass over the hash table each). */
const EMA_EVERY = 4

/** Trains the unified (or a single-task) model. */
export function trainSearchSage(data: SearchData, options: SearchSageOptions = {}): SearchSageModel {
  const o = { ...SEARCHSAGE_DEFAULTS, ...options }
  const tasks = options.tasks ?? { entity: 8, query: 2 }
  const catalog = data.entities
  const train = data.train
  // The query → entity tasks: one over every entity, or one per weighted entity type.
  const entityTasks = entityTaskSplit(tasks.entity, catalog, train.entity.entity)
  const wEntity = entityTasks.reduce((a, t) => a + t.weight, 0)
  const wQuery = tasks.query ?? 0
  const wFrozen = tasks.frozen ?? 0
  if (!(wQuery >= 0 && wFrozen >= 0 && wEntity + wQuery + wFrozen > 0)) {
    throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, 'task weights must be >= 0 with at least one > 0')
  }
  for (const [name, v, hi] of [
    ['tokenDropout', o.tokenDropout, 1],
    ['emaDecay', o.emaDecay, 1],
    ['recencyHalfLife', o.recencyHalfLife ?? 0, Number.MAX_VALUE],
  ] as const) {
    if (!(typeof v === 'number' && v >= 0 && v < hi)) {
      throw new SimsageError(
        ErrorCodes.INVALID_ARGUMENT,
        `${name} must be a number in [0, ${hi === 1 ? 1 : 'inf'}), got ${v}`,
      )
    }
  }
  if (!((o.passesPerEpoch ?? 1) > 0 && (o.passesPerEpoch ?? 1) < Number.POSITIVE_INFINITY)) {
    throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `passesPerEpoch must be a number > 0, got ${o.passesPerEpoch}`)
  }
  const queryPrefix = o.queryPrefix ?? (wEntity + wFrozen > 0 ? Math.max(1, Math.floor(o.dim / 4)) : o.dim)
  if (!(Number.isInteger(queryPrefix) && queryPrefix >= 1 && queryPrefix <= o.dim)) {
    throw new SimsageError(
      ErrorCodes.INVALID_ARGUMENT,
      `queryPrefix must be an integer in [1, dim = ${o.dim}], got ${o.queryPrefix}`,
    )
  }
  if (!(Number.isInteger(o.patience ?? 2) && (o.patience ?? 2) >= 1)) {
    throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `patience must be an integer >= 1, got ${o.patience}`)
  }
  const frozenInput = o.frozenInput ?? false
  const frozenRows = wFrozen > 0 || frozenInput ? checkFrozen(options.frozen, catalog.ids.length, o.dim) : undefined
  const fields = options.fields ?? catalog.fields.map((f) => f.name)
  if (fields.length === 0) throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, 'at least one entity field is needed')
  for (const f of fields) {
    if (!catalog.fields.some((c) => c.name === f)) {
      throw new SimsageError(
        ErrorCodes.INVALID_ARGUMENT,
        `no entity field "${f}" (the catalog has ${catalog.fields.map((c) => `"${c.name}"`).join(', ')})`,
      )
    }
  }
  const rng = new Random(o.seed)
  // Every task draws `batch` pairs per step; the task weights weigh the tasks' mean losses.
  const bEntity = entityTasks.length * o.batch
  const bQuery = wQuery > 0 ? o.batch : 0
  const bFrozen = wFrozen > 0 ? o.batch : 0

  const query = new TextTower({
    fields: ['text'],
    bagRows: o.bagRows,
    bagDim: o.bagDim,
    hidden: o.hidden,
    outputDim: o.dim,
    seed: o.seed,
  })
  const shared = o.sharedBag
  const entity = new TextTower(
    {
      fields: [...fields],
      bagRows: o.bagRows,
      bagDim: o.bagDim,
      hidden: o.hidden,
      outputDim: o.dim,
      frozenDim: frozenInput ? (frozenRows as FrozenRows).dim : 0,
      // A shared bag hashes with the query tower's seed (one vocabulary).
      seed: shared ? o.seed : o.seed + 100,
    },
    { bag: shared ? query.bag : undefined },
  )
  const nEntities = catalog.ids.length
  const nQueries = data.queries.ids.length
  const entityText = new FieldFeatures(entity.bag, entityFieldTexts(catalog, fields, o.maxSubjects))
  // Query texts: every distinct query (the query → query catalog) covers every training query.
  const queryText = new FieldFeatures(query.bag, [data.queries.ids])
  const queryOf = (q: string) => data.queries.index.get(q) as number

  // Count-min sketches: candidate frequency per task (logQ; one sketch per task, so that a
  // frequency is a share of that task's own pairs) and known pairs (false-negative masks).
  const entitySketch = new CountMinSketch({ width: o.sketchWidth, depth: o.sketchDepth, seed: o.seed })
  const querySketch = new CountMinSketch({ width: o.sketchWidth, depth: o.sketchDepth, seed: o.seed + 2 })
  const pairSketch = new CountMinSketch({ width: o.sketchWidth, depth: o.sketchDepth, seed: o.seed + 1 })
  const H = o.recencyHalfLife ?? 0
  for (let i = 0; i < train.entity.entity.length; i++) {
    entitySketch.add(`f${train.entity.entity[i]}`, recencyWeight(i, train.entity.entity.length, H))
    pairSketch.addPair(queryOf(train.entity.queries[i]), train.entity.entity[i])
  }
  for (let i = 0; i < train.query.entity.length; i++) {
    querySketch.add(`q${train.query.entity[i]}`, recencyWeight(i, train.query.entity.length, H))
    pairSketch.addPair(queryOf(train.query.queries[i]), -1 - train.query.entity[i])
  }

  const order = (n: number) => (H > 0 ? new RecencySampler(n, H, rng) : new Cycle(n, rng))
  // Per entity task: its pairs' order, its pairs per step, its loss (own temperature) and, for a
  // task over one type, its own frequency sketch (a frequency is a share of that task's pairs).
  const entityRuns = entityTasks.map((t, i) => {
    let sketch = entitySketch
    if (t.type !== undefined) {
      sketch = new CountMinSketch({ width: o.sketchWidth, depth: o.sketchDepth, seed: o.seed + 3 + i })
      t.pairs.forEach((p, k) => {
        sketch.add(`f${train.entity.entity[p]}`, recencyWeight(k, t.pairs.length, H))
      })
    }
    return {
      ...t,
      batch: o.batch,
      loss: new SampledSoftmaxLoss(o.dim, { prefixes: o.prefixes }),
      sketch,
      cycle: order(t.pairs.length),
    }
  })
  // The query → query task: the Matryoshka prefixes shorter than queryPrefix, then queryPrefix.
  const queryLoss = new SampledSoftmaxLoss(o.dim, { prefixes: prefixLengths(o.prefixes, queryPrefix, o.dim) })
  // The frozen task on the frozen vectors' dimension: a prefix of the query vector when shorter.
  const frozenLoss = new SampledSoftmaxLoss(o.dim, {
    prefixes: prefixLengths(o.prefixes, frozenRows?.dim ?? o.dim, o.dim),
  })
  const dense = new Adam(
    [
      ...query.mlp.parameters(),
      ...entity.mlp.parameters(),
      ...entityRuns.flatMap((r) => r.loss.parameters()),
      ...queryLoss.parameters(),
      ...frozenLoss.parameters(),
    ],
    { lr: o.lr },
  )
  const queryBagOpt = new LazyAdam(query.bag, { lr: o.bagLr })
  const entityBagOpt = shared ? queryBagOpt : new LazyAdam(entity.bag, { lr: o.bagLr })

  const queryCycle = bQuery > 0 && train.query.entity.length > 0 ? order(train.query.entity.length) : undefined
  // The frozen task: the training entity pairs whose entity has a frozen vector.
  const frozenPairs = frozenRows
    ? Int32Array.from(train.entity.entity.keys()).filter((i) => frozenRows.has[train.entity.entity[i]])
    : new Int32Array(0)
  const frozenEntities = frozenRows
    ? Int32Array.from(frozenRows.has.keys()).filter((e) => frozenRows.has[e])
    : undefined
  const frozenCycle = bFrozen > 0 && frozenPairs.length > 0 ? order(frozenPairs.length) : undefined
  // An epoch: `passesPerEpoch` passes over the entity tasks' pairs (the main task), else over the
  // largest task's.
  const steps =
    options.stepsPerEpoch ??
    Math.ceil(
      (o.passesPerEpoch ?? 1) *
        (bEntity > 0
          ? entityRuns.reduce((a, r) => a + r.pairs.length, 0) / bEntity
          : Math.max(
              bQuery > 0 ? train.query.entity.length / bQuery : 0,
              bFrozen > 0 ? frozenPairs.length / bFrozen : 0,
            )),
    )
  const R = o.randomNegatives
  const start = performance.now()
  let pairsSeen = 0
  // Early stopping: the best epoch's weights (MLPs, temperatures, bags).
  const weights = [
    ...dense.params.map((p) => p.data),
    ...Object.values(query.bag.tensors()),
    ...(shared ? [] : Object.values(entity.bag.tensors())),
  ]
  let best: { epoch: number; score: number; weights?: Float32Array[] } = { epoch: 0, score: -Infinity }
  // The moving average of the weights: validation, the kept epoch and the returned model use it,
  // when the run's planned steps span at least its horizon 1 / (1 − emaDecay) (a shorter run's
  // average would lean on its first, barely trained steps; issue 10's notes of 2026-12-08).
  const average =
    o.emaDecay > 0 && o.epochs * steps >= 1 / (1 - o.emaDecay)
      ? new WeightAverage(weights, { decay: o.emaDecay, every: EMA_EVERY })
      : undefined
  // Swapped in after each epoch for validation and onEpoch (only when one of them looks).
  const look = average !== undefined && (options.validate !== undefined || options.onEpoch !== undefined)
  let epochsRun = 0
  const patience = o.patience ?? 2
  for (let epoch = 1; epoch <= o.epochs; epoch++) {
    const t0 = performance.now()
    let lossSum = 0
    for (let step = 0; step < steps; step++) {
      // Each entity task's pairs (indices into train.entity), concatenated in task order.
      const drawn = entityRuns.map((r) => Int32Array.from(r.cycle.next(r.batch), (k) => r.pairs[k]))
      const entityPairs = drawn.length === 1 ? drawn[0] : Int32Array.from(drawn.flatMap((d) => Array.from(d)))
      const queryPairs = queryCycle ? queryCycle.next(bQuery) : new Int32Array(0)
      const zPairs = frozenCycle ? frozenCycle.next(bFrozen) : new Int32Array(0)
      const nf = entityPairs.length
      const nq = queryPairs.length
      const nz = zPairs.length
      // The step's loss weighs each task's mean loss (and gradients) by its task weight over the
      // weights of the tasks in the step: the task weights are the weights of the objective (the
      // temperatures are per task: their gradients stay unweighted).
      const stepWeight = entityRuns.reduce((a, r) => a + r.weight, 0) + (nq > 0 ? wQuery : 0) + (nz > 0 ? wFrozen : 0)
      const weighted = (out: SampledSoftmaxStep, taskWeight: number): SampledSoftmaxStep => {
        const w = taskWeight / stepWeight
        if (w !== 1) {
          for (let i = 0; i < out.dq.length; i++) out.dq[i] *= w
          for (let i = 0; i < out.dc.length; i++) out.dc[i] *= w
        }
        return { loss: out.loss * w, dq: out.dq, dc: out.dc }
      }
      const zOff = nf + 2 * nq + (nq > 0 ? Math.min(R, nQueries) : 0)
      const Rq = nq > 0 ? Math.min(R, nQueries) : 0
      // Query tower rows: entity anchors, query anchors, query positives, random queries, frozen anchors.
      const qIds = new Int32Array(zOff + nz)
      for (let i = 0; i < nf; i++) qIds[i] = queryOf(train.entity.queries[entityPairs[i]])
      for (let i = 0; i < nq; i++) {
        qIds[nf + i] = queryOf(train.query.queries[queryPairs[i]])
        qIds[nf + nq + i] = train.query.entity[queryPairs[i]]
      }
      for (let i = 0; i < Rq; i++) qIds[nf + 2 * nq + i] = Math.floor(rng.next() * nQueries)
      for (let i = 0; i < nz; i++) qIds[zOff + i] = queryOf(train.entity.queries[frozenPairs[zPairs[i]]])
      const drop = (g: GatheredFields) => dropTokens(g, o.tokenDropout, () => rng.next())
      const qFeatures = drop(queryText.gather(qIds))
      const qOut = query.forward(qFeatures, qIds.length).slice()
      const dQ = new Float32Array(qOut.length)
      const D = o.dim
      let loss = 0
      if (nf > 0) {
        // The entity tower's rows: every task's positives (in task order), then every task's
        // random negatives (task t's drawn from its own pool: its type's entities, or all).
        const randoms = entityRuns.map((r) => (r.batch > 0 ? Math.min(R, r.pool?.length ?? nEntities) : 0))
        const eIds = new Int32Array(nf + randoms.reduce((a, x) => a + x, 0))
        for (let i = 0; i < nf; i++) eIds[i] = train.entity.entity[entityPairs[i]]
        let at = nf
        entityRuns.forEach((r, t) => {
          for (let i = 0; i < randoms[t]; i++) {
            eIds[at++] = r.pool ? r.pool[Math.floor(rng.next() * r.pool.length)] : Math.floor(rng.next() * nEntities)
          }
        })
        const anchors = Array.from(entityPairs, (p) => train.entity.queries[p])
        const own = new FieldFeatures(
          entity.bag,
          entityFieldTextsExcluding(catalog, fields, o.maxSubjects, eIds.subarray(0, nf), data.queryField, anchors),
        )
        const g = concatGathered(
          own.gather(Int32Array.from({ length: nf }, (_, i) => i)),
          entityText.gather(eIds.subarray(nf)),
        )
        const eOut = entity.forward(
          drop(g),
          eIds.length,
          frozenInput ? frozenRowsOf(frozenRows, eIds, (frozenRows as FrozenRows).dim) : undefined,
        )
        const dE = new Float32Array(eOut.length)
        let anchor = 0
        let random = nf
        entityRuns.forEach((r, t) => {
          const n = drawn[t].length
          const Rt = randoms[t]
          if (n === 0) return
          // Task t's candidates: its positives, then its random negatives.
          const rows = Int32Array.from({ length: n + Rt }, (_, j) => (j < n ? anchor + j : random + j - n))
          const cIds = Int32Array.from(rows, (k) => eIds[k])
          const M = cIds.length
          const c = new Float32Array(M * D)
          rows.forEach((k, j) => {
            c.set(eOut.subarray(k * D, k * D + D), j * D)
          })
          const freq = Float64Array.from(cIds, (e) => r.sketch.frequency(`f${e}`))
          const logQ = expectedDrawsLogQ(freq, n, Rt, r.pool?.length ?? nEntities)
          const mask = new Uint8Array(n * M)
          for (let i = 0; i < n; i++) {
            const q = qIds[anchor + i]
            for (let j = 0; j < M; j++) if (j !== i && pairSketch.estimatePair(q, cIds[j]) > 0) mask[i * M + j] = 1
          }
          const out = weighted(
            r.loss.step(qOut.subarray(anchor * D, (anchor + n) * D), c, n, M, cIds, logQ, mask),
            r.weight,
          )
          loss += out.loss
          dQ.set(out.dq, anchor * D)
          rows.forEach((k, j) => {
            dE.set(out.dc.subarray(j * D, j * D + D), k * D)
          })
          anchor += n
          random += Rt
        })
        entityBagOpt.step(entity.backward(dE))
      }
      if (nq > 0) {
        const cIds = qIds.subarray(nf + nq)
        const M = cIds.length
        const freq = Float64Array.from(cIds, (e) => querySketch.frequency(`q${e}`))
        const logQ = expectedDrawsLogQ(freq, nq, Rq, nQueries)
        const mask = new Uint8Array(nq * M)
        for (let r = 0; r < nq; r++) {
          const q = qIds[nf + r]
          for (let j = 0; j < M; j++) {
            if (j !== r && (cIds[j] === q || pairSketch.estimatePair(q, -1 - cIds[j]) > 0)) {
              mask[r * M + j] = 1
            }
          }
        }
        const out = weighted(
          queryLoss.step(qOut.slice(nf * D, (nf + nq) * D), qOut.slice((nf + nq) * D), nq, M, cIds, logQ, mask),
          wQuery,
        )
        loss += out.loss
        dQ.set(out.dq, nf * D)
        dQ.set(out.dc, (nf + nq) * D)
      }
      if (nz > 0 && frozenRows && frozenEntities) {
        const Rz = Math.min(R, frozenEntities.length)
        const zIds = new Int32Array(nz + Rz)
        for (let i = 0; i < nz; i++) zIds[i] = train.entity.entity[frozenPairs[zPairs[i]]]
        for (let i = 0; i < Rz; i++) zIds[nz + i] = frozenEntities[Math.floor(rng.next() * frozenEntities.length)]
        const M = zIds.length
        const c = frozenRowsOf(frozenRows, zIds, D)
        const freq = Float64Array.from(zIds, (e) => entitySketch.frequency(`f${e}`))
        const logQ = expectedDrawsLogQ(freq, nz, Rz, frozenEntities.length)
        const mask = new Uint8Array(nz * M)
        for (let r = 0; r < nz; r++) {
          const q = qIds[zOff + r]
          for (let j = 0; j < M; j++) if (j !== r && pairSketch.estimatePair(q, zIds[j]) > 0) mask[r * M + j] = 1
        }
        const out = weighted(
          frozenLoss.step(qOut.slice(zOff * D, (zOff + nz) * D), c, nz, M, zIds, logQ, mask),
          wFrozen,
        )
        loss += out.loss
        dQ.set(out.dq, zOff * D)
      }
      // A shared bag's last forward was the entity tower's: run the query forward again for its backward.
      if (shared && nf > 0) query.forward(qFeatures, qIds.length)
      queryBagOpt.step(query.backward(dQ))
      dense.step()
      dense.zeroGrad()
      average?.update()
      lossSum += loss
      pairsSeen += nf + nq + nz
    }
    epochsRun = epoch
    if (look) average?.swap()
    const validation = options.validate?.({
      query,
      entity,
      fields,
      frozen: frozenRows,
      maxSubjects: o.maxSubjects,
      queryPrefix,
    })
    const seconds = (performance.now() - t0) / 1000
    options.onEpoch?.({ epoch, loss: lossSum / steps, seconds, validation, query, entity })
    if (validation !== undefined && validation > best.score) {
      best = { epoch, score: validation, weights: weights.map((w) => w.slice()) }
    }
    if (look) average?.swap()
    if (validation === undefined) continue
    if (epoch - best.epoch >= patience) break
  }
  // Without validation the model is the last step's average.
  if (!best.weights) average?.swap()
  if (best.weights) {
    const kept = best.weights
    weights.forEach((w, i) => {
      w.set(kept[i])
    })
  }
  const trainSeconds = (performance.now() - start) / 1000
  return {
    query,
    entity,
    fields,
    maxSubjects: o.maxSubjects,
    queryPrefix,
    frozen: frozenRows,
    sketchBytes:
      entitySketch.bytes +
      querySketch.bytes +
      pairSketch.bytes +
      entityRuns.reduce((a, r) => a + (r.sketch === entitySketch ? 0 : r.sketch.bytes), 0),
    entityTasks: entityRuns.map((r) => ({ name: r.name, weight: r.weight, pairs: r.pairs.length })),
    trainSeconds,
    pairsPerSecond: pairsSeen / trainSeconds,
    epochs: epochsRun,
    bestEpoch: best.weights ? best.epoch : epochsRun,
    validation: best.weights ? best.score : undefined,
  }
}
