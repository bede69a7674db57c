// Interaction logs for HierTCN: the CSV loader (column orders, quotes, gzip, gap sessions, every
// malformed case with its line number), the seeded user split, the queue batch generator (each
// valid action a target exactly once per epoch, resets, pieces, memory against padded histories),
// and the symfony log (ranking metrics and baselines: test/ranking-baselines.test.ts).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'

import t, { type Test } from 'tap'

import {
  cooccurrence,
  ErrorCodes,
  evaluateBaseline,
  hashUserId,
  type InteractionLog,
  itemCounts,
  loadInteractions,
  mostPopular,
  PAD,
  paddedHistoryBytes,
  rankOf,
  SESSION_START,
  SessionBatches,
  SimsageError,
  splitUsers,
} from '../lib/index.js'
import { throwsCode } from './fixtures/assert.js'

const FIX = new URL('./fixtures/sessions/', import.meta.url).pathname
const SYMFONY = new URL('../../shared/data/symfony/sessions.csv.gz', import.meta.url).pathname

/** Writes `text` to a fresh file in the test's directory; returns its path. */
function file(t: Test, name: string, text: string | Uint8Array): string {
  const dir = t.testdirName
  mkdirSync(dir, { recursive: true })
  const p = join(dir, name)
  writeFileSync(p, text)
  return p
}

/** Expects loadInteractions(path) to reject with `code`, a message naming the path and `line`. */
async function rejects(t: Test, path: string, code: string, what: string, line?: number, msg?: RegExp) {
  try {
    await loadInteractions(path)
    t.fail(`${what}: loaded`)
  } catch (e) {
    t.ok(e instanceof SimsageError, `${what}: a SimsageError`)
    t.equal((e as SimsageError).code, code, `${what}: ${code}`)
    t.ok((e as Error).message.includes(path), `${what}: the message names the path`)
    if (line !== undefined)
      t.ok((e as Error).message.includes(`${path}:${line}:`), `${what}: line ${line} in "${(e as Error).message}"`)
    if (msg) t.match((e as Error).message, msg, `${what}: says why`)
  }
}

/** User `id`'s items as id strings, session by session. */
function sessionsOf(log: InteractionLog, id: string): string[][] {
  const h = log.user(log.users.indexOf(id))
  const out: string[][] = []
  for (let s = 0; s + 1 < h.sessionStart.length; s++) {
    out.push(Array.from(h.item.subarray(h.sessionStart[s], h.sessionStart[s + 1]), (i) => log.items[i]))
  }
  return out
}

t.test('loads a log with a session column', async (t) => {
  const log = await loadInteractions(join(FIX, 'tiny.csv'))
  t.same([log.numUsers, log.numItems, log.numActions, log.numSessions], [4, 4, 12, 6])
  t.same(log.users, ['A', 'B', 'C', 'D'])
  t.same(log.items, ['x', 'y', 'z', 'w'])
  t.equal(log.itemIndex.get('w'), 3)
  t.same(sessionsOf(log, 'C'), [['x', 'z'], ['w']])
  t.same(sessionsOf(log, 'D'), [
    ['x', 'y'],
    ['w', 'z'],
  ])
  t.same(Array.from(log.user(3).time), [300, 310, 5000, 5010])
  t.same(Array.from(itemCounts(log, Int32Array.of(0, 1))), [2, 2, 1, 0])
  t.equal(log.skipped, 0)
  t.ok(log.sessionColumn)
  throwsCode(t, () => log.user(4), ErrorCodes.INVALID_ARGUMENT, 'user index out of range')
})

t.test('any column order, extra columns, quotes, CRLF, BOM, blank lines, ISO dates, no session column', async (t) => {
  const skips: [number, string][] = []
  const log = await loadInteractions(join(FIX, 'quoted.csv'), { onSkip: (line, why) => skips.push([line, why]) })
  t.same(log.users, ['u1', 'u2'])
  t.same(log.items, ['src/a,b.php', 'say "hi".txt', 'multi\nline', 'plain'])
  t.same(Array.from(log.time), [1.5, 2.5, 2.5, 1704067201])
  t.equal(log.skipped, 2)
  t.same(skips, [
    [3, 'blank line'],
    [5, 'blank line'],
  ])
  t.notOk(log.sessionColumn)
  t.same(sessionsOf(log, 'u2'), [['multi\nline'], ['plain']], 'cut by the 30-minute default gap')
})

