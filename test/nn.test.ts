// lib/nn from JS: an MLP gradient check by finite differences, optimizers against reference
// formulas, buffer reuse, checkpoints, bad input -> stable codes, and a toy training regression.
import t from 'tap'

import { ErrorCodes } from '../lib/errors.js'
import { binding } from '../lib/native/binding.js'
import {
  Adam,
  AdamW,
  L2Normalize,
  LayerNorm,
  Linear,
  Parameter,
  ReLU,
  Random,
  Sequential,
  SGD,
  type Module,
} from '../lib/nn/index.js'
import { rawThrowsCode, throwsCode } from './fixtures/assert.js'

function randomF32(rng: Random, n: number, std = 1): Float32Array {
  return rng.fillNormal(new Float32Array(n), 0, std)
}

function weightedSum(y: Float32Array, w: Float32Array): number {
  let s = 0
  for (let i = 0; i < y.length; i++) s += y[i] * w[i]
  return s
}

t.test('MLP gradients match finite differences', (t) => {
  const rng = new Random(7)
  const batch = 4,
    inF = 6,
    hidden = 8,
    outF = 5
  const mlp = new Sequential(
    new Linear(inF, hidden, { rng }),
    new ReLU(),
    new Linear(hidden, outF, { rng }),
    new L2Normalize(),
  )
  const x = randomF32(rng, batch * inF)
  const w = randomF32(rng, batch * outF)
  const loss = () => weightedSum(mlp.forward(x, batch), w)

  mlp.zeroGrad()
  mlp.forward(x, batch)
  const dx = mlp.backward(w).slice()
  const h = 2e-3
  const close = (a: number, n: number) => Math.abs(a - n) <= 2e-3 + 2e-2 * Math.abs(n)
  // The ReLU on/off pattern of the hidden layer: a step that flips it straddles a kink, where the
  // loss is not differentiable within ±h, so no check applies to that coordinate.
  const pattern = () => Array.from(mlp.modules[0].forward(x, batch), (z) => (z > 0 ? 1 : 0)).join('')
  const numeric = (arr: Float32Array, i: number): number | undefined => {
    const keep = arr[i]
    const base = pattern()
    arr[i] = keep + h
    const lp = loss()
    const pp = pattern()
    arr[i] = keep - h
    const lm = loss()
    const pm = pattern()
    arr[i] = keep
    return pp === base && pm === base ? (lp - lm) / (2 * h) : undefined
  }
  let checked = 0,
    kinks = 0
  const check = (what: string, analytic: number, n: number | undefined) => {
    if (n === undefined) return void kinks++
    checked++
    t.ok(close(analytic, n), `${what}: analytic ${analytic} vs numeric ${n}`)
  }
  for (const [name, p] of mlp.namedParameters()) {
    for (let k = 0; k < 6; k++) {
      const i = (k * 7919) % p.size
      check(`${name}[${i}]`, p.grad[i], numeric(p.data, i))
    }
  }
  for (let k = 0; k < 6; k++) {
    const i = (k * 5) % x.length
    check(`x[${i}]`, dx[i], numeric(x, i))
  }
  t.ok(kinks <= 2 && checked >= 28, `${checked} coordinates checked, ${kinks} skipped at a ReLU kink`)
  t.end()
})

t.test('LayerNorm gradients match finite differences', (t) => {
  const rng = new Random(3)
  const batch = 3,
    f = 7
  const ln = new LayerNorm(f)
  rng.fillNormal(ln.weight!.data, 1, 0.3)
  rng.fillNormal(ln.bias!.data)
  const x = randomF32(rng, batch * f)
  const w = randomF32(rng, batch * f)
  ln.forward(x, batch)
  const dx = ln.backward(w).slice()
  const h = 2e-3
  const loss = () => weightedSum(ln.forward(x, batch), w)
  for (const [arr, grad, name] of [
    [x, dx, 'x'],
    [ln.weight!.data, ln.weight!.grad, 'weight'],
    [ln.bias!.data, ln.bias!.grad, 'bias'],
  ] as const) {
    for (let i = 0; i < Math.min(arr.length, 7); i++) {
      const keep = arr[i]
      arr[i] = keep + h
      const lp = loss()
      arr[i] = keep - h
      const lm = loss()
      arr[i] = keep
      const n = (lp - lm) / (2 * h)
      t.ok(Math.abs(grad[i] - n) <= 2e-3 + 2e-2 * Math.abs(n), `${name}[${i}]: ${grad[i]} vs ${n}`)
    }
  }
  t.end()
})

