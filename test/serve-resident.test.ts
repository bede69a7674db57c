// The resident event store (the server's in-process default): states kept in native stream lanes
// equal a blob-by-blob replay (HierTCNStreamer.step) event for event, with sessions, time decay and
// piece boundaries, many users across several lane blocks, concurrent events; users past maxUsers
// and past the TTL are dropped and start again; bad input gets coded errors.
import t from 'tap'

import { ErrorCodes } from '../lib/errors.js'
import { HierTCN } from '../lib/models/hiertcn.js'
import { HierTCNStreamer } from '../lib/serve/hiertcn-stream.js'
import { ResidentEventService } from '../lib/serve/resident-events.js'
import type { UserState } from '../lib/serve/user-state.js'
import { rejectsCode, throwsCode } from './fixtures/assert.js'
import { hiertcnSpec, itemIds } from './fixtures/serve.js'

const spec = { ...hiertcnSpec, decayTau: 50 }

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY
  let m = 0
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]))
  return m
}

t.test('resident states equal a blob replay, event for event (sessions, decay, pieces, blocks)', async (t) => {
  const model = new HierTCN(spec, 4)
  using streamer = new HierTCNStreamer(model, itemIds, { maxLength: 3, slots: 8 })
  // blockSize 4 with 11 users: three lane blocks.
  const svc = new ResidentEventService(streamer, { blockSize: 4, maxUsers: 100 })
  t.teardown(() => svc.dispose())
  let x = 12345
  const rnd = (n: number) => {
    x = (x * 1103515245 + 12345) >>> 0
    return (x >>> 8) % n
  }
  const users = Array.from({ length: 11 }, (_, i) => `u${i}`)
  const log: { user: string; item: string; newSession: boolean; time: number; seq: number }[] = []
  const clock = new Map<string, number>()
  // Twelve waves of concurrent events (one per user per wave at most, so their order is known).
  for (let wave = 0; wave < 12; wave++) {
    const batch = users.filter(() => rnd(3) > 0)
    const answers = await Promise.all(
      batch.map((user) => {
        const time = (clock.get(user) ?? 0) + rnd(120)
        clock.set(user, time)
        const item = itemIds[rnd(itemIds.length)]
        const newSession = rnd(5) === 0
        return svc.event(user, item, { newSession, time }).then((a) => ({ user, item, newSession, time, a }))
      }),
    )
    for (const r of answers)
      log.push({ user: r.user, item: r.item, newSession: r.newSession, time: r.time, seq: r.a.events })
  }
  t.ok(svc.users === users.filter((u) => log.some((e) => e.user === u)).length, 'every user held')
  let worst = 0
  for (const user of users) {
    const mine = log.filter((e) => e.user === user)
    if (mine.length === 0) continue
    t.same(
      mine.map((e) => e.seq),
      Array.from({ length: mine.length }, (_, i) => i + 1),
      `${user}: events numbered in order`,
    )
    let st: UserState | undefined
    for (const e of mine) {
      ;[st] = streamer.step([
        { state: st, item: streamer.itemIndex(e.item) as number, newSession: e.newSession, time: e.time },
      ])
    }
    const got = (await svc.state(user)) as UserState
    const want = st as UserState
    t.equal(got.events, want.events, `${user}: events`)
    t.same([got.sessionLength, got.pieceCount, got.lastTime], [want.sessionLength, want.pieceCount, want.lastTime])
    t.same(got.seen, want.seen, `${user}: seen items`)
    worst = Math.max(
      worst,
      maxDiff(got.p, want.p),
      maxDiff(got.pieceSum, want.pieceSum),
      Math.abs(got.carry - want.carry),
    )
    // The stream states themselves: restore both into a fresh streamer and take the same next step.
    const [a] = streamer.step([{ state: got, item: 1 }])
    const [b] = streamer.step([{ state: want, item: 1 }])
    worst = Math.max(worst, maxDiff(a.p, b.p))
    const [ra] = await svc.recommend(user, 5).then((r) => [r])
    const [rb] = await streamer.recommend([want], 5)
    t.same(ra.items, rb.items, `${user}: recommendations`)
  }
  t.ok(worst < 1e-6, `states equal the replay (max |Δ| ${worst})`)
})

t.test('maxUsers and the TTL drop users; their slots are reused; dropped users start again', async (t) => {
  const model = new HierTCN(spec, 5)
  using streamer = new HierTCNStreamer(model, itemIds, { maxLength: 4 })
  const svc = new ResidentEventService(streamer, { maxUsers: 3, blockSize: 2 })
  t.teardown(() => svc.dispose())
  for (const u of ['a', 'b', 'c']) await svc.event(u, itemIds[1])
  await svc.event('a', itemIds[2]) // a is now the most recent; b the least
  await svc.event('d', itemIds[3]) // drops b
  t.equal(svc.users, 3)
  t.equal(await svc.state('b'), undefined, 'the least recently active user was dropped')
  await rejectsCode(t, () => svc.recommend('b', 3), ErrorCodes.UNKNOWN_USER, 'recommend for a dropped user')
  t.equal((await svc.state('a'))?.events, 2, 'a kept its two events')
  t.equal((await svc.event('b', itemIds[4])).events, 1, 'b starts again')
  // A fresh start equals a new user's first event (the reused slot was cleared).
  using fresh = new HierTCNStreamer(model, itemIds, { maxLength: 4 })
  const [want] = fresh.step([{ state: undefined, item: 4 }])
  t.ok(maxDiff(((await svc.state('b')) as UserState).p, want.p) < 1e-6, 'a reused slot starts from zeros')

  const short = new ResidentEventService(streamer, { ttlSeconds: 0.05 })
  t.teardown(() => short.dispose())
  await short.event('u', itemIds[1])
  t.equal((await short.state('u'))?.events, 1)
  await new Promise((r) => setTimeout(r, 120))
  t.equal(await short.state('u'), undefined, 'expired after its TTL')
  t.equal((await short.event('u', itemIds[1])).events, 1, 'and starts again')
})

t.test('resident events: bad input', async (t) => {
  using streamer = new HierTCNStreamer(new HierTCN(spec, 6), itemIds)
  throwsCode(t, () => new ResidentEventService(streamer, { maxUsers: 0 }), ErrorCodes.INVALID_ARGUMENT, 'maxUsers 0')
  throwsCode(t, () => new ResidentEventService(streamer, { blockSize: 1.5 }), ErrorCodes.INVALID_ARGUMENT, 'blockSize')
  const svc = new ResidentEventService(streamer)
  t.teardown(() => svc.dispose())
  await rejectsCode(t, () => svc.event('u', 'no-such-item'), ErrorCodes.INVALID_ARGUMENT, 'unknown item')
  t.equal(await svc.state('u'), undefined, 'a rejected event leaves no state')
  await rejectsCode(t, () => svc.recommend('nobody', 3), ErrorCodes.UNKNOWN_USER, 'unknown user')
})
