// OmniSearchSage training on a small synthetic commit log (subjects name their component and
// file): a few epochs lower the loss and retrieve files far above chance; bad training options;
// frozen pre-existing vectors of the query's dimension or shorter (searched by the query's prefix).
import t from 'tap'

import { commitSearchData, type Commit, splitCommits } from '../../lib/index.js'
import { prefixRows } from '../../lib/search/prefix.js'
import { TextTower } from '../../lib/search/towers.js'
import { trainSearchSage } from '../../lib/train/searchsage.js'
import { embedQueries, evaluateSearchSage } from '../../lib/train/searchsage-eval.js'
import { ErrorCodes } from '../../lib/errors.js'
import { Random } from '../../lib/random.js'
import { throwsCode } from '../fixtures/assert.js'

const WORDS = ['cache', 'router', 'form', 'console', 'security', 'mailer', 'yaml', 'serializer', 'translation', 'twig']

/** Commits whose subjects name their component and file: a learnable query → file relation. */
function synthetic(n: number, seed = 3): Commit[] {
  const rng = new Random(seed)
  const out: Commit[] = []
  for (let i = 0; i < n; i++) {
    const c = WORDS[Math.floor(rng.next() * WORDS.length)]
    const f = Math.floor(rng.next() * 20)
    const verb = ['fix', 'add', 'remove', 'refactor'][Math.floor(rng.next() * 4)]
    out.push({
      ts: i,
      user: String(Math.floor(i / 3) % 7),
      session: String(Math.floor(i / 3)),
      subject: `[${c}] ${verb} handling in ${c}${f} helper ${i}`,
      items: [`src/${c}/${c[0].toUpperCase()}${c.slice(1)}${f}.php`],
    })
  }
  return out
}

t.test('training lowers the loss and retrieves files far above chance', async (t) => {
  const data = commitSearchData(splitCommits(synthetic(3000)))
  const losses: number[] = []
  const model = trainSearchSage(data, {
    epochs: 4,
    batch: 64,
    randomNegatives: 32,
    dim: 16,
    bagDim: 16,
    bagRows: 5000,
    hidden: [32],
    seed: 2,
    onEpoch: (e) => losses.push(e.loss),
  })
  t.ok(losses[losses.length - 1] < losses[0], `loss falls: ${losses.map((l) => l.toFixed(3))}`)
  const r = evaluateSearchSage(model, data)
  const chance = 10 / data.entities.ids.length
  t.ok(
    r.entity.recallAll > 0.5 && r.entity.recallAll > 5 * chance,
    `file Recall@10 ${r.entity.recallAll} (chance ${chance.toFixed(3)})`,
  )
  t.ok(r.query.pairs > 0 && r.query.recallSampled > 0, `query → query Recall@10 (1k) ${r.query.recallSampled}`)
  t.ok(model.sketchBytes > 0 && model.pairsPerSecond > 0)
  throwsCode(t, () => trainSearchSage(data, { tasks: { entity: 0 } }), ErrorCodes.INVALID_ARGUMENT, 'no task')
  throwsCode(t, () => trainSearchSage(data, { fields: [] }), ErrorCodes.INVALID_ARGUMENT, 'no fields')
})

for (const d of [16, 6]) {
  t.test(
    `frozen ${d}-dim embeddings: an index saved before training is searched by the trained query tower`,
    async (t) => {
      const { EmbeddingIndex } = await import('../../lib/index.js')
      const { mkdirSync } = await import('node:fs')
      const { join } = await import('node:path')
      const data = commitSearchData(splitCommits(synthetic(3000, 5)))
      // The query tower's dimension; vectors of d < D are searched by the query vector's first d dims.
      const D = 16
      const n = data.entities.ids.length
      // Pre-existing embeddings: a random unit vector per file (two files get none).
      const rng = new Random(9)
      const frozen = new Float32Array(n * d)
      for (let e = 2; e < n; e++) {
        let norm = 0
        for (let k = 0; k < d; k++) {
          const v = rng.next() * 2 - 1
          frozen[e * d + k] = v
          norm += v * v
        }
        for (let k = 0; k < d; k++) frozen[e * d + k] /= Math.sqrt(norm)
      }
      const dir = t.testdirName
      mkdirSync(dir, { recursive: true })
      const file = join(dir, 'pre-existing.index')
      const before = new EmbeddingIndex({ dim: d, metric: 'ip' })
      before.add(
        Array.from({ length: n - 2 }, (_, i) => i + 2),
        frozen.subarray(2 * d),
      )
      await before.save(file)
      before.dispose()

      const model = trainSearchSage(data, {
        tasks: { frozen: 1 },
        frozen,
        epochs: 4,
        batch: 64,
        randomNegatives: 32,
        dim: D,
        bagDim: 16,
        bagRows: 5000,
        hidden: [32],
        seed: 4,
      })
      t.equal(model.frozen?.dim, d)
      // The frozen task trains the first d outputs only: the last layer's other rows keep their
      // initial values (the same spec and seed).
      const init = new TextTower({ fields: ['text'], bagRows: 5000, bagDim: 16, hidden: [32], outputDim: D, seed: 4 })
      const [w, w0] = [model.query, init].map((q) => q.mlp.parameters().slice(-2)[0].data)
      const inF = w.length / D
      const same = (a: Float32Array, b: Float32Array) => a.every((x, i) => x === b[i])
      t.ok(same(w.subarray(d * inF), w0.subarray(d * inF)), `weight rows >= ${d} untouched`)
      t.notOk(same(w.subarray(0, d * inF), w0.subarray(0, d * inF)), `weight rows < ${d} trained`)
      const r = evaluateSearchSage(model, data)
      t.ok(r.frozen && r.frozen.recallAll > 0.5, `frozen-task Recall@10 ${r.frozen?.recallAll}`)
      // The saved index, loaded as a service would, answers the trained tower's queries (their prefix).
      const index = await EmbeddingIndex.load(file)
      const test = data.test.entity
      const q = prefixRows(embedQueries(model, test.queries), test.queries.length, D, d)
      const res = await index.search(q, 10)
      let hits = 0
      let asked = 0
      for (let i = 0; i < test.entity.length; i++) {
        if (test.entity[i] < 2) continue
        asked++
        if (Array.from(res.get(i).ids).includes(test.entity[i])) hits++
      }
      index.dispose()
      t.ok(
        hits / asked > 0.5,
        `searching the pre-existing index: ${hits}/${asked} test pairs in the top 10 (chance ${(10 / n).toFixed(3)})`,
      )
      throwsCode(
        t,
        () => trainSearchSage(data, { tasks: { frozen: 1 }, dim: D }),
        ErrorCodes.INVALID_TYPE,
        'no vectors',
      )
      for (const bad of [3, n * (D + 1), 0]) {
        throwsCode(
          t,
          () => trainSearchSage(data, { tasks: { frozen: 1 }, frozen: new Float32Array(bad), dim: D }),
          ErrorCodes.DIM_MISMATCH,
          `${bad} values (not entities x d, 1 <= d <= ${D})`,
        )
      }
      const nan = frozen.slice()
      nan[5] = Number.NaN
      throwsCode(
        t,
        () => trainSearchSage(data, { tasks: { frozen: 1 }, frozen: nan, dim: D }),
        ErrorCodes.NON_FINITE,
        'NaN',
      )
    },
  )
}
