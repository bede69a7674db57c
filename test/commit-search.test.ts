// Commit logs for query → entity retrieval: the JSONL reader (line numbers in every error, gzip),
// the commit loader's checks, the time split, the tasks built from it (no test subject leaks into a
// file's text), the TF-IDF baseline against a direct computation, and pair recall against brute force.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'

import t, { type Test } from 'tap'

import {
  byPopularity,
  commitSearchData,
  ErrorCodes,
  loadCommits,
  pairRecall,
  splitCommits,
  TfidfIndex,
  tfidfTerms,
  wordTokens,
  type Commit,
} from '../lib/index.js'
import { rejectsCode, throwsCode } from './fixtures/assert.js'
import { Random } from '../lib/random.js'
import type { SearchData } from '../lib/data/search-data.js'

/** The values of a catalog field by name. */
function field(d: SearchData, name: string): string[][] {
  return d.entities.fields.find((f) => f.name === name)?.values ?? []
}

function file(t: Test, name: string, text: string | Uint8Array): string {
  const dir = t.testdirName
  mkdirSync(dir, { recursive: true })
  const p = join(dir, name)
  writeFileSync(p, text)
  return p
}

const line = (o: unknown) => JSON.stringify(o)
const commit = (ts: number, subject: string, items: string[], session = 0, user = 0) =>
  line({ ts, user_id: user, session_id: session, subject, items })

t.test('loadCommits reads plain and gzip JSONL, skips blank lines', async (t) => {
  const text = `${commit(2, 'b', ['x/y.php'])}\n\n${commit(1, 'a', ['x/z.php'], 'S', 'U')}\r\n`
  for (const [name, body] of [
    ['c.jsonl', text],
    ['c.jsonl.gz', gzipSync(text)],
  ] as const) {
    const cs = await loadCommits(file(t, name, body))
    t.same(
      cs.map((c) => [c.ts, c.subject, c.user, c.session, c.items]),
      [
        [2, 'b', '0', '0', ['x/y.php']],
        [1, 'a', 'U', 'S', ['x/z.php']],
      ],
      name,
    )
  }
})

