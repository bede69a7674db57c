// lib/nn pooling and group norm from JS: MaxPool2d / AvgPool2d / Downsample2d / GlobalAvgPool2d and
// GroupNorm against plain float64 TS references at every SIMD level, gradients against central
// differences, and bad input -> stable codes.
import t from 'tap'

import { ErrorCodes } from '../lib/errors.js'
import { info, setSimd } from '../lib/index.js'
import {
  AvgPool2d,
  Downsample2d,
  GlobalAvgPool2d,
  GroupNorm,
  MaxPool2d,
  type Module,
  type Pool2dOptions,
  Random,
} from '../lib/nn/index.js'
import { throwsCode } from './fixtures/assert.js'

const LEVELS = info().simdSupported
t.teardown(() => {
  setSimd('auto')
})

type Arr = ArrayLike<number>

/** Plain pooling over B*C planes: windows with their real pixels (h * W + w), taps row-major. */
function refPool(
  x: Arr,
  planes: number,
  H: number,
  W: number,
  k: [number, number],
  s: [number, number],
  p: [number, number],
  max: boolean,
) {
  const OH = Math.floor((H + 2 * p[0] - k[0]) / s[0]) + 1
  const OW = Math.floor((W + 2 * p[1] - k[1]) / s[1]) + 1
  const y = new Float64Array(planes * OH * OW)
  const arg = new Int32Array(y.length)
  for (let pl = 0; pl < planes; pl++)
    for (let oh = 0; oh < OH; oh++)
      for (let ow = 0; ow < OW; ow++) {
        let best = Number.NEGATIVE_INFINITY
        let at = -1
        let sum = 0
        let n = 0
        for (let i = 0; i < k[0]; i++)
          for (let j = 0; j < k[1]; j++) {
            const h = oh * s[0] - p[0] + i
            const w = ow * s[1] - p[1] + j
            if (h < 0 || h >= H || w < 0 || w >= W) continue
            const v = x[pl * H * W + h * W + w]!
            if (at < 0 || v > best) {
              best = v
              at = h * W + w
            }
            sum += v
            n++
          }
        const o = (pl * OH + oh) * OW + ow
        y[o] = max ? best : sum / n
        arg[o] = at
      }
  return { y, arg, OH, OW }
}

function maxErr(a: Arr, b: Arr): number {
  let e = 0
  for (let i = 0; i < b.length; i++) e = Math.max(e, Math.abs(a[i]! - b[i]!) / (1 + Math.abs(b[i]!)))
  return e
}

/** Central differences of L = sum(w .* forward(x)) w.r.t. x, against the module's backward. */
function gradErr(m: Module, x: Float32Array, batch: number, h = 1e-2): number {
  const rng = new Random(5)
  const y0 = m.forward(x, batch)
  const w = rng.fillNormal(new Float32Array(y0.length))
  const dx = Float32Array.from(m.backward(w))
  const loss = () => {
    const y = m.forward(x, batch)
    let s = 0
    for (let i = 0; i < y.length; i++) s += w[i]! * y[i]!
    return s
  }
  let e = 0
  for (let i = 0; i < x.length; i++) {
    const keep = x[i]!
    x[i] = keep + h
    const lp = loss()
    x[i] = keep - h
    const lm = loss()
    x[i] = keep
    e = Math.max(e, Math.abs((lp - lm) / (2 * h) - dx[i]!) / (1 + Math.abs(dx[i]!)))
  }
  return e
}

const CASES: { B: number; o: Pool2dOptions }[] = [
  { B: 2, o: { channels: 3, inputHeight: 5, inputWidth: 7, kernelSize: 2 } },
  { B: 1, o: { channels: 2, inputHeight: 7, inputWidth: 7, kernelSize: 3, stride: 1, padding: 1 } },
  { B: 3, o: { channels: 1, inputHeight: 9, inputWidth: 17, kernelSize: [2, 3], stride: [3, 2], padding: [1, 1] } },
  { B: 2, o: { channels: 4, inputHeight: 28, inputWidth: 28, kernelSize: 3, stride: 2, padding: 1 } },
  { B: 1, o: { channels: 1, inputHeight: 1, inputWidth: 1, kernelSize: 1 } },
]

