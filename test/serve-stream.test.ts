// The HierTCN streamer (lib/serve/hiertcn-stream.ts): stepping a user's state one event at a time
// gives the same recommendations as HierTCNRecommender over the whole history (sessions cut into
// pieces, user-level GRU per piece, between-session decay), batched or one user at a time; state
// blobs round-trip and damage is a coded error.
import t from 'tap'

import { HierTCN, type HierTCNSpec } from '../lib/models/hiertcn.js'
import { HierTCNRecommender, type ServingHistory } from '../lib/models/hiertcn-recommender.js'
import { Random } from '../lib/random.js'
import { HierTCNStreamer } from '../lib/serve/hiertcn-stream.js'
import { decodeUserState, encodeUserState, type UserState } from '../lib/serve/user-state.js'

const spec: HierTCNSpec = {
  items: 23,
  embeddingDim: 6,
  userHidden: 5,
  userLayers: 2,
  channels: [7, 6],
  dilations: [1, 2],
  kernelSize: 2,
  dropout: 0,
  decayTau: 3600,
}
const items = Array.from({ length: spec.items }, (_, i) => `i${i}`)

interface Ev {
  item: string
  session: number
  time: number
}

/** Per user a random history: 1-4 sessions of 1-11 actions (some over maxLength = 4). */
function histories(users: number, seed: number): Ev[][] {
  const rng = new Random(seed)
  const out: Ev[][] = []
  for (let u = 0; u < users; u++) {
    const evs: Ev[] = []
    let time = 1000
    const sessions = 1 + Math.floor(rng.next() * 4)
    for (let s = 0; s < sessions; s++) {
      const n = 1 + Math.floor(rng.next() * 11)
      for (let a = 0; a < n; a++)
        evs.push({ item: items[Math.floor(rng.next() * spec.items)], session: s, time: (time += 30) })
      time += 5000
    }
    out.push(evs)
  }
  return out
}

for (const userHidden of [5, 0]) {
  t.test(`streamed state = recommender over the history (userHidden ${userHidden})`, async (t) => {
    const model = new HierTCN({ ...spec, userHidden }, 7)
    const rec = new HierTCNRecommender(model, items, { maxLength: 4 })
    const streamer = new HierTCNStreamer(model, items, { maxLength: 4, slots: 8 })
    const hs = histories(6, 11 + userHidden)
    // Batched: every user steps in the same calls (users with fewer events drop out).
    const states: (UserState | undefined)[] = hs.map(() => undefined)
    const longest = Math.max(...hs.map((h) => h.length))
    for (let a = 0; a < longest; a++) {
      const who = hs.map((h, u) => (a < h.length ? u : -1)).filter((u) => u >= 0)
      const next = streamer.step(
        who.map((u) => {
          const e = hs[u][a]
          return {
            state: states[u],
            item: streamer.itemIndex(e.item) as number,
            newSession: a > 0 && hs[u][a - 1].session !== e.session,
            time: e.time,
          }
        }),
      )
      who.forEach((u, i) => {
        states[u] = decodeUserState(encodeUserState(next[i]), spec.embeddingDim)
      })
    }
    const k = 5
    const got = await streamer.recommend(states as UserState[], k)
    const want = await rec.recommend(
      hs.map(
        (h): ServingHistory => ({
          items: h.map((e) => e.item),
          sessions: h.map((e) => e.session),
          times: h.map((e) => e.time),
        }),
      ),
      k,
      { excludeSeen: true },
    )
    for (let u = 0; u < hs.length; u++) {
      t.equal(states[u]?.events, hs[u].length, `user ${u}: event count`)
      t.equal(got[u].scores.length, want[u].scores.length, `user ${u}: result count`)
      for (let j = 0; j < want[u].scores.length; j++) {
        t.ok(
          Math.abs(got[u].scores[j] - want[u].scores[j]) < 1e-4,
          `user ${u} score ${j}: ${got[u].scores[j]} vs ${want[u].scores[j]}`,
        )
      }
      t.same(got[u].items, want[u].items, `user ${u}: items`)
    }
    streamer.dispose()
    rec.dispose()
  })
}

t.test('state blobs: damage and a foreign model are coded errors', async (t) => {
  const model = new HierTCN(spec, 3)
  using streamer = new HierTCNStreamer(model, items, { slots: 2 })
  const [s] = streamer.step([{ state: undefined, item: 3 }])
  const blob = encodeUserState(s)
  t.same(decodeUserState(blob, spec.embeddingDim).p, s.p)
  // By default the stream blobs are copies; copy: false gives views of the stored blob (read-only use).
  const copied = decodeUserState(blob, spec.embeddingDim)
  const viewed = decodeUserState(blob, spec.embeddingDim, { copy: false })
  t.not(copied.tcn.buffer, blob.buffer, 'a copy by default')
  t.equal(viewed.tcn.buffer, blob.buffer, 'a view with copy: false')
  t.same(viewed.tcn, copied.tcn)
  t.same(streamer.step([{ state: viewed, item: 2 }])[0].p, streamer.step([{ state: copied, item: 2 }])[0].p)
  t.same(decodeUserState(blob, spec.embeddingDim), copied, 'stepping from a view left the blob unchanged')
  // stepEncoded: the blob is encode(state), and the state's stream blobs are views into it
  const [enc] = streamer.stepEncoded([{ state: copied, item: 4 }])
  t.same(enc.blob, encodeUserState(enc.state), 'stepEncoded blob = encodeUserState(state)')
  t.equal(enc.state.tcn.buffer, enc.blob.buffer, 'tcn is a view into the blob')
  t.same(decodeUserState(enc.blob, spec.embeddingDim).p, enc.state.p)
  // a blob at an odd byte offset (a Buffer from a pool, as Redis gives) decodes the same
  const shifted = new Uint8Array(enc.blob.length + 1)
  shifted.set(enc.blob, 1)
  t.same(decodeUserState(shifted.subarray(1), spec.embeddingDim), decodeUserState(enc.blob, spec.embeddingDim))
  t.throws(() => decodeUserState(blob.subarray(0, blob.length - 3), spec.embeddingDim), {
    code: 'ERR_SIMSAGE_CORRUPT_FILE',
  })
  t.throws(() => decodeUserState(blob, spec.embeddingDim + 1), { code: 'ERR_SIMSAGE_STATE_MISMATCH' })
  const bad = blob.slice()
  bad[bad.length - 5] ^= 0xff // inside the TCN blob: its CRC catches it
  const state = decodeUserState(bad, spec.embeddingDim)
  t.throws(() => streamer.step([{ state, item: 1 }]), { code: 'ERR_SIMSAGE_CORRUPT_FILE' })
  t.throws(() => streamer.step([{ state: undefined, item: 99 }]), { code: 'ERR_SIMSAGE_INVALID_ARGUMENT' })
})

t.test('seen items: distinct, most recent last, at most maxSeen', async (t) => {
  const small: HierTCNSpec = { ...spec, userHidden: 0 }
  using streamer = new HierTCNStreamer(new HierTCN(small, 1), items, { slots: 1, maxSeen: 3 })
  let st: UserState | undefined
  const got: number[][] = []
  for (const it of [1, 2, 3, 2, 4, 4, 5]) {
    ;[st] = streamer.step([{ state: st, item: it }])
    got.push(Array.from(st.seen))
  }
  t.same(got, [[1], [1, 2], [1, 2, 3], [1, 3, 2], [3, 2, 4], [3, 2, 4], [2, 4, 5]])
})
