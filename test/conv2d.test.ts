// lib/nn Conv2d from JS: forward and backward against a plain float64 reference at awkward sizes
// (channels 1, 3, 17; odd sizes, strides, paddings, dilations) at every SIMD level, gradients
// against central differences of the reference loss, and bad input -> stable codes.
import t from 'tap'

import { ErrorCodes } from '../lib/errors.js'
import { setSimd } from '../lib/info.js'
import { Conv2d, type Conv2dOptions, Random } from '../lib/nn/index.js'
import { throwsCode } from './fixtures/assert.js'

type Arr = ArrayLike<number>

interface Geo {
  B: number
  C: number
  O: number
  H: number
  W: number
  kh: number
  kw: number
  sh: number
  sw: number
  ph: number
  pw: number
  dh: number
  dw: number
}

function geo(conv: Conv2d, B: number): Geo {
  return {
    B,
    C: conv.inChannels,
    O: conv.outChannels,
    H: conv.inputHeight,
    W: conv.inputWidth,
    kh: conv.kernelSize[0],
    kw: conv.kernelSize[1],
    sh: conv.stride[0],
    sw: conv.stride[1],
    ph: conv.padding[0],
    pw: conv.padding[1],
    dh: conv.dilation[0],
    dw: conv.dilation[1],
  }
}

/** Calls fn(xIndex, wIndex, yIndex) for every term of the convolution inside the image. */
function eachTerm(g: Geo, OH: number, OW: number, fn: (xi: number, wi: number, yi: number) => void): void {
  for (let b = 0; b < g.B; b++)
    for (let o = 0; o < g.O; o++)
      for (let i = 0; i < OH; i++)
        for (let j = 0; j < OW; j++)
          for (let c = 0; c < g.C; c++)
            for (let a = 0; a < g.kh; a++) {
              const u = i * g.sh - g.ph + a * g.dh
              if (u < 0 || u >= g.H) continue
              for (let e = 0; e < g.kw; e++) {
                const v = j * g.sw - g.pw + e * g.dw
                if (v < 0 || v >= g.W) continue
                fn(
                  ((b * g.C + c) * g.H + u) * g.W + v,
                  ((o * g.C + c) * g.kh + a) * g.kw + e,
                  ((b * g.O + o) * OH + i) * OW + j,
                )
              }
            }
}

function refForward(g: Geo, OH: number, OW: number, x: Arr, w: Arr, bias: Arr | undefined): Float64Array {
  const y = new Float64Array(g.B * g.O * OH * OW)
  if (bias) for (let yi = 0; yi < y.length; yi++) y[yi] = bias[Math.floor(yi / (OH * OW)) % g.O]!
  eachTerm(g, OH, OW, (xi, wi, yi) => {
    y[yi] = y[yi]! + w[wi]! * x[xi]!
  })
  return y
}

function maxRelErr(a: Arr, b: Arr): number {
  let e = 0
  let m = 1
  for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs(b[i]!))
  for (let i = 0; i < a.length; i++) e = Math.max(e, Math.abs(a[i]! - b[i]!))
  return e / m
}

const CASES: Omit<Conv2dOptions, 'rng'>[] = [
  { inChannels: 1, outChannels: 3, inputHeight: 7, inputWidth: 13, kernelSize: 3, padding: 1 },
  {
    inChannels: 3,
    outChannels: 17,
    inputHeight: 13,
    inputWidth: 7,
    kernelSize: [5, 2],
    stride: [2, 3],
    padding: [2, 0],
  },
  { inChannels: 17, outChannels: 3, inputHeight: 2, inputWidth: 7, kernelSize: 2, dilation: [1, 2], padding: 1 },
  { inChannels: 3, outChannels: 1, inputHeight: 1, inputWidth: 1, kernelSize: 1, bias: false },
  {
    inChannels: 5,
    outChannels: 33,
    inputHeight: 13,
    inputWidth: 13,
    kernelSize: 3,
    stride: 3,
    dilation: 2,
    padding: 2,
  },
  { inChannels: 2, outChannels: 32, inputHeight: 14, inputWidth: 14, kernelSize: 3, stride: 2, padding: 1 },
]