t.test('Linear init, buffer reuse, gradient accumulation', (t) => {
  const a = new Linear(16, 4, { rng: new Random(1) })
  const b = new Linear(16, 4, { rng: new Random(1) })
  t.same(a.weight.data, b.weight.data, 'same seed, same weights')
  t.same(a.weight.shape, [4, 16])
  t.ok(
    a.weight.data.every((v) => Math.abs(v) <= 0.25) && a.bias!.data.every((v) => Math.abs(v) <= 0.25),
    'U(-1/sqrt(in), 1/sqrt(in))',
  )
  t.equal(new Linear(3, 2, { bias: false }).parameters().length, 1, 'no bias')
  const x = new Float32Array(2 * 16).fill(1)
  const y1 = a.forward(x, 2)
  const y2 = a.forward(x, 2)
  t.equal(y1, y2, 'the same output buffer for the same batch size')
  const y3 = a.forward(new Float32Array(16).fill(1), 1)
  t.equal(y3.length, 4, 'a smaller batch gets an exact-length view')
  t.equal(y3.buffer, y1.buffer, 'over the same memory')
  // y = W x + b by hand for row 0.
  for (let o = 0; o < 4; o++) {
    let s = a.bias!.data[o]
    for (let i = 0; i < 16; i++) s += a.weight.data[o * 16 + i]
    t.ok(Math.abs(y3[o] - s) < 1e-5, `y[${o}]`)
  }
  const dy = new Float32Array(4).fill(1)
  a.backward(dy)
  const g1 = a.bias!.grad.slice()
  a.backward(dy)
  t.same(
    a.bias!.grad,
    g1.map((v) => 2 * v),
    'backward accumulates into grad',
  )
  t.end()
})

t.test('state() and load() round trip', (t) => {
  const make = (seed: number) =>
    new Sequential(
      new Linear(3, 4, { rng: new Random(seed) }),
      new ReLU(),
      new Sequential(new LayerNorm(4), new Linear(4, 2, { rng: new Random(seed + 1) })),
    )
  const m1 = make(1),
    m2 = make(5)
  const st = m1.state()
  t.same(Object.keys(st), ['0.weight', '0.bias', '2.0.weight', '2.0.bias', '2.1.weight', '2.1.bias'])
  t.same(st['0.weight'].shape, [4, 3])
  m2.load(st)
  const x = new Float32Array([1, 2, 3, -1, 0, 1])
  t.same(m2.forward(x, 2), m1.forward(x, 2), 'loaded model computes the same')
  st['0.weight'].data[0] += 1
  t.not(m1.parameters()[0].data[0], st['0.weight'].data[0], 'state() copies')
  throwsCode(
    t,
    () => m2.load({ ...st, extra: { shape: [1], data: new Float32Array(1) } }),
    ErrorCodes.INVALID_ARGUMENT,
    'unknown tensor',
  )
  const { '0.bias': _drop, ...missing } = st
  throwsCode(t, () => m2.load(missing), ErrorCodes.INVALID_ARGUMENT, 'missing tensor')
  throwsCode(
    t,
    () => m2.load({ ...st, '0.bias': { shape: [5], data: new Float32Array(5) } }),
    ErrorCodes.DIM_MISMATCH,
    'wrong shape',
  )
  t.end()
})

t.test('SGD matches torch.optim.SGD', (t) => {
  for (const [momentum, weightDecay, nesterov] of [
    [0, 0, false],
    [0.9, 0, false],
    [0.9, 0.01, true],
    [0.5, 0.1, false],
  ] as const) {
    const rng = new Random(11)
    const p = new Parameter('w', [37], randomF32(rng, 37))
    const ref = Float64Array.from(p.data)
    const vel = new Float64Array(37)
    const opt = new SGD([p], { lr: 0.1, momentum, weightDecay, nesterov })
    for (let s = 0; s < 5; s++) {
      rng.fillNormal(p.grad)
      for (let i = 0; i < 37; i++) {
        let g = p.grad[i] + weightDecay * ref[i]
        if (momentum > 0) {
          vel[i] = momentum * vel[i] + g
          g = nesterov ? g + momentum * vel[i] : vel[i]
        }
        ref[i] -= 0.1 * g
      }
      opt.step()
    }
    const err = Math.max(...p.data.map((v, i) => Math.abs(v - ref[i])))
    t.ok(err < 1e-5, `momentum ${momentum} wd ${weightDecay} nesterov ${nesterov}: max error ${err}`)
  }
  t.end()
})

