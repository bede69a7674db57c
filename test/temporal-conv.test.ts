// lib/temporal conv / TCN / streaming from JS: CausalConv1d against a plain TS reference conv, the
// TCN's gradients against central differences of a float64 TS reference, streaming equal to the
// full forward (all streams and subsets), state save/restore, and bad input -> stable codes.
import t from 'tap'

import { ErrorCodes } from '../lib/errors.js'
import { Random } from '../lib/nn/index.js'
import { CausalConv1d, TCN } from '../lib/temporal/index.js'
import { throwsCode } from './fixtures/assert.js'

type Arr = ArrayLike<number>

function randomF32(rng: Random, n: number, std = 1): Float32Array {
  return rng.fillNormal(new Float32Array(n), 0, std)
}

/** y[b,t,o] = bias[o] + sum_k sum_c W[o,c,k] x[b, t-(K-1-k)d, c], in float64. */
function refConv(x: Arr, w: Arr, b: Arr | undefined, B: number, T: number, I: number, O: number, K: number, d: number) {
  const y = new Float64Array(B * T * O)
  for (let n = 0; n < B; n++)
    for (let s = 0; s < T; s++)
      for (let o = 0; o < O; o++) {
        let acc = b ? b[o]! : 0
        for (let k = 0; k < K; k++) {
          const src = s - (K - 1 - k) * d
          if (src < 0) continue
          for (let c = 0; c < I; c++) acc += w[(o * I + c) * K + k]! * x[(n * T + src) * I + c]!
        }
        y[(n * T + s) * O + o] = acc
      }
  return y
}

/** The TCN in float64 from named parameter values (eval mode). */
function refTcn(tcn: TCN, values: Map<string, Arr>, x: Arr, B: number, T: number): Float64Array {
  let input: Arr = x
  let inC = tcn.inputSize
  for (let i = 0; i < tcn.channels.length; i++) {
    const O = tcn.channels[i]!
    const d = tcn.dilations[i]!
    const K = tcn.kernelSize
    const v = (n: string) => values.get(`blocks.${i}.${n}`)
    const a1 = refConv(input, v('conv1.weight')!, v('conv1.bias'), B, T, inC, O, K, d).map((z) => Math.max(0, z))
    const a2 = refConv(a1, v('conv2.weight')!, v('conv2.bias'), B, T, O, O, K, d).map((z) => Math.max(0, z))
    const res = v('downsample.weight')
      ? refConv(input, v('downsample.weight')!, v('downsample.bias'), B, T, inC, O, 1, 1)
      : input
    const y = new Float64Array(B * T * O)
    for (let j = 0; j < y.length; j++) y[j] = Math.max(0, a2[j]! + res[j]!)
    input = y
    inC = O
  }
  return Float64Array.from(input)
}

function maxRelErr(a: Arr, b: Arr): number {
  let e = 0
  let m = 1
  for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs(b[i]!))
  for (let i = 0; i < a.length; i++) e = Math.max(e, Math.abs(a[i]! - b[i]!))
  return e / m
}