t.test('Conv2d matches a float64 reference at every SIMD level, forward and backward', (t) => {
  setSimd('auto')
  const levels = (['scalar', 'avx2', 'avx512'] as const).filter((l) => setSimd(l) === l)
  setSimd('auto')
  t.ok(levels.includes('scalar'), 'the scalar level is always there')
  const rng = new Random(5)
  for (const level of levels) {
    setSimd(level)
    for (const opts of CASES) {
      const B = 3
      const conv = new Conv2d({ ...opts, rng })
      const g = geo(conv, B)
      const OH = conv.outputHeight
      const OW = conv.outputWidth
      const x = rng.fillNormal(new Float32Array(B * conv.inFeatures), 0, 1)
      const y = conv.forward(x, B)
      t.equal(y.length, B * conv.outFeatures, 'output length')
      const want = refForward(g, OH, OW, x, conv.weight.data, conv.bias?.data)
      const what = `${level} ${JSON.stringify(opts)}`
      t.ok(maxRelErr(y, want) < 1e-5, `forward ${what}`)
      // L = sum(dy .* y): dx[xi] = sum dy[yi] w[wi], dw[wi] = sum dy[yi] x[xi], db[o] = sum dy[b, o]
      const dy = rng.fillNormal(new Float32Array(y.length), 0, 1)
      const dx = conv.backward(dy)
      const dxRef = new Float64Array(x.length)
      const dwRef = new Float64Array(conv.weight.size)
      eachTerm(g, OH, OW, (xi, wi, yi) => {
        dxRef[xi] = dxRef[xi]! + dy[yi]! * conv.weight.data[wi]!
        dwRef[wi] = dwRef[wi]! + dy[yi]! * x[xi]!
      })
      t.ok(maxRelErr(dx, dxRef) < 1e-5, `dx ${what}`)
      t.ok(maxRelErr(conv.weight.grad, dwRef) < 1e-5, `dw ${what}`)
      if (conv.bias) {
        const dbRef = new Float64Array(g.O)
        for (let yi = 0; yi < dy.length; yi++) {
          const o = Math.floor(yi / (OH * OW)) % g.O
          dbRef[o] = dbRef[o]! + dy[yi]!
        }
        t.ok(maxRelErr(conv.bias.grad, dbRef) < 1e-5, `db ${what}`)
      }
    }
  }
  setSimd('auto')
  t.end()
})

t.test('Conv2d gradients match central differences; backward accumulates; inputGrad false', (t) => {
  const rng = new Random(9)
  const opts = { inChannels: 2, outChannels: 3, inputHeight: 6, inputWidth: 5, kernelSize: [3, 2] as [number, number] }
  const geometry = { stride: [2, 1], padding: [1, 0], dilation: [1, 2] } as const
  const conv = new Conv2d({ ...opts, ...geometry, rng })
  const B = 2
  const g = geo(conv, B)
  const x = rng.fillNormal(new Float32Array(B * conv.inFeatures), 0, 1)
  conv.forward(x, B)
  const dy = rng.fillNormal(new Float32Array(B * conv.outFeatures), 0, 1)
  const dx = conv.backward(dy).slice()
  const xd = Float64Array.from(x)
  const wd = Float64Array.from(conv.weight.data)
  const bd = Float64Array.from(conv.bias!.data)
  const loss = () => {
    const y = refForward(g, conv.outputHeight, conv.outputWidth, xd, wd, bd)
    let s = 0
    for (let i = 0; i < y.length; i++) s += dy[i]! * y[i]!
    return s
  }
  const check = (what: string, param: Float64Array, grad: Arr) => {
    let worst = 0
    for (let i = 0; i < param.length; i++) {
      const keep = param[i]!
      param[i] = keep + 1e-3
      const lp = loss()
      param[i] = keep - 1e-3
      const lm = loss()
      param[i] = keep
      worst = Math.max(worst, Math.abs((lp - lm) / 2e-3 - grad[i]!))
    }
    t.ok(worst < 1e-3, `${what}: worst ${worst}`)
  }
  check('dx', xd, dx)
  check('dw', wd, conv.weight.grad)
  check('db', bd, conv.bias!.grad)
  const once = conv.weight.grad.slice()
  conv.backward(dy)
  t.ok(
    conv.weight.grad.every((v, i) => Math.abs(v - 2 * once[i]!) <= 1e-5 * (1 + Math.abs(v))),
    'a second backward adds to the gradient',
  )
  const first = new Conv2d({ ...opts, ...geometry, inputGrad: false, rng })
  first.forward(x, B)
  t.equal(first.backward(dy).length, 0, 'inputGrad false: empty dx')
  t.same(first.parameters(), [first.weight, first.bias], 'parameters: weight, bias')
  t.end()
})