t.test('sessions by time gap: stable sort by time, cut where the gap exceeds sessionGap', async (t) => {
  const path = join(FIX, 'gaps.csv')
  const log = await loadInteractions(path)
  t.same(sessionsOf(log, 'u'), [
    ['a', 'b'],
    ['c', 'd'],
  ])
  t.same(sessionsOf(log, 'v'), [['q', 'r', 's']], 'equal timestamps keep file order')
  const one = await loadInteractions(path, { sessionGap: 1900 })
  t.same(sessionsOf(one, 'u'), [['a', 'b', 'c', 'd']], 'a gap equal to sessionGap does not cut')
  const tight = await loadInteractions(path, { sessionGap: 0 })
  t.same(sessionsOf(tight, 'v'), [['q', 'r', 's']], 'a zero gap never splits equal timestamps')
  t.equal(tight.numSessions, 5)
})

t.test('a user’s sessions are ordered by their first time; rows of a session keep file order', async (t) => {
  const p = file(
    t,
    'order.csv',
    'user_id,session_id,timestamp,item\nu,late,50,a\nu,early,10,b\nu,late,50,c\nu,early,60,d\n',
  )
  const log = await loadInteractions(p)
  t.same(sessionsOf(log, 'u'), [
    ['b', 'd'],
    ['a', 'c'],
  ])
  t.same(Array.from(log.user(0).time), [10, 60, 50, 50])
  const same = file(t, 'same.csv', 'user_id,session_id,timestamp,item\nu,s,5,z\nu,s,5,a\nu,s,5,m\nv,s,1,q\n')
  t.same(
    sessionsOf(await loadInteractions(same), 'u'),
    [['z', 'a', 'm']],
    'same session_id under two users: two sessions',
  )
})

t.test('gzip by magic bytes, maxRows, the same log as plain text', async (t) => {
  const text = readFileSync(join(FIX, 'tiny.csv'))
  const plain = await loadInteractions(join(FIX, 'tiny.csv'))
  for (const name of ['tiny.csv.gz', 'tiny-gzip-named.csv']) {
    const log = await loadInteractions(file(t, name, gzipSync(text)))
    t.same(Array.from(log.item), Array.from(plain.item), `${name}: same items`)
    t.same(Array.from(log.sessionOffsets), Array.from(plain.sessionOffsets), `${name}: same sessions`)
  }
  const first5 = await loadInteractions(join(FIX, 'tiny.csv'), { maxRows: 5 })
  t.equal(first5.numActions, 5)
  t.same(first5.users, ['A', 'B'])
  await rejects(t, file(t, 'trunc.csv.gz', gzipSync(text).subarray(0, 40)), ErrorCodes.CORRUPT_FILE, 'truncated gzip')
  const bad = Buffer.from(gzipSync(text))
  bad.fill(0x55, 12, 30)
  await rejects(t, file(t, 'bad.csv.gz', bad), ErrorCodes.CORRUPT_FILE, 'corrupt gzip')
})

