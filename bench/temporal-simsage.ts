/**
 * simsage's temporal family as `simsage bench temporal` drives it: a causal conv, a TCN and a GRU
 * built from the package entry with seeded weights, their weights read back in the layouts the
 * onnxruntime graphs and the plain loops take, and their streams. One adapter, so the benchmark
 * body does not depend on the classes' option names. Where simsage or its temporal classes cannot
 * load, `loadTemporal` resolves to the reason and the benchmark runs the peers alone.
 */
import type { ConvWeights, GruWeights, TcnBlockWeights } from './peers/onnxTemporal.js'
import { loadSimsage, type SimsageApi } from './simsageApi.js'

/** A sequence model over channels-last x [B, T, C_in] → y [B, T, C_out]. */
export interface SeqModel {
  /** y [B, T, C_out]: the model's own buffer, valid until the next forward. */
  forward(x: Float32Array, batch: number, steps: number): Float32Array
  /** dL/dx from dL/dy of the most recent forward (parameter gradients are added to). */
  backward(dy: Float32Array): Float32Array
}

/** Many streams stepped together: x [n, C_in] → y [n, C_out]. */
export interface StreamSet {
  step(x: Float32Array): Float32Array
  dispose(): void
}

export interface ConvModel extends SeqModel {
  readonly weights: ConvWeights
}
export interface TcnModel extends SeqModel {
  readonly blocks: TcnBlockWeights[]
  readonly receptiveField: number
  stream(n: number): StreamSet
}
export interface GruModel extends SeqModel {
  readonly weights: GruWeights
  stream(n: number): StreamSet
}

/** What the benchmark needs from simsage. */
export interface TemporalApi {
  readonly api: SimsageApi
  setThreads(threads: number): void
  conv(o: { channels: number; kernelSize: number; dilation: number; seed: number }): ConvModel
  tcn(o: { channels: number; blocks: number; kernelSize: number; dilations: readonly number[]; seed: number }): TcnModel
  gru(o: { inputSize: number; hiddenSize: number; seed: number }): GruModel
}

/** mulberry32: a seeded uniform [0, 1) source for simsage's `rng` options. */
export function seededRng(seed: number): { next(): number } {
  let s = seed >>> 0
  return {
    next() {
      s = (s + 0x6d2b79f5) >>> 0
      let t = s
      t = Math.imul(t ^ (t >>> 15), t | 1)
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296
    },
  }
}

interface Param {
  readonly name: string
  readonly shape: readonly number[]
  readonly data: Float32Array
}

/** The parameter whose name ends with `suffix` (containers prefix names), or an error naming the ones there are. */
function param(params: readonly Param[], suffix: string, optional = false): Float32Array | undefined {
  const hit = params.filter((p) => p.name === suffix || p.name.endsWith(`.${suffix}`))
  if (hit.length === 1) return hit[0].data
  if (hit.length === 0 && optional) return undefined
  throw new Error(`simsage parameter "${suffix}": ${hit.length} matches in [${params.map((p) => p.name).join(', ')}]`)
}

/** Loads simsage and checks that the temporal classes are there. */
export async function loadTemporal(): Promise<TemporalApi | string> {
  const api = await loadSimsage()
  if (typeof api === 'string') return api
  const m = api as unknown as Record<string, unknown>
  const missing = ['CausalConv1d', 'TCN'].filter((n) => typeof m[n] !== 'function')
  if (missing.length > 0) return `simsage has no ${missing.join(', ')} (temporal family not in this build)`
  return makeApi(api)
}

/** Builds the adapter over the loaded package. */
function makeApi(api: SimsageApi): TemporalApi {
  // biome-ignore lint/suspicious/noExplicitAny: the classes are checked for existence in loadTemporal
  const m = api as any
  return {
    api,
    setThreads: (t) => void api.setThreads(t),
    conv(o) {
      const conv = new m.CausalConv1d(o.channels, o.channels, {
        kernelSize: o.kernelSize,
        dilation: o.dilation,
        rng: seededRng(o.seed),
      })
      const ps = conv.parameters() as Param[]
      return {
        forward: (x, b, t) => conv.forward(x, b, t),
        backward: (dy) => conv.backward(dy),
        weights: {
          inChannels: o.channels,
          outChannels: o.channels,
          kernelSize: o.kernelSize,
          dilation: o.dilation,
          weight: param(ps, 'weight') as Float32Array,
          bias: param(ps, 'bias', true),
        },
      }
    },
    tcn(o) {
      const tcn = new m.TCN({
        inputSize: o.channels,
        channels: Array.from({ length: o.blocks }, () => o.channels),
        kernelSize: o.kernelSize,
        dilations: [...o.dilations],
        dropout: 0,
        rng: seededRng(o.seed),
      })
      tcn.training = false
      const ps = tcn.parameters() as Param[]
      const blocks: TcnBlockWeights[] = o.dilations.map((d, i) => {
        const conv = (j: number): ConvWeights => ({
          inChannels: o.channels,
          outChannels: o.channels,
          kernelSize: o.kernelSize,
          dilation: d,
          weight: param(ps, `${i}.conv${j}.weight`) as Float32Array,
          bias: param(ps, `${i}.conv${j}.bias`, true),
        })
        return { conv1: conv(1), conv2: conv(2) }
      })
      return {
        forward: (x, b, t) => tcn.forward(x, b, t),
        backward: (dy) => tcn.backward(dy),
        blocks,
        receptiveField: tcn.receptiveField as number,
        stream(n) {
          const s = tcn.stream(n)
          return { step: (x) => s.step(x), dispose: () => s.dispose() }
        },
      }
    },
    gru(o) {
      if (typeof m.GRU !== 'function') throw new Error('simsage has no GRU (not in this build)')
      const gru = new m.GRU({ inputSize: o.inputSize, hiddenSize: o.hiddenSize, layers: 1, rng: seededRng(o.seed) })
      const ps = gru.parameters() as Param[]
      return {
        forward: (x, b, t) => gru.forward(x, b, t),
        backward: (dy) => gru.backward(dy),
        weights: {
          inputSize: o.inputSize,
          hiddenSize: o.hiddenSize,
          weightIh: param(ps, 'weight_ih_l0') as Float32Array,
          weightHh: param(ps, 'weight_hh_l0') as Float32Array,
          biasIh: param(ps, 'bias_ih_l0') as Float32Array,
          biasHh: param(ps, 'bias_hh_l0') as Float32Array,
        },
        stream(n) {
          const s = gru.stream(n)
          return { step: (x) => s.step(x), dispose: () => s.dispose() }
        },
      }
    },
  }
}
