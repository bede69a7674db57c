/**
 * OmniSearchSage's training loss: a sampled softmax over in-batch and random negatives with a
 * learned temperature, logQ correction, masked false negatives and optional nested-prefix
 * (Matryoshka) terms.
 *
 * Inputs per step: query tower outputs q [B, D] and candidate entity outputs c [M, D] (M ≥ B),
 * both before normalisation; candidate r < B is query r's positive, candidates B..M−1 are random
 * negatives. For every prefix length m of `prefixes` (default [D]):
 *   q̂ = q[:, :m] / ‖q[:, :m]‖,  ĉ = c[:, :m] / ‖c[:, :m]‖
 *   logit[r, j] = s · q̂_r · ĉ_j − logQ[j],   s = min(exp(θ), maxScale)
 *   logit[r, j] = −∞ where ids[j] = ids[r] and j ≠ r (the same entity as the positive: a false
 *   negative, e.g. two queries of the batch with one positive)
 *   L_m = mean_r −log softmax(logit[r])[r]
 * and the loss is Σ_m L_m. θ is the learned log-scale, initialised to ln(1 / initialTemperature)
 * (0.07 → s ≈ 14.3), with s capped at maxScale (100, as CLIP); when capped θ gets no gradient.
 * logQ[j] is log of candidate j's expected number of draws (Yi et al. 2019): for in-batch
 * candidates B · p(entity), for random ones R / N plus that; {@link expectedDrawsLogQ} computes it.
 */
import { callNative, ErrorCodes, SimsageError } from '../errors.js'
import { binding } from '../native/binding.js'
import { Parameter, Scratch } from '../nn/module.js'

/** Options of {@link SampledSoftmaxLoss}. */
export interface SampledSoftmaxOptions {
  /** Initial temperature 1/s (default 0.07). */
  initialTemperature?: number
  /** Cap of the logit scale s (default 100). */
  maxScale?: number
  /** Nested prefix lengths (each in [1, dim], increasing); default [dim]. */
  prefixes?: number[]
  /** Learn θ (default true); false keeps s at 1/initialTemperature. */
  learnTemperature?: boolean
}

/** Result of one {@link SampledSoftmaxLoss.step}: buffers owned by the loss, valid until the next step. */
export interface SampledSoftmaxStep {
  loss: number
  /** dL/dq [B, D]. */
  dq: Float32Array
  /** dL/dc [M, D]. */
  dc: Float32Array
}

/** log(B · p_j + R / N) per candidate: expected draws under in-batch (by frequency) + uniform sampling. */
export function expectedDrawsLogQ(frequency: ArrayLike<number>, batch: number, randoms: number, catalog: number) {
  const out = new Float32Array(frequency.length)
  for (let j = 0; j < out.length; j++) out[j] = Math.log(batch * frequency[j] + randoms / catalog + 1e-12)
  return out
}

/** Normalises rows[:, :m] of an n x d matrix into out (n x m); writes each row's norm. */
function normalizePrefix(x: Float32Array, n: number, d: number, m: number, out: Float32Array, norms: Float64Array) {
  for (let r = 0; r < n; r++) {
    let s = 0
    for (let k = 0; k < m; k++) s += x[r * d + k] * x[r * d + k]
    const norm = Math.max(Math.sqrt(s), 1e-12)
    norms[r] = norm
    for (let k = 0; k < m; k++) out[r * m + k] = x[r * d + k] / norm
  }
}

/** dx[:, :m] += (dy − ŷ (ŷ·dy)) / ‖x‖ (the L2 normalisation's backward). */
function normalizeBackward(
  y: Float32Array,
  dy: Float32Array,
  norms: Float64Array,
  n: number,
  d: number,
  m: number,
  dx: Float32Array,
) {
  for (let r = 0; r < n; r++) {
    let dot = 0
    for (let k = 0; k < m; k++) dot += y[r * m + k] * dy[r * m + k]
    const inv = 1 / norms[r]
    for (let k = 0; k < m; k++) dx[r * d + k] += (dy[r * m + k] - y[r * m + k] * dot) * inv
  }
}

/** The loss of the file comment, with its gradients. */
export class SampledSoftmaxLoss {
  readonly dim: number
  readonly maxScale: number
  readonly prefixes: readonly number[]
  readonly learnTemperature: boolean
  /** θ, the log of the logit scale: [1]. */
  readonly logScale: Parameter
  #qn = new Scratch()
  #cn = new Scratch()
  #qnorm = new Float64Array(0)
  #cnorm = new Float64Array(0)
  #logits = new Scratch()
  #dqn = new Scratch()
  #dcn = new Scratch()
  #dq = new Scratch()
  #dc = new Scratch()