t.test('MaxPool2d and AvgPool2d match plain pooling at every SIMD level', async (t) => {
  const rng = new Random(1)
  for (const level of LEVELS) {
    setSimd(level)
    for (const { B, o } of CASES) {
      const x = rng.fillNormal(new Float32Array(B * o.channels * o.inputHeight * o.inputWidth))
      const k = (typeof o.kernelSize === 'number' ? [o.kernelSize, o.kernelSize] : o.kernelSize) as [number, number]
      const s = (o.stride === undefined ? k : typeof o.stride === 'number' ? [o.stride, o.stride] : o.stride) as [
        number,
        number,
      ]
      const p = (
        o.padding === undefined ? [0, 0] : typeof o.padding === 'number' ? [o.padding, o.padding] : o.padding
      ) as [number, number]
      for (const max of [true, false]) {
        const m = max ? new MaxPool2d(o) : new AvgPool2d(o)
        const ref = refPool(x, B * o.channels, o.inputHeight, o.inputWidth, k, s, p, max)
        t.equal(m.outputHeight, ref.OH)
        t.equal(m.outputWidth, ref.OW)
        t.equal(m.outFeatures, o.channels * ref.OH * ref.OW)
        const y = m.forward(x, B)
        t.ok(maxErr(y, ref.y) < 1e-5, `${level} ${max ? 'max' : 'avg'} ${JSON.stringify(o)}: forward`)
        // Backward of max: dy routed to the reference argmax.
        const dy = rng.fillNormal(new Float32Array(y.length))
        const dx = m.backward(dy)
        const want = new Float64Array(x.length)
        const plane = o.inputHeight * o.inputWidth
        const outPlane = ref.OH * ref.OW
        for (let i = 0; i < dy.length; i++) {
          const pl = Math.floor(i / outPlane)
          if (max) want[pl * plane + ref.arg[i]!] += dy[i]!
        }
        if (max) t.ok(maxErr(dx, want) < 1e-5, `${level} max backward`)
      }
    }
  }
  setSimd('auto')
})

t.test('pooling and group norm gradients match central differences', async (t) => {
  const rng = new Random(2)
  for (const level of LEVELS) {
    setSimd(level)
    // Distinct values 0.05 apart keep the max pooling winners stable under a 0.01 step.
    const n = 2 * 2 * 6 * 5
    const x = new Float32Array(n).map((_, i) => 0.05 * ((i * 37) % n) - 1)
    const o = { channels: 2, inputHeight: 6, inputWidth: 5, kernelSize: 3, stride: 2, padding: 1 }
    t.ok(gradErr(new MaxPool2d(o), x, 2) < 2e-3, `${level}: MaxPool2d`)
    t.ok(gradErr(new AvgPool2d(o), x, 2) < 2e-3, `${level}: AvgPool2d`)
    t.ok(gradErr(new Downsample2d({ channels: 2, inputHeight: 6, inputWidth: 5, factor: 2 }), x, 2) < 2e-3)
    const gn = new GroupNorm({ groups: 2, channels: 4, spatial: 5 })
    rng.fillNormal(gn.weight!.data, 1, 0.3)
    rng.fillNormal(gn.bias!.data)
    t.ok(gradErr(gn, rng.fillNormal(new Float32Array(3 * 20)), 3) < 5e-3, `${level}: GroupNorm dx`)
    // dweight / dbias: L = sum(w .* y) is linear in bias and weight.
    const xg = rng.fillNormal(new Float32Array(3 * 20))
    const y = gn.forward(xg, 3)
    const w = rng.fillNormal(new Float32Array(y.length))
    gn.weight!.zeroGrad()
    gn.bias!.zeroGrad()
    gn.backward(w)
    for (let c = 0; c < 4; c++) {
      let db = 0
      let dg = 0
      for (let b = 0; b < 3; b++)
        for (let s = 0; s < 5; s++) {
          const i = b * 20 + c * 5 + s
          db += w[i]!
          dg += (w[i]! * (y[i]! - gn.bias!.data[c]!)) / gn.weight!.data[c]!
        }
      t.ok(Math.abs(gn.bias!.grad[c]! - db) < 1e-4 * (1 + Math.abs(db)), `${level}: dbias[${c}]`)
      t.ok(Math.abs(gn.weight!.grad[c]! - dg) < 1e-3 * (1 + Math.abs(dg)), `${level}: dweight[${c}]`)
    }
  }
  setSimd('auto')
})