t.test('Conv2d rejects bad input with stable codes', (t) => {
  const base = { inChannels: 2, outChannels: 3, inputHeight: 5, inputWidth: 4, kernelSize: 3 }
  const mk = (o: Record<string, unknown>) => () => new Conv2d({ ...base, ...o } as unknown as Conv2dOptions)
  throwsCode(t, mk({ kernelSize: 6 }), ErrorCodes.DIM_MISMATCH, 'kernel larger than the input')
  throwsCode(t, mk({ kernelSize: 3, dilation: 3 }), ErrorCodes.DIM_MISMATCH, 'dilated kernel larger than the input')
  throwsCode(t, mk({ inChannels: 0 }), ErrorCodes.DIM_MISMATCH, 'zero channels')
  throwsCode(t, mk({ inputWidth: 2.5 }), ErrorCodes.DIM_MISMATCH, 'fractional width')
  throwsCode(t, mk({ kernelSize: 0 }), ErrorCodes.INVALID_ARGUMENT, 'kernel 0')
  throwsCode(t, mk({ stride: [1] }), ErrorCodes.INVALID_ARGUMENT, 'stride of one element')
  throwsCode(t, mk({ stride: 0 }), ErrorCodes.INVALID_ARGUMENT, 'stride 0')
  throwsCode(t, mk({ padding: -1 }), ErrorCodes.INVALID_ARGUMENT, 'negative padding')
  throwsCode(t, mk({ dilation: 1.5 }), ErrorCodes.INVALID_ARGUMENT, 'fractional dilation')
  throwsCode(t, mk({ rng: {} }), ErrorCodes.INVALID_ARGUMENT, 'rng without next')
  throwsCode(t, () => new Conv2d(null as unknown as Conv2dOptions), ErrorCodes.INVALID_ARGUMENT, 'no options')
  const conv = new Conv2d({ ...base, padding: 1, rng: new Random(1) })
  throwsCode(t, () => conv.backward(new Float32Array(conv.outFeatures)), ErrorCodes.INVALID_ARGUMENT, 'backward first')
  throwsCode(t, () => conv.forward(new Float32Array(conv.inFeatures - 1), 1), ErrorCodes.DIM_MISMATCH, 'short x')
  throwsCode(t, () => conv.forward(new Float32Array(conv.inFeatures), 2), ErrorCodes.DIM_MISMATCH, 'channel mismatch')
  throwsCode(t, () => conv.forward(new Float32Array(conv.inFeatures), -1), ErrorCodes.INVALID_ARGUMENT, 'batch -1')
  const x = new Float32Array(2 * conv.inFeatures)
  x[7] = Number.NaN
  throwsCode(t, () => conv.forward(x, 2), ErrorCodes.NON_FINITE, 'NaN in x')
  x[7] = 0
  conv.forward(x, 2)
  throwsCode(t, () => conv.backward(new Float32Array(conv.outFeatures)), ErrorCodes.DIM_MISMATCH, 'short dy')
  const dy = new Float32Array(2 * conv.outFeatures)
  dy[3] = Number.POSITIVE_INFINITY
  throwsCode(t, () => conv.backward(dy), ErrorCodes.NON_FINITE, 'Infinity in dy')
  t.equal(conv.forward(new Float32Array(0), 0).length, 0, 'an empty batch')
  t.end()
})