t.test('CausalConv1d matches a plain reference conv, forward and backward', (t) => {
  const rng = new Random(3)
  for (const [I, O, K, d, T] of [
    [3, 5, 3, 2, 7],
    [1, 1, 1, 1, 1],
    [17, 4, 5, 9, 6],
    [8, 33, 2, 4, 20],
  ] as const) {
    const B = 2
    const conv = new CausalConv1d(I, O, { kernelSize: K, dilation: d, rng })
    const x = randomF32(rng, B * T * I)
    const y = conv.forward(x, B, T)
    const want = refConv(x, conv.weight.data, conv.bias!.data, B, T, I, O, K, d)
    t.ok(maxRelErr(y, want) < 1e-5, `forward I=${I} O=${O} K=${K} d=${d} T=${T}`)
    // backward of L = sum(g .* y): dx and dW against the reference's exact derivatives
    const g = randomF32(rng, B * T * O)
    const dx = conv.backward(g)
    const dxWant = new Float64Array(B * T * I)
    const dwWant = new Float64Array(O * I * K)
    for (let n = 0; n < B; n++)
      for (let s = 0; s < T; s++)
        for (let o = 0; o < O; o++)
          for (let k = 0; k < K; k++) {
            const src = s - (K - 1 - k) * d
            if (src < 0) continue
            const gv = g[(n * T + s) * O + o]!
            for (let c = 0; c < I; c++) {
              dxWant[(n * T + src) * I + c]! += gv * conv.weight.data[(o * I + c) * K + k]!
              dwWant[(o * I + c) * K + k]! += gv * x[(n * T + src) * I + c]!
            }
          }
    t.ok(maxRelErr(dx, dxWant) < 1e-5, 'dx')
    t.ok(maxRelErr(conv.weight.grad, dwWant) < 1e-5, 'dw (added into grad)')
  }
  t.end()
})

t.test('TCN gradients match central differences of a float64 reference', (t) => {
  const rng = new Random(11)
  const tcn = new TCN({ inputSize: 3, channels: [4, 4, 2], kernelSize: 3, dilations: [1, 2, 4], rng })
  tcn.training = false
  t.equal(tcn.receptiveField, 1 + 2 * 2 * (1 + 2 + 4))
  t.equal(tcn.outputSize, 2)
  t.same(
    tcn.parameters().map((p) => p.name),
    [
      'blocks.0.conv1.weight',
      'blocks.0.conv1.bias',
      'blocks.0.conv2.weight',
      'blocks.0.conv2.bias',
      'blocks.0.downsample.weight',
      'blocks.0.downsample.bias',
      'blocks.1.conv1.weight',
      'blocks.1.conv1.bias',
      'blocks.1.conv2.weight',
      'blocks.1.conv2.bias',
      'blocks.2.conv1.weight',
      'blocks.2.conv1.bias',
      'blocks.2.conv2.weight',
      'blocks.2.conv2.bias',
      'blocks.2.downsample.weight',
      'blocks.2.downsample.bias',
    ],
  )
  const B = 2
  const T = 9
  const x = randomF32(rng, B * T * 3)
  const g = randomF32(rng, B * T * 2)
  const values = new Map<string, Float64Array>(tcn.parameters().map((p) => [p.name, Float64Array.from(p.data)]))
  const y = tcn.forward(x, B, T)
  t.ok(maxRelErr(y, refTcn(tcn, values, x, B, T)) < 1e-5, 'forward = reference')
  for (const p of tcn.parameters()) p.zeroGrad()
  const dx = tcn.backward(g)
  const xd = Float64Array.from(x)
  const loss = () => {
    const yy = refTcn(tcn, values, xd, B, T)
    let s = 0
    for (let i = 0; i < yy.length; i++) s += g[i]! * yy[i]!
    return s
  }
  const check = (name: string, v: Float64Array, grad: Arr) => {
    let worst = 0
    for (let i = 0; i < v.length; i++) {
      const keep = v[i]!
      v[i] = keep + 1e-6
      const lp = loss()
      v[i] = keep - 1e-6
      const lm = loss()
      v[i] = keep
      worst = Math.max(worst, Math.abs((lp - lm) / 2e-6 - grad[i]!) / Math.max(1, Math.abs(grad[i]!)))
    }
    t.ok(worst < 1e-4, `${name}: worst ${worst}`)
  }
  check('dx', xd, dx)
  for (const p of tcn.parameters()) check(p.name, values.get(p.name)!, p.grad)
  // Dropout in training mode changes the output; eval mode does not use it.
  const drop = new TCN({ inputSize: 3, channels: [4], kernelSize: 2, dilations: [1], dropout: 0.5, rng })
  const yEval = Float32Array.from(((drop.training = false), drop.forward(x, B, T)))
  drop.training = true
  const yTrain = drop.forward(x, B, T)
  t.notSame(Array.from(yTrain), Array.from(yEval), 'dropout active in training')
  t.end()
})