t.test('malformed input: MALFORMED_INPUT with the path and line number', async (t) => {
  const H = 'user_id,session_id,timestamp,item\n'
  const cases: [string, string, number, RegExp][] = [
    ['no item column', 'user_id,session_id,timestamp,thing\nu,1,1,a\n', 1, /no "item" column/],
    ['no user_id column', 'session_id,timestamp,item\n1,1,a\n', 1, /no "user_id" column/],
    ['no timestamp column', 'user_id,item\nu,a\n', 1, /no "timestamp" column/],
    ['a column named twice', 'user_id,item,timestamp,Item\nu,a,1,b\n', 1, /twice/],
    ['too few fields', `${H}u,1,1,a\nu,1,2\n`, 3, /3 fields, the header has 4/],
    ['too many fields', `${H}u,1,1,a\nu,1,2,b,c\n`, 3, /5 fields/],
    ['empty timestamp', `${H}u,1,1,a\nu,1,,b\n`, 3, /timestamp "" is not/],
    ['non-numeric timestamp', `${H}u,1,1,a\nu,1,soon,b\n`, 3, /timestamp "soon"/],
    ['NaN timestamp', `${H}u,1,NaN,a\n`, 2, /timestamp "NaN"/],
    ['overflowing timestamp', `${H}u,1,1e999,a\n`, 2, /timestamp "1e999"/],
    [
      'backwards in a session',
      `${H}u,1,10,a\nv,1,5,b\nu,1,9,c\n`,
      4,
      /goes back in time within session "1" of user "u"/,
    ],
    ['empty item', `${H}u,1,1,a\nu,1,2,\n`, 3, /empty item/],
    ['empty user_id', `${H}u,1,1,a\n,1,2,b\n`, 3, /empty user_id/],
    ['empty session_id', `${H}u,1,1,a\nu,,2,b\n`, 3, /empty session_id/],
    ['a quote inside an unquoted field', `${H}u,1,1,a\nu,1,2,b"c\n`, 3, /quote inside unquoted field 4/],
    ['text after a closing quote', `${H}u,1,1,"a"b\n`, 2, /after a closing quote/],
    ['a quote never closed', `${H}u,1,1,a\nu,1,2,"b\nu,1,3,c\n`, 3, /not closed/],
    ['an empty file', '', 1, /empty/],
    ['only blank lines', '\n  \n\n', 1, /empty/],
    ['a header and no rows', H, 1, /no interaction rows/],
    ['a header and blank lines', `${H}\n\n`, 1, /no interaction rows/],
  ]
  for (const [what, text, line, msg] of cases) {
    await rejects(t, file(t, `${what.replaceAll(' ', '-')}.csv`, text), ErrorCodes.MALFORMED_INPUT, what, line, msg)
  }
  const utf = Buffer.concat([Buffer.from(`${H}u,1,1,a\nu,1,2,`), Buffer.from([0xff, 0xfe]), Buffer.from('\n')])
  await rejects(t, file(t, 'utf8.csv', utf), ErrorCodes.MALFORMED_INPUT, 'invalid UTF-8', undefined, /UTF-8/)
  await rejects(
    t,
    file(t, 'empty.csv.gz', gzipSync(Buffer.alloc(0))),
    ErrorCodes.MALFORMED_INPUT,
    'an empty gzip file',
    1,
  )
})

t.test('file-system errors and bad options', async (t) => {
  await rejects(t, join(FIX, 'no-such-file.csv'), ErrorCodes.NOT_FOUND, 'a missing file')
  await rejects(t, FIX.replace(/\/$/, ''), ErrorCodes.IO, 'a directory')
  const p = join(FIX, 'tiny.csv')
  for (const [what, opts] of [
    ['negative sessionGap', { sessionGap: -1 }],
    ['NaN sessionGap', { sessionGap: Number.NaN }],
    ['zero maxRows', { maxRows: 0 }],
    ['fractional maxRows', { maxRows: 1.5 }],
  ] as const) {
    await t.rejects(loadInteractions(p, opts), { code: ErrorCodes.INVALID_ARGUMENT }, what)
  }
  await t.rejects(loadInteractions(''), { code: ErrorCodes.INVALID_ARGUMENT }, 'empty path')
})

/** A synthetic log: `n` users named `user-<k>`, user k with 1 + (k % 7) actions (user 0: `heavy` actions). */
function syntheticCsv(n: number, heavy = 0): string {
  const rows = ['item,user_id,timestamp,session_id']
  for (let k = 0; k < n; k++) {
    const count = k === 0 && heavy > 0 ? heavy : 1 + (k % 7)
    for (let a = 0; a < count; a++) rows.push(`i${(k * 31 + a * 7) % 50},user-${k},${1000 * a},s${Math.floor(a / 3)}`)
  }
  return `${rows.join('\n')}\n`
}