t.test('loadCommits: every malformed line names its line number', async (t) => {
  const good = commit(1, 'a', ['f'])
  const bad: [string, string][] = [
    ['{"ts": 1,', 'not valid JSON'],
    ['[1, 2]', 'commit object'],
    [line({ ts: 'x', user_id: 0, session_id: 0, subject: 'a', items: [] }), '"ts"'],
    [line({ ts: 1, user_id: 0, session_id: 0, subject: '  ', items: [] }), '"subject"'],
    [line({ ts: 1, user_id: 0, session_id: 0, subject: 7, items: [] }), '"subject"'],
    [line({ ts: 1, user_id: 0, session_id: 0, subject: 'a', items: 'f' }), '"items"'],
    [line({ ts: 1, user_id: 0, session_id: 0, subject: 'a', items: ['', 'g'] }), '"items"[0]'],
    [line({ ts: 1, user_id: null, session_id: 0, subject: 'a', items: [] }), '"user_id"'],
    [line({ ts: 1, user_id: 0, subject: 'a', items: [] }), '"session_id"'],
  ]
  for (const [text, what] of bad) {
    const p = file(t, 'bad.jsonl', `${good}\n\n${text}\n${good}\n`)
    await t.rejects(loadCommits(p), { code: ErrorCodes.MALFORMED_INPUT, message: /:3: / }, `${what}: line 3`)
    await t.rejects(loadCommits(p), { message: new RegExp(what.replace(/[[\]"]/g, '.')) }, `${what}: named`)
  }
  await rejectsCode(t, () => loadCommits(file(t, 'empty.jsonl', '\n\n')), ErrorCodes.INVALID_ARGUMENT, 'no commits')
  await rejectsCode(
    t,
    () => loadCommits(file(t, 'utf8.jsonl', Buffer.from([0x7b, 0xff, 0x0a]))),
    ErrorCodes.MALFORMED_INPUT,
    'bad UTF-8',
  )
  await rejectsCode(t, () => loadCommits(join(t.testdirName, 'missing.jsonl')), ErrorCodes.NOT_FOUND, 'missing file')
  const gz = gzipSync(`${good}\n`.repeat(200))
  await rejectsCode(
    t,
    () => loadCommits(file(t, 'cut.jsonl.gz', gz.subarray(0, gz.length - 9))),
    ErrorCodes.CORRUPT_FILE,
    'truncated gzip',
  )
})

function commits(n: number): Commit[] {
  return Array.from({ length: n }, (_, i) => ({
    ts: 1000 - i, // newest first in the file: the split must sort
    user: String(i % 3),
    session: String(Math.floor(i / 4)),
    subject: `subject ${i} about part${i % 5}`,
    items: [`src/part${i % 5}/File${i % 7}.php`, `src/common/F${i % 2}.php`],
  }))
}

t.test('splitCommits sorts by time, keeps the shares and the gap, checks its options', async (t) => {
  const cs = commits(200)
  const s = splitCommits(cs)
  t.equal(s.train.length, 180)
  t.equal(s.test.length, 200 - 182)
  t.ok(
    s.train.every((c, i) => i === 0 || s.train[i - 1].ts <= c.ts),
    'train sorted',
  )
  t.ok(s.trainEnd < s.testStart, 'the gap separates train and test in time')
  t.ok(
    s.test.every((c) => c.ts >= s.testStart),
    'test after the gap',
  )
  // Equal times keep the file's order.
  const tied = [0, 1, 2, 3].map((i) => ({ ...cs[i], ts: 5, subject: `s${i}` }))
  t.same(
    splitCommits(tied, { train: 0.5, gap: 0 }).train.map((c) => c.subject),
    ['s0', 's1'],
  )
  for (const o of [{ train: 0 }, { train: 1 }, { train: 0.9, gap: 0.1 }, { gap: -0.1 }, { train: Number.NaN }]) {
    throwsCode(t, () => splitCommits(cs, o), ErrorCodes.INVALID_ARGUMENT, JSON.stringify(o))
  }
  throwsCode(t, () => splitCommits(cs.slice(0, 1)), ErrorCodes.INVALID_ARGUMENT, 'too few commits')
})

t.test('commitSearchData: catalog from training, no test subject in any file text, both tasks', async (t) => {
  const s = splitCommits(commits(300))
  const d = commitSearchData(s)
  const trainFiles = new Set(s.train.flatMap((c) => c.items))
  t.same(new Set(d.entities.ids), trainFiles, 'catalog = files of the training commits')
  const testSubjects = new Set(s.test.map((c) => c.subject))
  t.ok(
    field(d, 'subjects').every((list) => list.every((x) => !testSubjects.has(x))),
    'file texts hold training subjects only',
  )
  // Every test (subject, file) pair with a catalog file is there, the rest are counted.
  let expected = 0
  let unseen = 0
  for (const c of s.test)
    for (const it of new Set(c.items)) {
      if (d.entities.index.has(it)) expected++
      else unseen++
    }
  t.equal(d.test.entity.entity.length, expected)
  t.equal(d.unseenTestPairs, unseen)
  for (let i = 0; i < d.test.entity.entity.length; i++) {
    const c = s.test.find((x) => x.subject === d.test.entity.queries[i])
    t.ok(c?.items.includes(d.entities.ids[d.test.entity.entity[i]]), `pair ${i} is a real (subject, file)`)
  }
  t.same(field(d, 'folders')[d.entities.index.get('src/common/F0.php') as number], ['src common'])
  t.same(
    d.entities.fields.map((f) => f.name),
    ['path', 'folders', 'subjects'],
  )
  t.equal(d.queryField, 'subjects')
  t.equal(
    d.entities.popularity.reduce((a, b) => a + b, 0),
    d.train.entity.entity.length,
    'popularity counts the training pairs',
  )
  // Query → query pairs join two different subjects of one session.
  t.ok(d.test.query.entity.length > 0)
  for (let i = 0; i < d.test.query.entity.length; i++) {
    const a = s.test.find((c) => c.subject === d.test.query.queries[i])
    const b = s.test.find((c) => c.subject === d.queries.ids[d.test.query.entity[i]])
    t.ok(a && b && a !== b && a.session === b.session && a.user === b.user, `query pair ${i}`)
  }
})

t.test('TF-IDF: tokens, and scores equal a direct computation', async (t) => {
  t.same(wordTokens('Ｆｏｒｍ: Add-ÉTÉ  handling_v2!'), ['form', 'add', 'été', 'handling', 'v2'], 'NFKC, lower, split')
  t.same(tfidfTerms('a b c'), ['a', 'b', 'c', 'a b', 'b c'])
  const docs = [tfidfTerms('form type form'), tfidfTerms('console command'), [], tfidfTerms('form console b')]
  const idx = new TfidfIndex(docs)
  const N = docs.length
  const vocab = [...new Set(docs.flat())]
  const idf = (w: string) => Math.log((1 + N) / (1 + docs.filter((d) => d.includes(w)).length)) + 1
  const vec = (terms: string[]) => {
    const v = vocab.map((w) => {
      const tf = terms.filter((x) => x === w).length
      return tf ? (1 + Math.log(tf)) * idf(w) : 0
    })
    const n = Math.hypot(...v)
    return v.map((x) => (n ? x / n : 0))
  }
  const q = tfidfTerms('form console unknownword')
  const got = idx.scores(q)
  const qv = vec(q)
  for (let d = 0; d < N; d++) {
    const want = vec(docs[d]).reduce((s, x, i) => s + x * qv[i], 0)
    t.ok(Math.abs(got[d] - want) < 1e-6, `doc ${d}: ${got[d]} vs ${want}`)
  }
  t.equal(idx.scores([])[0], 0, 'empty query scores 0')
  throwsCode(t, () => new TfidfIndex([]), ErrorCodes.INVALID_ARGUMENT, 'no documents')
  throwsCode(t, () => idx.scores(q, new Float32Array(2)), ErrorCodes.DIM_MISMATCH, 'wrong out length')
})

t.test('pairRecall equals brute force; the sampled cut with every entity equals the full cut', async (t) => {
  const rng = new Random(3)
  const n = 50
  const pairs = 200
  // Integer scores: many ties.
  const S = Array.from({ length: pairs }, () => Float32Array.from({ length: n }, () => Math.floor(rng.next() * 6)))
  const positive = Int32Array.from({ length: pairs }, () => Math.floor(rng.next() * n))
  const score = (p: number, out: Float32Array) => out.set(S[p])
  for (const k of [1, 3, 10]) {
    let hits = 0
    for (let p = 0; p < pairs; p++) hits += S[p].filter((v) => v > S[p][positive[p]]).length < k ? 1 : 0
    const r = pairRecall({ entities: n, positive, score }, { k, sample: n - 1 })
    t.equal(r.recallAll, hits / pairs, `k ${k}: all`)
    t.equal(r.recallSampled, hits / pairs, `k ${k}: sampled with every other entity = all`)
  }
  const small = pairRecall({ entities: n, positive, score }, { k: 3, sample: 5, seed: 9 })
  t.ok(small.recallSampled >= small.recallAll, 'fewer competitors: recall does not drop')
  t.same(pairRecall({ entities: n, positive, score }, { k: 3, sample: 5, seed: 9 }), small, 'seeded: repeatable')
  // Popular share: a scorer that always ranks entities 0..9 on top fills the top 10 with them.
  const pop = pairRecall(
    { entities: n, positive, score: (_p, out) => out.set(Float32Array.from({ length: n }, (_, e) => n - e)) },
    { popularity: byPopularity(Float32Array.from({ length: n }, (_, e) => n - e)), sample: 0 },
  )
  t.equal(pop.popularShare, 1)
  t.ok(Number.isNaN(pop.recallSampled), 'sample 0: no sampled cut')
  throwsCode(t, () => pairRecall({ entities: n, positive, score }, { k: 0 }), ErrorCodes.INVALID_K, 'k 0')
  throwsCode(
    t,
    () => pairRecall({ entities: n, positive: Int32Array.of(n), score }),
    ErrorCodes.INVALID_ARGUMENT,
    'positive out of range',
  )
})