t.test('GroupNorm matches a plain reference; Downsample2d and GlobalAvgPool2d are plane means', async (t) => {
  const rng = new Random(3)
  const B = 3
  const C = 6
  const G = 3
  const S = 17
  for (const level of LEVELS) {
    setSimd(level)
    const gn = new GroupNorm({ groups: G, channels: C, spatial: S, eps: 1e-5 })
    rng.fillNormal(gn.weight!.data, 1, 0.5)
    rng.fillNormal(gn.bias!.data)
    const x = rng.fillNormal(new Float32Array(B * C * S), 3, 2)
    const y = gn.forward(x, B)
    const want = new Float64Array(x.length)
    const n = (C / G) * S
    for (let b = 0; b < B; b++)
      for (let g = 0; g < G; g++) {
        const base = (b * C + (g * C) / G) * S
        let mu = 0
        for (let i = 0; i < n; i++) mu += x[base + i]!
        mu /= n
        let v = 0
        for (let i = 0; i < n; i++) v += (x[base + i]! - mu) ** 2
        const rs = 1 / Math.sqrt(v / n + 1e-5)
        for (let i = 0; i < n; i++) {
          const c = (g * C) / G + Math.floor(i / S)
          want[base + i] = (x[base + i]! - mu) * rs * gn.weight!.data[c]! + gn.bias!.data[c]!
        }
      }
    t.ok(maxErr(y, want) < 1e-4, `${level}: GroupNorm forward`)
    gn.training = false
    t.same(Array.from(gn.forward(x, B)), Array.from(y), `${level}: eval mode computes the same`)
    const gap = new GlobalAvgPool2d({ channels: 2, inputHeight: 4, inputWidth: 3 })
    t.equal(gap.outFeatures, 2)
    const xp = rng.fillNormal(new Float32Array(2 * 12))
    const g = gap.forward(xp, 1)
    t.ok(Math.abs(g[1]! - xp.subarray(12).reduce((a, b) => a + b, 0) / 12) < 1e-5)
    const ds = new Downsample2d({ channels: 1, inputHeight: 28, inputWidth: 28, factor: 4 })
    t.equal(ds.outputHeight, 7)
    t.equal(ds.outFeatures, 49)
  }
  setSimd('auto')
})

t.test('bad input -> stable codes', async (t) => {
  throwsCode(
    t,
    () => new MaxPool2d({ channels: 1, inputHeight: 4, inputWidth: 4, kernelSize: 5 }),
    ErrorCodes.DIM_MISMATCH,
    'kernel > input',
  )
  throwsCode(
    t,
    () => new AvgPool2d({ channels: 1, inputHeight: 4, inputWidth: 4, kernelSize: 2, padding: 2 }),
    ErrorCodes.INVALID_ARGUMENT,
    'padding > kernel / 2',
  )
  throwsCode(
    t,
    () => new MaxPool2d({ channels: 1, inputHeight: 4, inputWidth: 4, kernelSize: 0 }),
    ErrorCodes.INVALID_ARGUMENT,
    'kernel 0',
  )
  throwsCode(
    t,
    () => new MaxPool2d({ channels: 0, inputHeight: 4, inputWidth: 4, kernelSize: 2 }),
    ErrorCodes.DIM_MISMATCH,
    'channels 0',
  )
  throwsCode(
    t,
    () => new Downsample2d({ channels: 1, inputHeight: 4, inputWidth: 4, factor: 1.5 }),
    ErrorCodes.INVALID_ARGUMENT,
    'factor',
  )
  throwsCode(
    t,
    () => new GroupNorm({ groups: 4, channels: 6, spatial: 3 }),
    ErrorCodes.DIM_MISMATCH,
    'groups do not divide channels',
  )
  throwsCode(
    t,
    () => new GroupNorm({ groups: 2, channels: 6, spatial: 3, eps: 0 }),
    ErrorCodes.INVALID_ARGUMENT,
    'eps 0',
  )
  const mp = new MaxPool2d({ channels: 2, inputHeight: 4, inputWidth: 4, kernelSize: 2 })
  throwsCode(t, () => mp.forward(new Float32Array(31), 1), ErrorCodes.DIM_MISMATCH, 'channel mismatch (wrong length)')
  throwsCode(t, () => mp.backward(new Float32Array(8)), ErrorCodes.INVALID_ARGUMENT, 'backward before forward')
  const nan = new Float32Array(32)
  nan[7] = Number.NaN
  throwsCode(t, () => mp.forward(nan, 1), ErrorCodes.NON_FINITE, 'NaN into MaxPool2d')
  throwsCode(
    t,
    () => new AvgPool2d({ channels: 2, inputHeight: 4, inputWidth: 4, kernelSize: 2 }).forward(nan, 1),
    ErrorCodes.NON_FINITE,
    'NaN into AvgPool2d',
  )
  const gn = new GroupNorm({ groups: 2, channels: 2, spatial: 16 })
  throwsCode(t, () => gn.forward(nan, 1), ErrorCodes.NON_FINITE, 'NaN into GroupNorm')
  mp.forward(new Float32Array(32), 1)
  throwsCode(t, () => mp.backward(new Float32Array(9)), ErrorCodes.DIM_MISMATCH, 'dy of the wrong length')
  throwsCode(
    t,
    () => mp.forward(new Float64Array(32) as unknown as Float32Array, 1),
    ErrorCodes.INVALID_TYPE,
    'Float64Array',
  )
})
