// lib/temporal's GRU from JS: forward against a plain float64 TypeScript GRU (with h0, carry and
// mask), gradients against finite differences of that reference, streaming equal to the forward,
// state blobs (round trip, truncated, damaged, other model), bad input -> stable codes, and a
// disposed stream -> ERR_SIMSAGE_DISPOSED.
import t from 'tap'

import { ErrorCodes } from '../lib/errors.js'
import { setSimd } from '../lib/info.js'
import { binding } from '../lib/native/binding.js'
import { Random } from '../lib/random.js'
import { GRU } from '../lib/temporal/gru-exports.js'
import { rawThrowsCode, throwsCode } from './fixtures/assert.js'

interface RefInput {
  x: Float64Array
  h0?: Float64Array
  carry?: Float32Array
  mask?: Uint8Array
}

/** torch.nn.GRU (batch_first) in float64: returns [y (B*T*H), hN (L*B*H)]. */
function referenceGru(
  params: Float64Array[],
  L: number,
  D: number,
  H: number,
  B: number,
  T: number,
  input: RefInput,
): [Float64Array, Float64Array] {
  const h = input.h0 ? Float64Array.from(input.h0) : new Float64Array(L * B * H)
  const y = new Float64Array(B * T * H)
  const sig = (a: number) => 1 / (1 + Math.exp(-a))
  for (let b = 0; b < B; b++) {
    for (let s = 0; s < T; s++) {
      const i = b * T + s
      if (input.mask && input.mask[i] === 0) {
        for (let j = 0; j < H; j++) y[i * H + j] = h[((L - 1) * B + b) * H + j]
        continue
      }
      const c = input.carry ? input.carry[i] : 1
      let inp = Array.from(input.x.subarray(i * D, (i + 1) * D))
      for (let l = 0; l < L; l++) {
        const [wih, whh, bih, bhh] = params.slice(4 * l, 4 * l + 4)
        const nin = l === 0 ? D : H
        const hl = h.subarray((l * B + b) * H, (l * B + b + 1) * H)
        for (let j = 0; j < H; j++) hl[j] *= c
        const out = new Array<number>(H)
        for (let j = 0; j < H; j++) {
          const gi = [0, 0, 0],
            gh = [0, 0, 0]
          for (let g = 0; g < 3; g++) {
            const row = g * H + j
            let si = bih[row],
              sh = bhh[row]
            for (let k = 0; k < nin; k++) si += wih[row * nin + k] * inp[k]
            for (let k = 0; k < H; k++) sh += whh[row * H + k] * hl[k]
            gi[g] = si
            gh[g] = sh
          }
          const r = sig(gi[0] + gh[0]),
            z = sig(gi[1] + gh[1])
          const n = Math.tanh(gi[2] + r * gh[2])
          out[j] = (1 - z) * n + z * hl[j]
        }
        hl.set(out)
        inp = out
      }
      for (let j = 0; j < H; j++) y[i * H + j] = inp[j]
    }
  }
  return [y, h]
}

function normal(rng: Random, n: number, std = 1): Float32Array {
  return rng.fillNormal(new Float32Array(n), 0, std)
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]))
  return m
}

function extras(rng: Random, n: number): { carry: Float32Array; mask: Uint8Array } {
  const carry = new Float32Array(n),
    mask = new Uint8Array(n)
  for (let i = 0; i < n; i++) {
    const u = rng.next()
    carry[i] = u < 0.2 ? 0 : u < 0.4 ? 1 : rng.next()
    mask[i] = rng.next() < 0.3 ? 0 : 1
  }
  return { carry, mask }
}

