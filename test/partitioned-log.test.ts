// The queue generator reading users partition by partition: a PartitionedLog (the CSV spilled by
// user partition) gives exactly the batches of the whole log in memory with the same partition
// size and seed, with and without a session column; one partition is the plain seeded shuffle;
// a partition read holds a bounded share of the log; bad options, bad rows and closed spills are
// coded errors, and the spill files go away.
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, statSync, truncateSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'

import t, { type Test } from 'tap'

import { ErrorCodes } from '../lib/errors.js'
import { PartitionedLog, spillInteractions } from '../lib/data/partitioned-log.js'
import { type SessionBatch, SessionBatches } from '../lib/data/session-batches.js'
import { loadInteractions } from '../lib/data/sessions.js'
import { Random } from '../lib/random.js'
import { rejectsCode, throwsCode } from './fixtures/assert.js'

/** A log whose users' rows interleave in time, sessions of a user overlap in file order, heavy tail. */
function interleavedCsv(users: number, seed: number, sessionColumn: boolean): string {
  const rng = new Random(seed)
  const rows: [number, string][] = []
  for (let u = 0; u < users; u++) {
    const n = u % 13 === 0 ? 40 + rng.int(80) : 1 + rng.int(9)
    let time = rng.int(100000)
    for (let a = 0; a < n; a++) {
      time += rng.next() < 0.2 ? 5000 : rng.int(600)
      const s = Math.floor(a / 4)
      const item = `i${(u * 7 + rng.int(40)) % 300}`
      const row = sessionColumn ? `${item},u${u},${time},s${s}` : `${item},u${u},${time}`
      rows.push([time, row])
    }
  }
  rows.sort((a, b) => a[0] - b[0])
  const head = sessionColumn ? 'item,user_id,timestamp,session_id' : 'item,user_id,timestamp'
  return `${head}\n${rows.map((r) => r[1]).join('\n')}\n`
}

function write(t: Test, name: string, data: string | Uint8Array): string {
  mkdirSync(t.testdirName, { recursive: true })
  const p = join(t.testdirName, name)
  writeFileSync(p, data)
  return p
}

const FIELDS = ['input', 'target', 'items', 'length', 'carry', 'gap', 'user', 'offset', 'piece', 'sessionEnd'] as const

/** One digest per batch of `epochs` epochs (every array, the counts). */
function draw(gen: SessionBatches, epochs: number): string[] {
  const out: string[] = []
  for (let e = 0; e < epochs; e++) {
    for (const b of gen) {
      const h = createHash('sha256').update(`${b.actions},${b.index}`)
      for (const f of FIELDS) {
        const a = (b as SessionBatch)[f]
        h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength))
      }
      out.push(h.digest('hex'))
    }
  }
  return out
}

for (const sessionColumn of [true, false]) {
  t.test(
    `partitioned batches equal whole-log batches (${sessionColumn ? 'session column' : 'time gap'})`,
    async (t) => {
      const path = write(t, 'log.csv.gz', gzipSync(interleavedCsv(150, 3, sessionColumn)))
      const log = await loadInteractions(path, { sessionGap: 1800 })
      const users = Int32Array.from({ length: log.numUsers }, (_, u) => u).filter((u) => u % 5 !== 1)
      for (const N of [1, 7, 64, 1000]) {
        const spill = await spillInteractions(path, { partitionUsers: N, dir: t.testdirName })
        t.equal(spill.numActions, log.numActions, `N=${N}: every action spilled`)
        t.equal(spill.partitions, Math.ceil(log.numUsers / N), `N=${N}: partitions`)
        t.same(spill.items, log.items, 'the same item vocabulary')
        for (const [B, S, L, M, shuffle] of [
          [4, 2, 3, undefined, true],
          [16, 4, 8, 3, true],
          [3, 1, 50, undefined, false],
        ] as const) {
          const o = { queues: B, sessionSteps: S, maxLength: L, seed: 11, maxUserSessions: M, shuffle }
          const whole = draw(new SessionBatches(log, users, { ...o, partitionUsers: N }), 2)
          const parts = draw(new SessionBatches(spill, users, o), 2)
          t.ok(whole.length > 0, 'batches drawn')
          t.same(parts, whole, `N=${N} B=${B} S=${S} L=${L} M=${M} shuffle=${shuffle}`)
        }
        spill.close()
      }
      const one = draw(new SessionBatches(log, users, { queues: 8, sessionSteps: 2, maxLength: 4, seed: 5 }), 1)
      const spill = await spillInteractions(path, { partitionUsers: log.numUsers })
      t.same(
        draw(new SessionBatches(spill, users, { queues: 8, sessionSteps: 2, maxLength: 4, seed: 5 }), 1),
        one,
        'one partition: the plain seeded shuffle of the whole log',
      )
      spill.close()
      const smaller = draw(
        new SessionBatches(log, users, { queues: 8, sessionSteps: 2, maxLength: 4, seed: 5, partitionUsers: 10 }),
        1,
      )
      t.notSame(smaller, one, 'another partition size is another epoch order')
    },
  )
}