t.test('splitUsers: seeded, deterministic, independent of file order, close to the fractions', async (t) => {
  t.equal(hashUserId('alice', 0), hashUserId('alice', 0))
  t.not(hashUserId('alice', 0), hashUserId('alice', 1))
  t.same(
    [hashUserId('alice', 0), hashUserId('0', 0), hashUserId('é', 7)],
    [269723886, 3100422888, 1734501817],
    'pinned values',
  )
  const text = syntheticCsv(4000)
  const log = await loadInteractions(file(t, 'many.csv', text))
  const [head, ...rows] = text.trim().split('\n')
  // The users' blocks of rows in reverse order (rows of a session must stay in time order).
  const byUser = new Map<string, string[]>()
  for (const r of rows) {
    const id = r.split(',')[1]
    byUser.set(id, [...(byUser.get(id) ?? []), r])
  }
  const flipped = [...byUser.values()].reverse().flat()
  const reversed = await loadInteractions(file(t, 'reversed.csv', `${head}\n${flipped.join('\n')}\n`))
  t.equal(reversed.users[0], 'user-3999', 'users appear in another order')
  const a = splitUsers(log)
  const b = splitUsers(log, { seed: 0 })
  t.same(a, b, 'the same split twice')
  const ids = (l: InteractionLog, us: Int32Array) => Array.from(us, (u) => l.users[u]).sort()
  const r = splitUsers(reversed)
  for (const part of ['train', 'valid', 'test'] as const) {
    t.same(ids(reversed, r[part]), ids(log, a[part]), `${part}: same user ids whatever the row order`)
  }
  t.equal(a.train.length + a.valid.length + a.test.length, 4000)
  t.ok(Math.abs(a.train.length / 4000 - 0.8) < 0.03, `train share ${a.train.length / 4000}`)
  t.ok(Math.abs(a.valid.length / 4000 - 0.1) < 0.02, `valid share ${a.valid.length / 4000}`)
  const other = splitUsers(log, { seed: 1 })
  t.notSame(Array.from(other.test), Array.from(a.test), 'another seed, another split')
  const all = splitUsers(log, { fractions: [1, 0, 0] })
  t.equal(all.train.length, 4000)
  throwsCode(
    t,
    () => splitUsers(log, { fractions: [0.5, 0.5, 0.5] }),
    ErrorCodes.INVALID_ARGUMENT,
    'fractions not summing to 1',
  )
  throwsCode(t, () => splitUsers(log, { seed: 0.5 }), ErrorCodes.INVALID_ARGUMENT, 'fractional seed')
})