t.test('forward matches a float64 reference (h0, carry, mask)', (t) => {
  const rng = new Random(3)
  for (const [L, D, H, B, T] of [
    [1, 3, 5, 2, 4],
    [2, 17, 9, 3, 7],
    [3, 1, 33, 2, 2],
  ]) {
    const gru = new GRU({ inputSize: D, hiddenSize: H, layers: L, rng })
    t.same(
      gru.parameters().map((p) => [p.name, p.shape]),
      Array.from({ length: L }, (_, l) => [
        [`weight_ih_l${l}`, [3 * H, l === 0 ? D : H]],
        [`weight_hh_l${l}`, [3 * H, H]],
        [`bias_ih_l${l}`, [3 * H]],
        [`bias_hh_l${l}`, [3 * H]],
      ]).flat(),
      'parameters in PyTorch order',
    )
    const bound = 1 / Math.sqrt(H)
    t.ok(
      gru.parameters().every((p) => p.data.every((v) => Math.abs(v) <= bound)),
      'initialised in ±1/sqrt(H)',
    )
    const x = normal(rng, B * T * D)
    const h0 = normal(rng, L * B * H, 0.5)
    const { carry, mask } = extras(rng, B * T)
    const params = gru.parameters().map((p) => Float64Array.from(p.data))
    for (const opts of [{}, { h0 }, { h0, carry }, { h0, carry, mask }, { mask }]) {
      const y = gru.forward(x, B, T, opts)
      const [ry, rh] = referenceGru(params, L, D, H, B, T, {
        x: Float64Array.from(x),
        h0: opts.h0 && Float64Array.from(opts.h0),
        carry: (opts as { carry?: Float32Array }).carry,
        mask: (opts as { mask?: Uint8Array }).mask,
      })
      const what = `L=${L} D=${D} H=${H} ${Object.keys(opts).join('+') || 'plain'}`
      t.ok(maxDiff(y, ry) < 1e-5, `${what}: y within 1e-5 (${maxDiff(y, ry)})`)
      t.ok(maxDiff(gru.finalState, rh) < 1e-5, `${what}: finalState within 1e-5`)
    }
  }
  t.end()
})

t.test('carry and mask semantics', (t) => {
  const rng = new Random(5)
  const gru = new GRU({ inputSize: 2, hiddenSize: 4, layers: 2, rng })
  const B = 2,
    T = 3
  const x = normal(rng, B * T * 2)
  const h0 = normal(rng, 2 * B * 4)
  // carry 0 at step 0 = starting from zeros.
  const carry = new Float32Array(B * T).fill(1)
  carry[0] = 0
  carry[T] = 0
  const a = gru.forward(x, B, T, { h0, carry }).slice()
  const b = gru.forward(x, B, T).slice()
  t.ok(maxDiff(a, b) < 1e-7, 'carry 0 at the first step resets h0')
  // A masked step repeats the previous output and leaves every layer's state alone.
  const mask = new Uint8Array(B * T).fill(1)
  mask[1] = 0
  const m = gru.forward(x, B, T, { mask }).slice()
  t.same(m.subarray(4, 8), m.subarray(0, 4), 'masked step outputs the carried state')
  const mask2 = new Uint8Array(B * T).fill(1)
  mask2[T - 1] = 0
  mask2[2 * T - 1] = 0
  gru.forward(x, B, T, { mask: mask2 })
  const fs = gru.finalState.slice()
  const short = new Float32Array(B * (T - 1) * 2)
  for (let r = 0; r < B; r++) short.set(x.subarray(r * T * 2, (r * T + T - 1) * 2), r * (T - 1) * 2)
  gru.forward(short, B, T - 1)
  t.ok(maxDiff(fs, gru.finalState) < 1e-6, 'trailing masked steps = a shorter sequence')
  t.end()
})

t.test('gradients match finite differences of the float64 reference', (t) => {
  const rng = new Random(9)
  for (const [L, D, H, withExtras] of [
    [1, 3, 4, false],
    [2, 2, 5, true],
  ] as const) {
    const B = 2,
      T = 3
    const gru = new GRU({ inputSize: D, hiddenSize: H, layers: L, rng })
    const x = normal(rng, B * T * D)
    const h0 = normal(rng, L * B * H, 0.5)
    const ex = withExtras ? extras(rng, B * T) : {}
    const wy = normal(rng, B * T * H),
      wh = normal(rng, L * B * H)
    for (const p of gru.parameters()) p.zeroGrad()
    gru.forward(x, B, T, { h0, ...ex })
    const dx = gru.backward(wy, wh).slice()
    const dh0 = gru.dh0.slice()
    const params = gru.parameters().map((p) => Float64Array.from(p.data))
    const xd = Float64Array.from(x),
      h0d = Float64Array.from(h0)
    const loss = () => {
      const [y, h] = referenceGru(params, L, D, H, B, T, { x: xd, h0: h0d, ...ex })
      let s = 0
      for (let i = 0; i < y.length; i++) s += wy[i] * y[i]
      for (let i = 0; i < h.length; i++) s += wh[i] * h[i]
      return s
    }
    let worst = 0
    const check = (v: Float64Array, analytic: Float32Array) => {
      for (let i = 0; i < v.length; i++) {
        const keep = v[i]
        v[i] = keep + 1e-6
        const up = loss()
        v[i] = keep - 1e-6
        const down = loss()
        v[i] = keep
        const num = (up - down) / 2e-6
        worst = Math.max(worst, Math.abs(num - analytic[i]) / Math.max(1, Math.abs(num)))
      }
    }
    check(xd, dx)
    check(h0d, dh0)
    for (const [i, p] of gru.parameters().entries()) check(params[i], p.grad)
    t.ok(worst < 1e-4, `L=${L} extras=${withExtras}: worst relative gradient error ${worst}`)
    // backward adds to grad
    const before = gru.parameters().map((p) => p.grad.slice())
    gru.backward(wy, wh)
    const doubled = gru.parameters().every(
      (p, i) =>
        maxDiff(
          p.grad,
          before[i].map((v) => 2 * v),
        ) < 1e-5,
    )
    t.ok(doubled, 'a second backward adds the same gradients again')
  }
  t.end()
})