t.test('a partition read holds a bounded share of the log', async (t) => {
  const path = write(t, 'big.csv', interleavedCsv(2000, 9, true))
  const log = await loadInteractions(path)
  const spill = await spillInteractions(path, { partitionUsers: 50, dir: t.testdirName })
  t.equal(spill.peakBytes, 0, 'the check at open does not count')
  const gen = new SessionBatches(
    spill,
    Int32Array.from({ length: log.numUsers }, (_, u) => u),
    {
      queues: 16,
      sessionSteps: 4,
      maxLength: 8,
    },
  )
  for (const _ of gen);
  t.ok(gen.partitionBytes > 0, 'partitions were read')
  // One partition (2.5% of the users; heavy users every 13th) with its file bytes and rows: well
  // under the whole log's CSR arrays.
  t.ok(gen.partitionBytes * 4 < log.bytes, `partition peak ${gen.partitionBytes} B vs log ${log.bytes} B`)
  spill.close()
})

t.test('bad options, bad rows, closed spills', async (t) => {
  const path = write(t, 'ok.csv', interleavedCsv(20, 1, true))
  for (const bad of [0, 1.5, -3, '4', undefined]) {
    await rejectsCode(
      t,
      () => spillInteractions(path, { partitionUsers: bad as never }),
      ErrorCodes.INVALID_ARGUMENT,
      `partitionUsers ${bad}`,
    )
  }
  const dir = join(t.testdirName, 'spills')
  mkdirSync(dir, { recursive: true })
  const back = write(t, 'back.csv', 'user_id,session_id,timestamp,item\na,1,10,x\nb,1,5,y\na,1,9,z\n')
  await rejectsCode(
    t,
    () => spillInteractions(back, { partitionUsers: 1, dir }),
    ErrorCodes.MALFORMED_INPUT,
    'time back',
  )
  try {
    await spillInteractions(back, { partitionUsers: 1, dir })
  } catch (e) {
    t.match((e as Error).message, `${back}:4:`, 'the line of the row going back')
  }
  await rejectsCode(
    t,
    () => spillInteractions(write(t, 'empty.csv', ''), { partitionUsers: 1, dir }),
    ErrorCodes.MALFORMED_INPUT,
    'empty',
  )
  t.same(readdirSync(dir), [], 'a failed spill leaves no files')
  const spill = await spillInteractions(path, { partitionUsers: 3, dir })
  const files = join(dir, readdirSync(dir)[0])
  t.ok(existsSync(files), 'spill files while open')
  const attached = PartitionedLog.attach(spill.spill)
  t.same(
    draw(new SessionBatches(attached, Int32Array.of(0, 1, 2, 5), { queues: 2, sessionSteps: 2, maxLength: 3 }), 1),
    draw(new SessionBatches(spill, Int32Array.of(0, 1, 2, 5), { queues: 2, sessionSteps: 2, maxLength: 3 }), 1),
    'attached to the description: the same batches',
  )
  attached.close()
  t.ok(existsSync(files), 'an attached reader leaves the files')
  throwsCode(
    t,
    () => new SessionBatches(spill, Int32Array.of(0), { queues: 1, sessionSteps: 1, maxLength: 1, partitionUsers: 4 }),
    ErrorCodes.INVALID_ARGUMENT,
    'another partition size than the spill’s',
  )
  const part0 = join(files, 'part-0.bin')
  truncateSync(part0, statSync(part0).size - 3)
  throwsCode(t, () => spill.read(0), ErrorCodes.CORRUPT_FILE, 'a truncated spill file')
  spill.close()
  t.notOk(existsSync(files), 'close removes the spill')
  throwsCode(t, () => spill.read(0), ErrorCodes.DISPOSED, 'read after close')
  throwsCode(
    t,
    () => new SessionBatches(spill, Int32Array.of(99), { queues: 1, sessionSteps: 1, maxLength: 1 }),
    ErrorCodes.INVALID_ARGUMENT,
    'user out of range',
  )
})