t.test('Adam and AdamW match torch.optim', (t) => {
  for (const decoupled of [false, true]) {
    const rng = new Random(13)
    const n = 29,
      lr = 0.01,
      b1 = 0.8,
      b2 = 0.99,
      eps = 1e-8,
      wd = 0.05
    const p = new Parameter('w', [n], randomF32(rng, n))
    const ref = Float64Array.from(p.data)
    const m = new Float64Array(n),
      v = new Float64Array(n)
    const opt = decoupled
      ? new AdamW([p], { lr, betas: [b1, b2], eps, weightDecay: wd })
      : new Adam([p], { lr, betas: [b1, b2], eps, weightDecay: wd })
    for (let step = 1; step <= 6; step++) {
      rng.fillNormal(p.grad)
      for (let i = 0; i < n; i++) {
        let g = p.grad[i]
        if (decoupled) ref[i] *= 1 - lr * wd
        else g += wd * ref[i]
        m[i] = b1 * m[i] + (1 - b1) * g
        v[i] = b2 * v[i] + (1 - b2) * g * g
        const mh = m[i] / (1 - b1 ** step),
          vh = v[i] / (1 - b2 ** step)
        ref[i] -= (lr * mh) / (Math.sqrt(vh) + eps)
      }
      opt.step()
    }
    t.equal(opt.stepCount, 6)
    const err = Math.max(...p.data.map((x, i) => Math.abs(x - ref[i])))
    t.ok(err < 2e-6, `${decoupled ? 'AdamW' : 'Adam'}: max error ${err}`)
  }
  t.equal(new AdamW([]).weightDecay, 0.01, 'AdamW default weight decay')
  t.end()
})

t.test('optimizer state() / load() resume the same trajectory', (t) => {
  for (const make of [
    (ps: Parameter[]) => new Adam(ps, { lr: 0.05 }),
    (ps: Parameter[]) => new SGD(ps, { lr: 0.05, momentum: 0.9 }),
  ]) {
    const rng = new Random(4)
    const p1 = new Parameter('w', [9], randomF32(rng, 9))
    const o1 = make([p1])
    for (let s = 0; s < 3; s++) {
      rng.fillNormal(p1.grad)
      o1.step()
    }
    const p2 = new Parameter('w', [9], p1.data.slice())
    const o2 = make([p2])
    o2.load(o1.state())
    rng.fillNormal(p1.grad)
    p2.grad.set(p1.grad)
    o1.step()
    o2.step()
    t.same(p2.data, p1.data, `${o1.constructor.name}: same update after load`)
    throwsCode(t, () => o2.load({ step: 1, buffers: [] }), ErrorCodes.DIM_MISMATCH, 'wrong buffer count')
  }
  t.end()
})