t.test('TCNStream steps equal the full forward; subsets; save / restore', (t) => {
  const rng = new Random(5)
  const tcn = new TCN({ inputSize: 4, channels: [6, 6, 3], kernelSize: 3, dilations: [1, 3, 5], rng })
  tcn.training = false
  const S = 5
  const lengths = [1, 7, 19, 30, 12]
  const xs = lengths.map((T) => randomF32(rng, T * 4))
  const full = lengths.map((T, s) => Float32Array.from(tcn.forward(xs[s]!, 1, T)))
  const stream = tcn.stream(S)
  t.equal(stream.inputSize, 4)
  t.equal(stream.outputSize, 3)
  const at = new Array(S).fill(0)
  let worst = 0
  let round = 0
  while (at.some((p, s) => p < lengths[s]!)) {
    const active = [...Array(S).keys()].filter((s) => at[s] < lengths[s]! && (round === 0 || rng.next() < 0.6))
    round++
    if (active.length === 0) continue
    const x = new Float32Array(active.length * 4)
    active.forEach((s, r) => {
      x.set(xs[s]!.subarray(at[s] * 4, at[s] * 4 + 4), r * 4)
    })
    const y = round === 1 ? stream.step(x) : stream.step(x, Int32Array.from(active))
    active.forEach((s, r) => {
      for (let o = 0; o < 3; o++) {
        const want = full[s]![at[s] * 3 + o]!
        worst = Math.max(worst, Math.abs(y[r * 3 + o]! - want) / Math.max(1, Math.abs(want)))
      }
      at[s]++
    })
  }
  t.ok(worst <= 1e-5, `stream vs forward: worst ${worst}`)
  t.equal(stream.position(3), 30)

  // save stream 3 mid-sequence, restore into stream 0 of a fresh stream object, continue both
  const s2 = tcn.stream(2)
  const seq = randomF32(rng, 20 * 4)
  for (let i = 0; i < 8; i++) s2.step(seq.subarray(i * 4, i * 4 + 4), Int32Array.of(1))
  const blob = s2.save(1)
  t.equal(blob.length, s2.stateSize)
  // save into a caller's buffer (a view into a larger record): the same bytes, nothing else written
  const record = new Uint8Array(s2.stateSize + 8).fill(7)
  const into = record.subarray(4, 4 + s2.stateSize)
  t.equal(s2.save(1, into), into, 'save(stream, out) returns out')
  t.same(into, blob, 'the same bytes as save(stream)')
  t.same([...record.subarray(0, 4), ...record.subarray(4 + s2.stateSize)], [7, 7, 7, 7, 7, 7, 7, 7], 'only out written')
  throwsCode(t, () => s2.save(1, new Uint8Array(s2.stateSize - 1)), ErrorCodes.DIM_MISMATCH, 'out too short')
  throwsCode(t, () => s2.save(1, new Float32Array(s2.stateSize) as never), ErrorCodes.INVALID_TYPE, 'out not bytes')
  const s3 = tcn.stream(1)
  s3.restore(0, blob)
  t.equal(s3.position(0), 8)
  for (let i = 8; i < 20; i++) {
    const a = Float32Array.from(s2.step(seq.subarray(i * 4, i * 4 + 4), Int32Array.of(1)))
    const b = s3.step(seq.subarray(i * 4, i * 4 + 4))
    t.same(Array.from(b), Array.from(a), `restored stream continues identically at ${i}`)
  }
  throwsCode(t, () => s3.restore(0, blob.subarray(0, blob.length - 3)), ErrorCodes.CORRUPT_FILE, 'truncated blob')
  const bad = Uint8Array.from(blob)
  bad[bad.length >> 1]! ^= 1
  throwsCode(t, () => s3.restore(0, bad), ErrorCodes.CORRUPT_FILE, 'flipped bit')
  const other = new TCN({ inputSize: 4, channels: [6, 6, 3], kernelSize: 3, dilations: [1, 3, 4], rng }).stream(1)
  throwsCode(t, () => s3.restore(0, other.save(0)), ErrorCodes.STATE_MISMATCH, 'another model')
  other.dispose()
  stream.reset()
  t.equal(stream.position(3), 0, 'reset')
  for (const s of [stream, s2, s3]) s.dispose()
  t.end()
})