t.test('streaming equals the full forward; subsets of streams step', (t) => {
  const rng = new Random(11)
  const L = 2,
    D = 3,
    H = 17,
    S = 5,
    T = 6
  const gru = new GRU({ inputSize: D, hiddenSize: H, layers: L, rng })
  const x = normal(rng, S * T * D)
  const { carry, mask } = extras(rng, S * T)
  const y = gru.forward(x, S, T, { carry, mask }).slice()
  const finalState = gru.finalState.slice()
  const stream = gru.stream(S)
  t.equal(stream.streams, S)
  let worst = 0
  for (let s = 0; s < T; s++) {
    const act: number[] = []
    for (let b = 0; b < S; b++) if (mask[b * T + s]) act.push(b)
    const active = Int32Array.from(act)
    const xs = new Float32Array(act.length * D)
    const cs = new Float32Array(act.length)
    act.forEach((b, r) => {
      xs.set(x.subarray((b * T + s) * D, (b * T + s + 1) * D), r * D)
      cs[r] = carry[b * T + s]
    })
    const out = stream.step(xs, active, cs)
    act.forEach((b, r) => {
      worst = Math.max(
        worst,
        maxDiff(out.subarray(r * H, (r + 1) * H), y.subarray((b * T + s) * H, (b * T + s + 1) * H)),
      )
    })
  }
  t.ok(worst < 1e-5, `stream outputs within 1e-5 of the forward (${worst})`)
  for (let b = 0; b < S; b++) {
    const st = stream.state(b)
    for (let l = 0; l < L; l++) {
      const want = finalState.subarray((l * S + b) * H, (l * S + b + 1) * H)
      t.ok(maxDiff(st.subarray(l * H, (l + 1) * H), want) < 1e-5, `stream ${b} layer ${l} state = finalState`)
    }
  }
  // every stream at once, no active list
  const all = gru.stream(2)
  const x2 = normal(rng, 2 * D)
  const o = all.step(x2).slice()
  const f = gru.forward(x2, 2, 1)
  t.ok(maxDiff(o, f) < 1e-6, 'a step of all streams = a one-step forward')
  all.reset(0)
  t.same(all.state(0), new Float32Array(L * H), 'reset(0) zeros stream 0')
  t.notSame(all.state(1), new Float32Array(L * H), 'reset(0) leaves stream 1')
  all.reset()
  t.same(all.state(1), new Float32Array(L * H), 'reset() zeros every stream')
  // the snapshot: training the GRU afterwards does not change the stream
  const snap = gru.stream(1)
  const x1 = normal(rng, D)
  const before = gru.forward(x1, 1, 1).slice()
  gru.parameters()[0].data[0] += 5
  t.same(snap.step(x1), before, 'the stream keeps the weights it was created with')
  t.end()
})