/** Runs one epoch and checks every invariant of the generator against the log. */
function checkEpoch(
  t: Test,
  log: InteractionLog,
  users: Int32Array,
  B: number,
  S: number,
  L: number,
  seed = 0,
  maxUserSessions = Number.POSITIVE_INFINITY,
) {
  const gen = new SessionBatches(log, users, { queues: B, sessionSteps: S, maxLength: L, seed, maxUserSessions })
  // Per action: how often it appeared in a piece; per slot: where its current unit stands.
  const covered = new Int32Array(log.numActions)
  const slotUser = new Int32Array(B).fill(-1)
  const slotEnd = new Int32Array(B).fill(-1)
  let problems = 0
  const fail = (msg: string) => {
    if (problems++ < 5) t.fail(msg)
  }
  let targets = 0
  let batches = 0
  const starts = new Set(log.sessionOffsets)
  /** Whether action offset `a` may start a queued unit of user `u` (its first action or a segment's). */
  const unitStart = (u: number, a: number) => {
    if (a === log.userOffsets[u]) return true
    for (let k = log.userSessions[u]; k < log.userSessions[u + 1]; k += maxUserSessions) {
      if (log.sessionOffsets[k] === a) return true
    }
    return false
  }
  for (const batch of gen) {
    batches++
    let actions = 0
    for (let b = 0; b < B; b++) {
      for (let s = 0; s < S; s++) {
        const j = b * S + s
        const len = batch.length[j]
        const u = batch.user[j]
        const at = batch.offset[j]
        const base = j * L
        if (len === 0) {
          if (u !== -1 || at !== -1 || batch.piece[j] !== -1) fail('a padding step names a user or offset')
          for (let p = 0; p < L; p++)
            if (batch.target[base + p] !== PAD || batch.input[base + p] !== PAD) fail('padding not PAD')
          slotUser[b] = -1
          continue
        }
        if (len > L) fail(`piece of ${len} > L`)
        if (at < log.userOffsets[u] || at + len > log.userOffsets[u + 1]) fail('piece outside its user')
        if (batch.carry[j] === 1) {
          if (slotUser[b] !== u || slotEnd[b] !== at) fail('carry 1 but the slot does not continue its unit')
        } else if (batch.carry[j] === 0) {
          if (!unitStart(u, at)) fail(`carry 0 at action ${at - log.userOffsets[u]} of user ${u}, not a unit start`)
          if (
            slotUser[b] >= 0 &&
            !unitStart(slotUser[b], slotEnd[b]) &&
            slotEnd[b] !== log.userOffsets[slotUser[b] + 1]
          )
            fail('a unit left unfinished')
        } else fail(`carry ${batch.carry[j]}`)
        slotUser[b] = u
        slotEnd[b] = at + len
        const first = log.userOffsets[u]
        const sessionStart = starts.has(at)
        if ((batch.piece[j] === 0) !== sessionStart) fail('piece 0 exactly at session starts')
        if (batch.gap[j] !== (at === first ? 0 : Math.fround(log.time[at] - log.time[at - 1]))) fail('gap')
        if (batch.sessionEnd[j] !== (starts.has(at + len) ? 1 : 0)) fail('sessionEnd')
        for (let p = 0; p < L; p++) {
          const a = at + p
          if (p >= len) {
            if (batch.target[base + p] !== PAD || batch.items[base + p] !== PAD || batch.input[base + p] !== PAD)
              fail('tail not PAD')
            continue
          }
          covered[a]++
          if (batch.items[base + p] !== log.item[a]) fail('items differ from the log')
          const want = a === first ? PAD : log.item[a]
          if (batch.target[base + p] !== want) fail(`target at user ${u} action ${a - first}`)
          if (want !== PAD) actions++
          const input = p === 0 && sessionStart ? SESSION_START : log.item[a - 1]
          if (batch.input[base + p] !== input) fail('input is not the previous item / START')
        }
      }
    }
    if (batch.actions !== actions) fail(`batch.actions ${batch.actions} != ${actions}`)
    targets += actions
  }
  t.equal(problems, 0, 'no invariant broken')
  let expected = 0
  let singles = 0
  const inUsers = new Uint8Array(log.numUsers)
  for (const u of users) inUsers[u] = 1
  for (let u = 0; u < log.numUsers; u++) {
    const n = log.actionsOf(u)
    const want = inUsers[u] && n >= 2 ? 1 : 0
    if (inUsers[u] && n < 2) singles++
    if (want) expected += n - 1
    for (let a = log.userOffsets[u]; a < log.userOffsets[u + 1]; a++) {
      if (covered[a] !== want) fail(`user ${u} action ${a - log.userOffsets[u]} in ${covered[a]} pieces, not ${want}`)
    }
  }
  t.equal(problems, 0, `every action of the users (${singles} single-action users skipped) in exactly one piece`)
  t.equal(targets, expected, 'every valid action is a target exactly once')
  return { gen, batches }
}

