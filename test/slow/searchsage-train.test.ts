// OmniSearchSage training on a small synthetic commit log (subjects name their component and
// file): a few epochs lower the loss and retrieve files far above chance; bad training options.
import t from 'tap'

import { commitSearchData, type Commit, splitCommits } from '../../lib/index.js'
import { evaluateSearchSage, trainSearchSage } from '../../lib/train/searchsage.js'
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
  const chance = 10 / data.files.ids.length
  t.ok(
    r.file.recallAll > 0.5 && r.file.recallAll > 5 * chance,
    `file Recall@10 ${r.file.recallAll} (chance ${chance.toFixed(3)})`,
  )
  t.ok(r.query.pairs > 0 && r.query.recallSampled > 0, `query → query Recall@10 (1k) ${r.query.recallSampled}`)
  t.ok(model.sketchBytes > 0 && model.pairsPerSecond > 0)
  throwsCode(t, () => trainSearchSage(data, { tasks: { file: 0 } }), ErrorCodes.INVALID_ARGUMENT, 'no task')
  throwsCode(t, () => trainSearchSage(data, { fields: [] }), ErrorCodes.INVALID_ARGUMENT, 'no fields')
})
