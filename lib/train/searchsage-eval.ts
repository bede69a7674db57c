/**
 * Evaluation of an OmniSearchSage model on a {@link SearchData}'s test pairs (commit logs: the
 * test commits after the time gap):
 * {@link pairRecall} per task against the whole catalog and against the positive + 1,000 random
 * entities, by inner product of L2-normalised embeddings; the frozen task against the frozen
 * vectors themselves (the index that existed before training); in a catalog with entity types,
 * each type's test pairs against that type's entities.
 */
import { callNative } from '../errors.js'
import { entityFieldTexts, type SearchData, type TaskPairs } from '../data/search-data.js'
import { byPopularity, type PairRecall, pairRecall } from '../eval/pair-recall.js'
import { binding } from '../native/binding.js'
import { FieldFeatures } from '../search/field-features.js'
import { prefixRows } from '../search/prefix.js'
import { normalizeRows, type TextTower } from '../search/towers.js'
import { type FrozenRows, frozenRowsOf, type SearchSageTowersView } from './searchsage.js'

/** Normalised outputs of a tower for items `ids` of `texts`, in chunks (eval: no backward). */
export function embedItems(
  tower: TextTower,
  texts: FieldFeatures,
  ids: ArrayLike<number>,
  chunk = 1024,
  frozen?: FrozenRows,
): Float32Array {
  const D = tower.outputDim
  const Z = tower.spec.frozenDim
  const out = new Float32Array(ids.length * D)
  for (let a = 0; a < ids.length; a += chunk) {
    const part = Int32Array.from({ length: Math.min(chunk, ids.length - a) }, (_, i) => ids[a + i])
    out.set(tower.forward(texts.gather(part), part.length, Z > 0 ? frozenRowsOf(frozen, part, Z) : undefined), a * D)
  }
  return normalizeRows(out, ids.length, D)
}

/** Pair recall of queries (normalised [P, D]) against entities (normalised [N, D]) by inner product. */
export function recallByDot(
  queries: Float32Array,
  entities: Float32Array,
  dim: number,
  positive: Int32Array,
  options: { popularity?: ArrayLike<number>; seed?: number } = {},
): PairRecall {
  const n = entities.length / dim
  const chunk = 256
  let from = -1
  const block = new Float32Array(chunk * n)
  return pairRecall(
    {
      entities: n,
      positive,
      score: (p, out) => {
        if (from < 0 || p < from || p >= from + chunk) {
          from = p - (p % chunk)
          const rows = Math.min(chunk, positive.length - from)
          const x = queries.subarray(from * dim, (from + rows) * dim)
          callNative(() =>
            binding().nnLinearForward({
              x,
              w: entities,
              y: block.subarray(0, rows * n),
              batch: rows,
              inFeatures: dim,
              outFeatures: n,
            }),
          )
        }
        out.set(block.subarray((p - from) * n, (p - from + 1) * n))
      },
    },
    { popularity: options.popularity, seed: options.seed },
  )
}

/** L2-normalised query embeddings of texts (what a service searches an index with). */
export function embedQueries(model: { query: TextTower }, texts: readonly string[]): Float32Array {
  const feats = new FieldFeatures(model.query.bag, [texts])
  return embedItems(
    model.query,
    feats,
    Int32Array.from(texts, (_, i) => i),
  )
}

/**
 * Test metrics of a model: per task, whole catalog and positive + 1,000 random; query → query on
 * the model's `queryPrefix`.
 */
export function evaluateSearchSage(
  model: SearchSageTowersView,
  data: SearchData,
  maxSubjects = model.maxSubjects ?? 16,
) {
  const D = model.query.outputDim
  const testQueries = (t: TaskPairs) => {
    const distinct = [...new Set(t.queries)]
    const at = new Map(distinct.map((q, i) => [q, i]))
    const feats = new FieldFeatures(model.query.bag, [distinct])
    const emb = embedItems(
      model.query,
      feats,
      Int32Array.from(distinct, (_, i) => i),
    )
    const out = new Float32Array(t.queries.length * D)
    t.queries.forEach((q, i) => {
      const r = at.get(q) as number
      out.set(emb.subarray(r * D, r * D + D), i * D)
    })
    return out
  }
  const catalog = data.entities
  const entityFeats = new FieldFeatures(model.entity.bag, entityFieldTexts(catalog, model.fields, maxSubjects))
  const entityEmb = embedItems(
    model.entity,
    entityFeats,
    Int32Array.from(catalog.ids, (_, i) => i),
    1024,
    model.frozen,
  )
  const entity = recallByDot(testQueries(data.test.entity), entityEmb, D, data.test.entity.entity, {
    popularity: byPopularity(catalog.popularity),
  })
  const subjectFeats = new FieldFeatures(model.query.bag, [data.queries.ids])
  const subjectEmb = embedItems(
    model.query,
    subjectFeats,
    Int32Array.from(data.queries.ids, (_, i) => i),
  )
  const P = model.queryPrefix ?? D
  const query = recallByDot(
    prefixRows(testQueries(data.test.query), data.test.query.queries.length, D, P),
    prefixRows(subjectEmb, data.queries.ids.length, D, P),
    P,
    data.test.query.entity,
  )
  // The test entity pairs whose entity is in `members` (a sub-catalog), against those entities'
  // rows of `vectors` ([catalog, D], normalised here).
  const within = (members: Uint8Array, vectors: Float32Array, d: number, popularity?: ArrayLike<number>) => {
    const sub = Int32Array.from(members.keys()).filter((e) => members[e])
    const at = new Int32Array(members.length).fill(-1)
    sub.forEach((e, i) => {
      at[e] = i
    })
    const keep = Int32Array.from(data.test.entity.entity.keys()).filter((i) => members[data.test.entity.entity[i]])
    const pairs: TaskPairs = {
      queries: Array.from(keep, (i) => data.test.entity.queries[i]),
      entity: Int32Array.from(keep, (i) => at[data.test.entity.entity[i]]),
    }
    const emb = new Float32Array(sub.length * d)
    sub.forEach((e, i) => {
      emb.set(vectors.subarray(e * d, e * d + d), i * d)
    })
    const order = popularity ? byPopularity(Float64Array.from(sub, (e) => popularity[e])) : undefined
    const queries = prefixRows(testQueries(pairs), pairs.queries.length, D, d)
    return recallByDot(queries, normalizeRows(emb, sub.length, d), d, pairs.entity, { popularity: order })
  }
  // The frozen task: test pairs whose entity has a frozen vector, against the frozen catalog (by
  // the query vector's prefix of the frozen vectors' dimension).
  const frozen = model.frozen ? within(model.frozen.has, model.frozen.vectors, model.frozen.dim) : undefined
  // Per entity type (a typed catalog): that type's test pairs against that type's entities.
  let types: Record<string, PairRecall> | undefined
  if (catalog.types && data.test.entity.entity.length > 0) {
    const kinds = catalog.types
    types = {}
    for (const type of new Set(kinds)) {
      if (type === '' || !data.test.entity.entity.some((e) => kinds[e] === type)) continue
      types[type] = within(
        Uint8Array.from(kinds, (k) => (k === type ? 1 : 0)),
        entityEmb,
        D,
        catalog.popularity,
      )
    }
  }
  return { entity, query, frozen, types }
}