t.test('bad input -> stable codes', (t) => {
  const rng = new Random(1)
  throwsCode(t, () => new CausalConv1d(2, 2, { kernelSize: 0 }), ErrorCodes.INVALID_ARGUMENT, 'kernelSize 0')
  throwsCode(t, () => new CausalConv1d(2, 2, { kernelSize: 2, dilation: 0 }), ErrorCodes.INVALID_ARGUMENT, 'dilation 0')
  throwsCode(t, () => new CausalConv1d(0, 2, { kernelSize: 2 }), ErrorCodes.DIM_MISMATCH, 'inChannels 0')
  const conv = new CausalConv1d(2, 3, { kernelSize: 2, rng })
  throwsCode(t, () => conv.forward(new Float32Array(7), 1, 4), ErrorCodes.DIM_MISMATCH, 'x length')
  throwsCode(t, () => conv.forward(new Float32Array(8), 1, -1), ErrorCodes.INVALID_ARGUMENT, 'negative steps')
  throwsCode(t, () => conv.backward(new Float32Array(3)), ErrorCodes.INVALID_ARGUMENT, 'backward before forward')
  conv.forward(new Float32Array(8), 1, 4)
  throwsCode(t, () => conv.backward(new Float32Array(3)), ErrorCodes.DIM_MISMATCH, 'dy length')
  throwsCode(
    t,
    () => new TCN({ inputSize: 2, channels: [3, 3], kernelSize: 2, dilations: [1] }),
    ErrorCodes.INVALID_ARGUMENT,
    'dilations length',
  )
  throwsCode(
    t,
    () => new TCN({ inputSize: 2, channels: [3], kernelSize: 2, dilations: [1], dropout: 1 }),
    ErrorCodes.INVALID_ARGUMENT,
    'dropout 1',
  )
  const tcn = new TCN({ inputSize: 2, channels: [3], kernelSize: 2, dilations: [2], rng })
  const st = tcn.stream(3)
  throwsCode(t, () => st.step(new Float32Array(5)), ErrorCodes.DIM_MISMATCH, 'step x length')
  throwsCode(t, () => st.step(Float32Array.of(1, Number.NaN, 0, 0, 0, 0)), ErrorCodes.NON_FINITE, 'NaN step input')
  throwsCode(t, () => st.step(new Float32Array(4), Int32Array.of(1, 1)), ErrorCodes.INVALID_ARGUMENT, 'repeated stream')
  throwsCode(
    t,
    () => st.step(new Float32Array(2), Int32Array.of(3)),
    ErrorCodes.INVALID_ARGUMENT,
    'stream out of range',
  )
  throwsCode(t, () => st.save(3), ErrorCodes.INVALID_ARGUMENT, 'save stream out of range')
  throwsCode(t, () => st.restore(0, new Uint8Array(4)), ErrorCodes.CORRUPT_FILE, 'short blob')
  throwsCode(t, () => tcn.stream(0), ErrorCodes.INVALID_ARGUMENT, 'zero streams')
  st.dispose()
  t.ok(st.disposed)
  throwsCode(t, () => st.step(new Float32Array(6)), ErrorCodes.DISPOSED, 'disposed step')
  throwsCode(t, () => st.save(0), ErrorCodes.DISPOSED, 'disposed save')
  st.dispose()
  t.end()
})
