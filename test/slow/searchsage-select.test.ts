// Commit-log training with validation-chosen passes (lib/train/searchsage-select.ts) and the
// frozen task's HierTCN item vectors (lib/train/searchsage-hiertcn.ts): the interaction CSV a
// commit log becomes, vectors aligned with the catalog, and the two-run selection.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

import t from 'tap'

import { commitSearchData, type Commit, splitCommits } from '../../lib/index.js'
import { splitCsvRow } from '../../lib/data/csv.js'
import { itemCounts, loadInteractions } from '../../lib/data/sessions.js'
import { splitUsers } from '../../lib/data/split-users.js'
import { HIERTCN_DEFAULTS } from '../../lib/train/hiertcn.js'
import { Random } from '../../lib/random.js'
import { evaluateSearchSage } from '../../lib/train/searchsage-eval.js'
import { commitInteractionsCsv, hierTCNEntityVectors } from '../../lib/train/searchsage-hiertcn.js'
import { CommitTrainer } from '../../lib/train/searchsage-select.js'

const WORDS = ['cache', 'router', 'form', 'console', 'security', 'mailer']

/** Subjects name their component and file; a commit sometimes touches the file's test too. */
function synthetic(n: number): Commit[] {
  const rng = new Random(21)
  return Array.from({ length: n }, (_, i) => {
    const c = WORDS[Math.floor(rng.next() * WORDS.length)]
    const f = Math.floor(rng.next() * 8)
    const items = [`src/${c}/${c}${f}.php`]
    if (rng.next() < 0.5) items.push(`tests/${c}/${c}${f}Test.php`)
    return {
      ts: i * 60,
      user: String(Math.floor(i / 4) % 9),
      session: String(Math.floor(i / 4)),
      subject: `[${c}] fix ${c}${f} ${i % 11}`,
      items,
    }
  })
}

t.test('interaction CSV: one row per distinct file of a commit, quoted, commit order kept', async (t) => {
  const commits: Commit[] = [
    { ts: 5, user: 'u"1', session: 's,1', subject: 'x', items: ['a/b.php', 'c, "d".php', 'a/b.php'] },
    { ts: 9, user: '2', session: '3', subject: 'y', items: ['e.php'] },
  ]
  const text = commitInteractionsCsv(commits, 3)
  t.equal(commitInteractionsCsv(commits, 3), text, 'seeded: the same text')
  const rows = text
    .split('\n')
    .filter((l) => l !== '')
    .map((l, i) => splitCsvRow(l, 'mem.csv', i + 1) as string[])
  t.same(rows[0], ['user_id', 'session_id', 'timestamp', 'item'])
  const data = rows.slice(1).filter((r) => r.length === 4)
  t.equal(data.length, 3, 'the duplicate file is one row')
  t.same(
    data
      .slice(0, 2)
      .map((r) => r[3])
      .sort(),
    ['a/b.php', 'c, "d".php'].sort(),
    'quotes and commas survive',
  )
  t.same(data[0].slice(0, 3), ['u"1', 's,1', '5'])
  t.same(data[2], ['2', '3', '9', 'e.php'])
})

t.test('HierTCN vectors: unit rows aligned with the catalog, zero for files it never trained on', async (t) => {
  const split = splitCommits(synthetic(800))
  // Forty more users with two sessions each on a file of their own: whichever of them HierTCN
  // holds out leave files that only held-out users touched (and that are in the catalog).
  const own: Commit[] = Array.from({ length: 80 }, (_, i) => ({
    ts: 1000 + i,
    user: `solo${i >> 1}`,
    session: `solo${i}`,
    subject: `[solo] touch file ${i >> 1}`,
    items: [`src/solo/Solo${i >> 1}.php`],
  }))
  const data = commitSearchData({ ...split, train: [...split.train, ...own] })
  // Train HierTCN on the first half only: files first touched later have no vector, nor have
  // files that only the users HierTCN holds out (its own validation and test users) touched.
  const early = [...split.train.slice(0, 300), ...own]
  const csv = join(t.testdirName, 'early.csv')
  mkdirSync(t.testdirName, { recursive: true })
  writeFileSync(csv, commitInteractionsCsv(early))
  const log = await loadInteractions(csv)
  const trainUsers = splitUsers(log, { seed: HIERTCN_DEFAULTS.seed }).train
  const counts = itemCounts(log, trainUsers)
  const seen = new Set(log.items.filter((_, i) => counts[i] > 0))
  const held = new Set(early.flatMap((c) => c.items)).size - seen.size
  t.ok(seen.size > 0 && held > 0, `files of training users ${seen.size}, only of held-out users ${held}`)
  const r = await hierTCNEntityVectors(early, data.entities, { dim: 8, epochs: 2 })
  const D = 8
  let unit = 0
  let zero = 0
  data.entities.ids.forEach((id, e) => {
    let s = 0
    for (let k = 0; k < D; k++) s += r.vectors[e * D + k] ** 2
    if (seen.has(id)) {
      if (Math.abs(s - 1) < 1e-4) unit++
    } else if (s === 0) zero++
  })
  t.equal(unit, data.entities.ids.filter((id) => seen.has(id)).length, 'every file HierTCN trained on: a unit row')
  t.equal(zero, data.entities.ids.length - unit, 'the others: zero rows')
  t.equal(r.covered, unit)
  t.ok(r.seconds > 0 && r.recall10 >= 0 && r.recall10 <= 1)
})

t.test('commit trainer: passes chosen on validation commits, then all training commits', async (t) => {
  const lines: string[] = []
  const trainer = new CommitTrainer(splitCommits(synthetic(1500)), (l) => lines.push(l))
  const small = { batch: 64, randomNegatives: 32, dim: 16, bagDim: 16, bagRows: 5000, hidden: [32], epochs: 2 }
  const s = await trainer.train('file', { ...small, tasks: { entity: 1 } })
  t.ok(s.passes >= 0.25 && s.passes <= 2 && (s.passes * 4) % 1 === 0, `passes ${s.passes} in quarter steps`)
  t.ok(s.validation > 0.3, `validation Recall@10 ${s.validation}`)
  t.ok(lines.some((l) => l.startsWith('file (validation run): quarter pass 1')))
  t.equal(s.model.epochs, s.passes * 4, 'the final run trains the chosen quarter passes')
  const r = evaluateSearchSage(s.model, trainer.data)
  t.ok(r.entity.recallAll > 0.3, `test Recall@10 ${r.entity.recallAll}`)
  const f = await trainer.train('frozen', { ...small, epochs: 1, tasks: { entity: 4, frozen: 1 } })
  t.equal(f.model.frozen?.dim, 16, 'the frozen task got HierTCN vectors of the whole dimension (the default)')
  const rf = evaluateSearchSage(f.model, trainer.data)
  t.ok(rf.frozen && rf.frozen.pairs > 0, 'frozen-task Recall@10 is measured')
  const short = await trainer.train('frozen', { ...small, epochs: 1, tasks: { frozen: 1 }, frozenDim: 4 })
  t.equal(short.model.frozen?.dim, 4, 'frozenDim 4: shorter vectors, searched by the prefix')
  t.ok(evaluateSearchSage(short.model, trainer.data).frozen, 'and scored')
  await t.rejects(
    trainer.train('frozen', { ...small, tasks: { frozen: 1 }, frozenDim: 17 }),
    { code: 'ERR_SIMSAGE_INVALID_ARGUMENT' },
    'frozenDim > dim',
  )
})