t.test('bad input fails with stable codes', (t) => {
  const lin = new Linear(3, 2)
  throwsCode(
    t,
    () => lin.forward(new Float64Array(6) as unknown as Float32Array, 2),
    ErrorCodes.INVALID_TYPE,
    'Float64Array input',
  )
  throwsCode(
    t,
    () => lin.forward([1, 2, 3] as unknown as Float32Array, 1),
    ErrorCodes.INVALID_TYPE,
    'plain array input',
  )
  throwsCode(t, () => lin.forward(new Float32Array(5), 2), ErrorCodes.DIM_MISMATCH, 'wrong length')
  throwsCode(t, () => lin.forward(new Float32Array(6), 1.5), ErrorCodes.INVALID_ARGUMENT, 'fractional batch')
  throwsCode(
    t,
    () => new Linear(3, 2).backward(new Float32Array(2)),
    ErrorCodes.INVALID_ARGUMENT,
    'backward before forward',
  )
  lin.forward(new Float32Array(6), 2)
  throwsCode(t, () => lin.backward(new Float32Array(2)), ErrorCodes.DIM_MISMATCH, 'dy of the wrong batch')
  throwsCode(t, () => new Linear(0, 2), ErrorCodes.DIM_MISMATCH, 'zero inFeatures')
  throwsCode(
    t,
    () => new LayerNorm(4).forward(new Float32Array(6), 2),
    ErrorCodes.DIM_MISMATCH,
    'LayerNorm wrong features',
  )
  throwsCode(t, () => new ReLU().forward(new Float32Array(7), 2), ErrorCodes.DIM_MISMATCH, 'ReLU ragged batch')
  throwsCode(t, () => new L2Normalize({ eps: 0 }), ErrorCodes.INVALID_ARGUMENT, 'eps 0')
  throwsCode(t, () => new LayerNorm(4, { eps: NaN }), ErrorCodes.NON_FINITE, 'eps NaN')
  throwsCode(t, () => new Sequential({} as unknown as Module), ErrorCodes.INVALID_ARGUMENT, 'not a module')
  const p = new Parameter('w', [2])
  throwsCode(t, () => new SGD([p], { lr: NaN }), ErrorCodes.NON_FINITE, 'SGD lr NaN')
  throwsCode(t, () => new SGD([p], { lr: -1 }), ErrorCodes.INVALID_ARGUMENT, 'SGD lr < 0')
  throwsCode(
    t,
    () => new SGD([p], { lr: 0.1, nesterov: true }),
    ErrorCodes.INVALID_ARGUMENT,
    'nesterov without momentum',
  )
  throwsCode(t, () => new SGD([p, p], { lr: 0.1 }), ErrorCodes.INVALID_ARGUMENT, 'duplicate parameter')
  throwsCode(t, () => new Adam([p], { betas: [1, 0.9] }), ErrorCodes.INVALID_ARGUMENT, 'beta1 = 1')
  throwsCode(t, () => new Adam([p], { eps: Infinity }), ErrorCodes.NON_FINITE, 'eps Infinity')
  const opt = new SGD([p], { lr: 0.1 })
  const first = new Linear(3, 2, { inputGrad: false })
  first.forward(new Float32Array(6), 2)
  t.equal(first.backward(new Float32Array(4)).length, 0, 'inputGrad false: empty dX')
  throwsCode(
    t,
    () => {
      opt.lr = NaN
    },
    ErrorCodes.NON_FINITE,
    'lr set to NaN',
  )
  // The native layer checks again.
  const b = binding()
  const f = (n: number) => new Float32Array(n)
  rawThrowsCode(
    t,
    () => b.nnLinearForward({ x: f(6), w: f(6), y: f(3), batch: 2, inFeatures: 3, outFeatures: 2 }),
    ErrorCodes.DIM_MISMATCH,
    'native: y too short',
  )
  rawThrowsCode(
    t,
    () =>
      b.nnLinearForward({
        x: new Float64Array(6) as unknown as Float32Array,
        w: f(6),
        y: f(4),
        batch: 2,
        inFeatures: 3,
        outFeatures: 2,
      }),
    ErrorCodes.INVALID_ARGUMENT,
    'native: Float64Array',
  )
  rawThrowsCode(
    t,
    () => b.nnLinearForward({ x: f(6), w: f(6), y: f(4), batch: 2, inFeatures: 0, outFeatures: 2 }),
    ErrorCodes.DIM_MISMATCH,
    'native: inFeatures 0',
  )
  rawThrowsCode(
    t,
    () => b.nnLayerNormForward({ x: f(6), y: f(6), mean: f(2), rstd: f(1), rows: 2, dim: 3 }),
    ErrorCodes.DIM_MISMATCH,
    'native: rstd too short',
  )
  rawThrowsCode(t, () => b.nnSgdStep({ param: f(4), grad: f(4), lr: NaN }), ErrorCodes.NON_FINITE, 'native: lr NaN')
  rawThrowsCode(
    t,
    () => b.nnSgdStep({ param: f(4), grad: f(4), lr: 0.1, momentum: 0.9 }),
    ErrorCodes.INVALID_ARGUMENT,
    'native: no velocity',
  )
  rawThrowsCode(
    t,
    () => b.nnAdamStep({ param: f(4), grad: f(4), m: f(4), v: f(4), step: 0 }),
    ErrorCodes.INVALID_ARGUMENT,
    'native: step 0',
  )
  rawThrowsCode(
    t,
    () => b.nnL2NormalizeForward({ x: f(4), y: f(4), norms: f(2), rows: 2, dim: 2, eps: -1 }),
    ErrorCodes.INVALID_ARGUMENT,
    'native: eps < 0',
  )
  t.end()
})

t.test('200 SGD steps reduce a toy regression loss', (t) => {
  const rng = new Random(21)
  const n = 64,
    inF = 4,
    outF = 3
  const A = randomF32(rng, outF * inF)
  const x = randomF32(rng, n * inF)
  const target = new Float32Array(n * outF)
  for (let r = 0; r < n; r++)
    for (let o = 0; o < outF; o++) {
      let s = 0
      for (let i = 0; i < inF; i++) s += A[o * inF + i] * x[r * inF + i]
      target[r * outF + o] = Math.tanh(s)
    }
  for (const make of [
    (ps: Parameter[]) => new SGD(ps, { lr: 0.05, momentum: 0.9 }),
    (ps: Parameter[]) => new AdamW(ps, { lr: 0.01 }),
  ]) {
    const model = new Sequential(
      new Linear(inF, 32, { rng }),
      new ReLU(),
      new LayerNorm(32),
      new Linear(32, outF, { rng }),
    )
    const opt = make(model.parameters())
    const dy = new Float32Array(n * outF)
    const step = () => {
      opt.zeroGrad()
      const y = model.forward(x, n)
      let loss = 0
      for (let i = 0; i < y.length; i++) {
        const d = y[i] - target[i]
        loss += d * d
        dy[i] = (2 * d) / y.length
      }
      model.backward(dy)
      opt.step()
      return loss / y.length
    }
    const first = step()
    let last = first
    for (let s = 1; s < 200; s++) last = step()
    t.ok(
      Number.isFinite(last) && last < first * 0.1,
      `${opt.constructor.name}: loss ${first.toFixed(4)} -> ${last.toFixed(4)}`,
    )
  }
  t.end()
})