t.test('SessionBatches: every action once per epoch, resets, pieces, START tokens', async (t) => {
  const log = await loadInteractions(file(t, 'gen.csv', syntheticCsv(60, 40)))
  const users = Int32Array.from({ length: log.numUsers }, (_, u) => u)
  for (const [B, S, L] of [
    [1, 1, 1],
    [2, 3, 2],
    [3, 2, 3],
    [8, 4, 5],
    [64, 2, 50],
  ]) {
    t.test(`B=${B} S=${S} L=${L}`, async (t) => {
      checkEpoch(t, log, users, B, S, L)
      checkEpoch(t, log, users, B, S, L, 1, 2)
    })
  }
  const tiny = await loadInteractions(join(FIX, 'tiny.csv'))
  checkEpoch(t, tiny, Int32Array.of(0, 1, 2, 3), 2, 2, 2)
  // Seeded: the same seed gives the same order, epochs differ, shuffle: false keeps the order.
  const order = (g: SessionBatches) => {
    const us: number[] = []
    for (const b of g) for (let j = 0; j < b.user.length; j++) if (b.carry[j] === 0) us.push(b.user[j])
    return us
  }
  const g1 = new SessionBatches(log, users, { queues: 1, sessionSteps: 2, maxLength: 4, seed: 3 })
  const g2 = new SessionBatches(log, users, { queues: 1, sessionSteps: 2, maxLength: 4, seed: 3 })
  const e0 = order(g1)
  t.same(order(g2), e0, 'same seed, same order')
  t.notSame(order(g1), e0, 'the next epoch is shuffled again')
  const plain = new SessionBatches(log, users, { queues: 1, sessionSteps: 2, maxLength: 4, shuffle: false })
  t.same(
    order(plain),
    Array.from(users).filter((u) => log.actionsOf(u) >= 2),
    'shuffle: false keeps the order',
  )
  for (const [what, opts] of [
    ['zero queues', { queues: 0, sessionSteps: 1, maxLength: 1 }],
    ['fractional maxLength', { queues: 1, sessionSteps: 1, maxLength: 1.5 }],
    ['missing sessionSteps', { queues: 1, maxLength: 1 }],
  ] as const) {
    throwsCode(t, () => new SessionBatches(log, users, opts as never), ErrorCodes.INVALID_ARGUMENT, what)
  }
  throwsCode(
    t,
    () => new SessionBatches(log, Int32Array.of(999), { queues: 1, sessionSteps: 1, maxLength: 1 }),
    ErrorCodes.INVALID_ARGUMENT,
    'user out of range',
  )
  throwsCode(
    t,
    () => new SessionBatches(log, [0] as never, { queues: 1, sessionSteps: 1, maxLength: 1 }),
    ErrorCodes.INVALID_TYPE,
    'users not an Int32Array',
  )
})

t.test('SessionBatches: data memory below padded whole histories on a skewed log', async (t) => {
  const log = await loadInteractions(file(t, 'skew.csv', syntheticCsv(200, 2000)))
  const users = Int32Array.from({ length: log.numUsers }, (_, u) => u)
  const { gen } = checkEpoch(t, log, users, 8, 4, 8)
  const padded = paddedHistoryBytes(log, users, 8)
  t.equal(padded, 8 * 2000 * 12, 'padded: the batch holding the heavy user, 12 bytes a position')
  t.ok(gen.dataBytes >= gen.batchBytes, 'data bytes include the batch arrays')
  t.ok(gen.dataBytes > 2000 * 12, 'and the queued heavy user')
  t.ok(gen.dataBytes * 2 < padded, `queue ${gen.dataBytes} B vs padded ${padded} B`)
})

t.test('the symfony log', async (t) => {
  if (!existsSync(SYMFONY)) {
    t.skip(`${SYMFONY} is absent (the shared data sets are not on this machine)`)
    return
  }
  const log = await loadInteractions(SYMFONY)
  t.same([log.numActions, log.numUsers, log.numSessions, log.numItems], [82083, 3918, 21057, 4596], 'the README counts')
  const split = splitUsers(log, { seed: 0 })
  t.equal(split.train.length + split.valid.length + split.test.length, log.numUsers)
  checkEpoch(t, log, split.valid, 16, 4, 16)
  // Dense ranks equal the exact sparse ranks on a sample of actions, and co-occurrence beats popularity.
  const co = cooccurrence(log, split.train)
  const out = new Float32Array(log.numItems)
  let mismatches = 0
  for (let k = 0; k < split.valid.length; k += 10) {
    const u = split.valid[k]
    for (let pos = log.userOffsets[u] + 1; pos < log.userOffsets[u + 1]; pos++) {
      co.scores(u, pos, out)
      if (co.rank(u, pos, log.item[pos]) !== rankOf(out, log.item[pos])) mismatches++
    }
  }
  t.equal(mismatches, 0, 'sparse ranks equal dense ranks')
  const rp = evaluateBaseline(log, split.valid, mostPopular(log, split.train))
  const rc = evaluateBaseline(log, split.valid, co)
  t.ok(rc.recall10 > 2 * rp.recall10, `co-occurrence R@10 ${rc.recall10} vs most-popular ${rp.recall10}`)
})