t.test('state blobs: round trip, truncated, damaged, other model', (t) => {
  const rng = new Random(13)
  const gru = new GRU({ inputSize: 3, hiddenSize: 6, layers: 2, rng })
  const stream = gru.stream(3)
  stream.step(normal(rng, 3 * 3))
  const blob = stream.save(1)
  t.ok(blob instanceof Uint8Array && blob.length === 24 + 4 * 2 * 6, 'blob size: 24-byte frame + floats')
  t.equal(stream.stateSize, blob.length, 'stateSize')
  const record = new Uint8Array(blob.length + 8).fill(7)
  const into = record.subarray(4, 4 + blob.length)
  t.equal(stream.save(1, into), into, 'save(stream, out) returns out')
  t.same(into, blob, 'the same bytes as save(stream)')
  t.same([...record.subarray(0, 4), ...record.subarray(4 + blob.length)], [7, 7, 7, 7, 7, 7, 7, 7], 'only out written')
  throwsCode(t, () => stream.save(1, new Uint8Array(blob.length + 1)), ErrorCodes.DIM_MISMATCH, 'out too long')
  throwsCode(t, () => stream.save(1, [] as never), ErrorCodes.INVALID_TYPE, 'out not bytes')
  const other = gru.stream(2)
  other.restore(0, blob)
  t.same(other.state(0), stream.state(1), 'restore reproduces the state')
  const next = other.step(new Float32Array([1, 2, 3, 0, 0, 0])).slice(0, 6)
  t.ok(maxDiff(next, stream.step(new Float32Array([1, 2, 3]), Int32Array.of(1))) < 1e-6, 'and the next step')

  const kept = other.state(1)
  throwsCode(t, () => other.restore(1, blob.subarray(0, blob.length - 1)), ErrorCodes.CORRUPT_FILE, 'truncated')
  throwsCode(t, () => other.restore(1, blob.subarray(0, 3)), ErrorCodes.CORRUPT_FILE, 'a few bytes')
  throwsCode(t, () => other.restore(1, new Uint8Array(0)), ErrorCodes.CORRUPT_FILE, 'empty')
  const damaged = blob.slice()
  damaged[30] ^= 1
  throwsCode(t, () => other.restore(1, damaged), ErrorCodes.CORRUPT_FILE, 'a flipped bit')
  t.same(other.state(1), kept, 'failed restores leave the state alone')
  for (const opts of [
    { inputSize: 3, hiddenSize: 6, layers: 1 },
    { inputSize: 4, hiddenSize: 6, layers: 2 },
    { inputSize: 3, hiddenSize: 12, layers: 1 },
  ]) {
    const s = new GRU({ ...opts, rng }).stream(1)
    throwsCode(
      t,
      () => s.restore(0, blob),
      ErrorCodes.STATE_MISMATCH,
      `blob of another shape (${JSON.stringify(opts)})`,
    )
  }
  throwsCode(t, () => other.restore(2, blob), ErrorCodes.INVALID_ARGUMENT, 'stream out of range')
  throwsCode(t, () => other.restore(0, [1, 2] as unknown as Uint8Array), ErrorCodes.INVALID_TYPE, 'not bytes')

  stream.dispose()
  throwsCode(t, () => stream.step(new Float32Array(9)), ErrorCodes.DISPOSED, 'step after dispose')
  throwsCode(t, () => stream.save(0), ErrorCodes.DISPOSED, 'save after dispose')
  throwsCode(t, () => stream.restore(0, blob), ErrorCodes.DISPOSED, 'restore after dispose')
  throwsCode(t, () => stream.state(0), ErrorCodes.DISPOSED, 'state after dispose')
  throwsCode(t, () => stream.reset(), ErrorCodes.DISPOSED, 'reset after dispose')
  t.end()
})