  constructor(dim: number, options: SampledSoftmaxOptions = {}) {
    if (!Number.isInteger(dim) || dim < 1)
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `dim must be a positive integer, got ${dim}`)
    const t = options.initialTemperature ?? 0.07
    const cap = options.maxScale ?? 100
    if (!(t > 0 && Number.isFinite(t)))
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `initialTemperature must be > 0, got ${t}`)
    if (!(cap > 0 && Number.isFinite(cap)))
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `maxScale must be > 0, got ${cap}`)
    const prefixes = options.prefixes ?? [dim]
    if (
      !Array.isArray(prefixes) ||
      prefixes.length === 0 ||
      prefixes.some((m, i) => !Number.isInteger(m) || m < 1 || m > dim || (i > 0 && m <= prefixes[i - 1]))
    ) {
      throw new SimsageError(
        ErrorCodes.INVALID_ARGUMENT,
        `prefixes must be increasing integers in [1, ${dim}], got ${JSON.stringify(prefixes)}`,
      )
    }
    this.dim = dim
    this.maxScale = cap
    this.prefixes = Object.freeze(prefixes.slice())
    this.learnTemperature = options.learnTemperature ?? true
    this.logScale = new Parameter('log_scale', [1], Float32Array.of(Math.log(1 / t)))
  }

  /** The current logit scale s = min(exp(θ), maxScale). */
  get scale(): number {
    return Math.min(Math.exp(this.logScale.data[0]), this.maxScale)
  }

  /** Trainable parameters: θ when learnTemperature, else none. */
  parameters(): Parameter[] {
    return this.learnTemperature ? [this.logScale] : []
  }

  /**
   * One step (see the file comment). `ids` (length M) are the candidates' entity ids, for masking;
   * `logQ` (length M, optional) the per-candidate correction; `mask` (B x M, optional) marks more
   * false negatives (1: candidate j is also a positive of query r, e.g. a known training pair).
   * Adds into logScale.grad.
   */
  step(
    q: Float32Array,
    c: Float32Array,
    batch: number,
    candidates: number,
    ids: ArrayLike<number>,
    logQ?: Float32Array,
    mask?: Uint8Array,
  ): SampledSoftmaxStep {
    const D = this.dim
    const B = batch
    const M = candidates
    if (!Number.isInteger(B) || B < 1 || !Number.isInteger(M) || M < B) {
      throw new SimsageError(
        ErrorCodes.INVALID_ARGUMENT,
        `need 1 <= batch <= candidates, got batch ${B}, candidates ${M}`,
      )
    }
    if (!(q instanceof Float32Array) || !(c instanceof Float32Array)) {
      throw new SimsageError(ErrorCodes.INVALID_TYPE, 'q and c must be Float32Arrays')
    }
    if (
      q.length !== B * D ||
      c.length !== M * D ||
      ids.length !== M ||
      (logQ && logQ.length !== M) ||
      (mask && mask.length !== B * M)
    ) {
      throw new SimsageError(
        ErrorCodes.DIM_MISMATCH,
        `q must be ${B} x ${D}, c ${M} x ${D}, ids and logQ ${M} long, mask ${B} x ${M}; got ${q.length}, ${c.length}, ${ids.length}, ${logQ?.length}`,
      )
    }
    for (const [name, v] of [
      ['q', q],
      ['c', c],
    ] as const) {
      for (let i = 0; i < v.length; i++) {
        if (!Number.isFinite(v[i])) throw new SimsageError(ErrorCodes.NON_FINITE, `${name}[${i}] is ${v[i]}`)
      }
    }
    const s = this.scale
    const capped = Math.exp(this.logScale.data[0]) > this.maxScale
    const dq = this.#dq.get(B * D).fill(0)
    const dc = this.#dc.get(M * D).fill(0)
    if (this.#qnorm.length < B) this.#qnorm = new Float64Array(B)
    if (this.#cnorm.length < M) this.#cnorm = new Float64Array(M)
    let loss = 0
    let dScale = 0
    for (const m of this.prefixes) {
      const qn = this.#qn.get(B * m)
      const cn = this.#cn.get(M * m)
      normalizePrefix(q, B, D, m, qn, this.#qnorm)
      normalizePrefix(c, M, D, m, cn, this.#cnorm)
      const cos = this.#logits.get(B * M)
      callNative(() => binding().nnLinearForward({ x: qn, w: cn, y: cos, batch: B, inFeatures: m, outFeatures: M }))
      // Softmax rows; g = (softmax − onehot) / B overwrites cos after its use in dScale.
      for (let r = 0; r < B; r++) {
        const o = r * M
        const own = ids[r]
        let max = Number.NEGATIVE_INFINITY
        for (let j = 0; j < M; j++) {
          const masked = j !== r && (ids[j] === own || (mask !== undefined && mask[o + j] === 1))
          const z = masked ? Number.NEGATIVE_INFINITY : s * cos[o + j] - (logQ ? logQ[j] : 0)
          if (z > max) max = z
        }
        let sum = 0
        for (let j = 0; j < M; j++) {
          const masked = j !== r && (ids[j] === own || (mask !== undefined && mask[o + j] === 1))
          sum += masked ? 0 : Math.exp(s * cos[o + j] - (logQ ? logQ[j] : 0) - max)
        }
        const zr = s * cos[o + r] - (logQ ? logQ[r] : 0)
        loss += (Math.log(sum) + max - zr) / B
        for (let j = 0; j < M; j++) {
          const masked = j !== r && (ids[j] === own || (mask !== undefined && mask[o + j] === 1))
          const p = masked ? 0 : Math.exp(s * cos[o + j] - (logQ ? logQ[j] : 0) - max) / sum
          const g = (p - (j === r ? 1 : 0)) / B
          dScale += g * cos[o + j]
          cos[o + j] = g * s // dL/d(q̂·ĉ)
        }
      }
      const dqn = this.#dqn.get(B * m)
      const dcn = this.#dcn.get(M * m)
      callNative(() =>
        binding().nnLinearBackward({
          x: qn,
          w: cn,
          dy: cos,
          dx: dqn,
          dw: dcn,
          batch: B,
          inFeatures: m,
          outFeatures: M,
        }),
      )
      normalizeBackward(qn, dqn, this.#qnorm, B, D, m, dq)
      normalizeBackward(cn, dcn, this.#cnorm, M, D, m, dc)
    }
    if (this.learnTemperature && !capped) this.logScale.grad[0] += dScale * s
    return { loss, dq, dc }
  }
}
