// Property test: EmbeddingIndex against a plain reference model (a Map id -> vector) under random
// sequences of add / addAsync / remove / has / search / searchSync / save + load, with random ids
// (repeats, replaces, unknown ids), filters (allow, deny, per-query exclude) and k (above the size
// too). Vectors hold small integers, so ip and l2 scores are exact in float32 and the result must
// equal the reference's top-k exactly, ties toward the smaller id; cosine is compared with the
// tolerance of test/fixtures/reference.ts. One fixed seed and one random seed per run; a failure
// names the seed, the step and the operations so far (replay: SIMSAGE_MODEL_SEED=<seed>).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import t from 'tap'

import { EmbeddingIndex, type Metric, type SearchOptions, type SearchResults } from '../lib/index.js'
import { mulberry32, randomInt, type Rng } from './fixtures/random.js'
import { check, reference } from './fixtures/reference.js'

const dir = mkdtempSync(join(tmpdir(), 'simsage-model-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))

const SEQUENCES = 24
const STEPS = 40
const ID_SPACE = 40

function vec(rng: Rng, dim: number): number[] {
  return Array.from({ length: dim }, () => randomInt(rng, 7) - 3)
}

function someIds(rng: Rng, max: number): number[] {
  return Array.from({ length: randomInt(rng, max + 1) }, () => randomInt(rng, ID_SPACE + 5))
}

/** The exact expected result of one query (ip, l2): scores in double, ties toward the smaller id. */
function expected(model: Map<number, number[]>, q: number[], metric: Metric, k: number, ok: (id: number) => boolean) {
  const rows: { id: number; s: number }[] = []
  for (const [id, x] of model) {
    if (!ok(id)) continue
    let s = 0
    for (let d = 0; d < q.length; d++) s += metric === 'ip' ? q[d] * x[d] : (q[d] - x[d]) ** 2
    rows.push({ id, s })
  }
  rows.sort((a, b) => (metric === 'ip' ? b.s - a.s : a.s - b.s) || a.id - b.id)
  return rows.slice(0, k)
}

function compare(
  res: SearchResults,
  model: Map<number, number[]>,
  queries: number[][],
  metric: Metric,
  k: number,
  opts: SearchOptions,
): string[] {
  const allow = opts.allow ? new Set(Array.from(opts.allow as number[])) : undefined
  const deny = new Set(Array.from((opts.deny as number[]) ?? []))
  const eligible = (qi: number, id: number) =>
    (!allow || allow.has(id)) && !deny.has(id) && !((opts.exclude?.[qi] as number[]) ?? []).includes(id)
  if (metric === 'cosine') {
    const ids = [...model.keys()]
    const corpus = new Float32Array(ids.flatMap((id) => model.get(id) as number[]))
    const ref = reference(new Float32Array(queries.flat()), corpus, queries[0].length, metric)
    return check(res, ref, { k, ids, eligible })
  }
  const problems: string[] = []
  // Rows hold min(k, size) slots (README: a huge k allocates nothing extra).
  const slots = Math.min(k, model.size)
  if (res.k !== slots) problems.push(`results.k ${res.k}, expected min(k, size) = ${slots}`)
  queries.forEach((q, qi) => {
    const want = expected(model, q, metric, k, (id) => eligible(qi, id))
    if (res.counts[qi] !== want.length) problems.push(`q${qi}: count ${res.counts[qi]}, expected ${want.length}`)
    for (let j = 0; j < slots; j++) {
      const id = res.ids[qi * slots + j]
      const s = res.scores[qi * slots + j]
      const w = want[j]
      if (w ? id !== w.id || s !== w.s : id !== -1 || !Number.isNaN(s))
        problems.push(`q${qi} rank ${j}: got (${id}, ${s}), expected ${w ? `(${w.id}, ${w.s})` : 'padding'}`)
    }
  })
  return problems
}

async function sequence(seed: number): Promise<string[]> {
  const rng = mulberry32(seed)
  const metric = (['ip', 'cosine', 'l2'] as const)[randomInt(rng, 3)]
  const dim = [1, 3, 8, 17][randomInt(rng, 4)]
  let index = new EmbeddingIndex({ dim, metric })
  const model = new Map<number, number[]>()
  const log: string[] = [`seed ${seed}: ${metric} dim ${dim}`]
  try {
    for (let step = 0; step < STEPS; step++) {
      const op = randomInt(rng, 10)
      if (op <= 2) {
        const ids = someIds(rng, 8)
        const rows = ids.map(() => vec(rng, dim))
        const v = new Float32Array(rows.flat())
        log.push(`${op === 0 ? 'addAsync' : 'add'} [${ids}]`)
        if (op === 0) await index.addAsync(ids, v)
        else index.add(ids, v)
        for (const [i, id] of ids.entries()) model.set(id, rows[i])
      } else if (op === 3) {
        const ids = someIds(rng, 6)
        log.push(`remove [${ids}]`)
        const want = new Set(ids.filter((id) => model.has(id))).size
        for (const id of ids) model.delete(id)
        const got = index.remove(ids)
        if (got !== want) return [...log, `remove returned ${got}, expected ${want}`]
      } else if (op === 4) {
        const file = join(dir, `m-${seed}.ssg`)
        log.push('save + load')
        await index.save(file)
        const loaded = await EmbeddingIndex.load(file)
        index.dispose()
        index = loaded
      } else {
        const nq = 1 + randomInt(rng, 3)
        const queries = Array.from({ length: nq }, () => vec(rng, dim))
        const k = 1 + randomInt(rng, model.size + 4)
        const opts: SearchOptions = {}
        if (randomInt(rng, 3) === 0) opts.allow = someIds(rng, 10)
        if (randomInt(rng, 3) === 0) opts.deny = someIds(rng, 5)
        if (randomInt(rng, 3) === 0) opts.exclude = queries.map(() => someIds(rng, 4))
        const sync = op >= 8
        log.push(`${sync ? 'searchSync' : 'search'} k ${k} ${JSON.stringify(opts)} q ${JSON.stringify(queries)}`)
        const q = new Float32Array(queries.flat())
        const res = sync ? index.searchSync(q, k, opts) : await index.search(q, k, opts)
        const problems = compare(res, model, queries, metric, k, opts)
        if (problems.length) return [...log, ...problems]
      }
      if (index.size !== model.size) return [...log, `size ${index.size}, expected ${model.size}`]
      const probe = randomInt(rng, ID_SPACE)
      if (index.has(probe) !== model.has(probe)) return [...log, `has(${probe}) is ${index.has(probe)}`]
    }
  } finally {
    index.dispose()
  }
  return []
}

const fixed = 0x5eed
const random = Number(process.env.SIMSAGE_MODEL_SEED ?? Math.floor(Math.random() * 2 ** 31))
for (const [name, base] of [
  ['fixed seed', fixed],
  ['random seed', random],
] as const) {
  t.test(`EmbeddingIndex equals the reference model (${name} ${base})`, async (t) => {
    for (let s = 0; s < SEQUENCES; s++) {
      const problems = await sequence(base + s)
      t.same(problems, [], `sequence seed ${base + s} (replay: SIMSAGE_MODEL_SEED=${base + s})`)
      if (problems.length) break
    }
  })
}