t.test('bad input -> stable codes', (t) => {
  const rng = new Random(17)
  throwsCode(t, () => new GRU({ inputSize: 0, hiddenSize: 4 }), ErrorCodes.DIM_MISMATCH, 'inputSize 0')
  throwsCode(t, () => new GRU({ inputSize: 2, hiddenSize: 1.5 }), ErrorCodes.DIM_MISMATCH, 'hiddenSize 1.5')
  throwsCode(t, () => new GRU({ inputSize: 2, hiddenSize: 4, layers: 0 }), ErrorCodes.DIM_MISMATCH, 'layers 0')
  throwsCode(t, () => new GRU(undefined as never), ErrorCodes.INVALID_ARGUMENT, 'no options')
  const gru = new GRU({ inputSize: 2, hiddenSize: 4, layers: 2, rng })
  throwsCode(t, () => gru.backward(new Float32Array(8)), ErrorCodes.INVALID_ARGUMENT, 'backward before forward')
  throwsCode(t, () => gru.finalState, ErrorCodes.INVALID_ARGUMENT, 'finalState before forward')
  const x = new Float32Array(2 * 3 * 2)
  throwsCode(t, () => gru.forward(x, 0, 3), ErrorCodes.DIM_MISMATCH, 'batch 0')
  throwsCode(t, () => gru.forward(x, 2, 0), ErrorCodes.DIM_MISMATCH, 'steps 0')
  throwsCode(t, () => gru.forward(x, 2, 2), ErrorCodes.DIM_MISMATCH, 'x of the wrong length')
  throwsCode(t, () => gru.forward(Array.from(x) as never, 2, 3), ErrorCodes.INVALID_TYPE, 'x not a Float32Array')
  throwsCode(t, () => gru.forward(x, 2, 3, { h0: new Float32Array(3) }), ErrorCodes.DIM_MISMATCH, 'h0 length')
  throwsCode(t, () => gru.forward(x, 2, 3, { carry: new Float32Array(5) }), ErrorCodes.DIM_MISMATCH, 'carry length')
  throwsCode(
    t,
    () => gru.forward(x, 2, 3, { mask: new Float32Array(6) as never }),
    ErrorCodes.INVALID_TYPE,
    'mask type',
  )
  throwsCode(t, () => gru.forward(x, 2, 3, { mask: new Uint8Array(5) }), ErrorCodes.DIM_MISMATCH, 'mask length')
  const nan = x.slice()
  nan[3] = Number.NaN
  throwsCode(t, () => gru.forward(nan, 2, 3), ErrorCodes.NON_FINITE, 'NaN in x')
  throwsCode(
    t,
    () => gru.forward(x, 2, 3, { carry: new Float32Array(6).fill(Infinity) }),
    ErrorCodes.NON_FINITE,
    'Inf carry',
  )
  gru.forward(x, 2, 3)
  throwsCode(t, () => gru.backward(new Float32Array(5)), ErrorCodes.DIM_MISMATCH, 'dy length')
  throwsCode(t, () => gru.backward(new Float32Array(24), new Float32Array(3)), ErrorCodes.DIM_MISMATCH, 'dhN length')
  throwsCode(t, () => gru.dh0, ErrorCodes.INVALID_ARGUMENT, 'dh0 before backward')

  const s = gru.stream(3)
  throwsCode(t, () => gru.stream(0), ErrorCodes.DIM_MISMATCH, 'zero streams')
  throwsCode(t, () => s.step(new Float32Array(4)), ErrorCodes.DIM_MISMATCH, 'x rows != streams')
  throwsCode(t, () => s.step(new Float32Array(4), Int32Array.of(1, 1)), ErrorCodes.INVALID_ARGUMENT, 'a stream twice')
  throwsCode(
    t,
    () => s.step(new Float32Array(4), Int32Array.of(0, 3)),
    ErrorCodes.INVALID_ARGUMENT,
    'stream out of range',
  )
  throwsCode(t, () => s.step(new Float32Array(4), [0, 1] as never), ErrorCodes.INVALID_TYPE, 'active not Int32Array')
  throwsCode(
    t,
    () => s.step(new Float32Array(6), undefined, new Float32Array(2)),
    ErrorCodes.DIM_MISMATCH,
    'carry rows',
  )
  t.equal(s.step(new Float32Array(0), new Int32Array(0)).length, 0, 'no active streams: empty output')

  // the raw binding checks lengths again
  const raw = { ...gru.rawModel(), batch: 2, steps: 3, x, y: new Float32Array(24), workspace: new Float32Array(10) }
  rawThrowsCode(t, () => binding().gruForward(raw), ErrorCodes.DIM_MISMATCH, 'raw: short workspace')
  rawThrowsCode(
    t,
    () => binding().gruForward({ ...raw, weights: raw.weights.slice(1) }),
    ErrorCodes.DIM_MISMATCH,
    'raw: missing tensor',
  )
  t.end()
})

t.test('GRUStream (packed weights) = forward at every SIMD level, 1 and many streams, subsets', (t) => {
  const before = setSimd('auto')
  const levels = (['scalar', 'avx2', 'avx512'] as const).filter((l) => setSimd(l) === l)
  setSimd('auto')
  const rng = new Random(17)
  const D = 128
  const H = 128
  const T = 4
  for (const level of levels) {
    setSimd(level)
    for (const S of [1, 70]) {
      const gru = new GRU({ inputSize: D, hiddenSize: H, layers: 1, rng })
      const x = normal(rng, S * T * D)
      const y = gru.forward(x, S, T).slice()
      const stream = gru.stream(S)
      let worst = 0
      for (let s = 0; s < T; s++) {
        // odd streams skip step 1 (a subset in reverse order), the rest step every time
        const act: number[] = []
        for (let b = S - 1; b >= 0; b--) if (s !== 1 || b % 2 === 0) act.push(b)
        const xs = new Float32Array(act.length * D)
        act.forEach((b, r) => {
          const at = s === 1 || b % 2 === 0 || s === 0 ? s : s - 1
          xs.set(x.subarray((b * T + at) * D, (b * T + at + 1) * D), r * D)
        })
        const out = stream.step(xs, S === 1 && s !== 1 ? undefined : Int32Array.from(act))
        act.forEach((b, r) => {
          const at = s === 1 || b % 2 === 0 || s === 0 ? s : s - 1 // odd streams lag one step after step 1
          worst = Math.max(
            worst,
            maxDiff(out.subarray(r * H, (r + 1) * H), y.subarray((b * T + at) * H, (b * T + at + 1) * H)),
          )
        })
      }
      t.ok(worst < 1e-5, `${level}, ${S} stream(s): stream = forward (${worst})`)
      stream.dispose()
    }
  }
  setSimd(before)
  t.end()
})
