/**
 * Group normalisation over NCHW feature maps (Wu & He, ECCV 2018), on the native part `spatial`.
 *
 * Why group norm and not batch norm for the ranking towers: a triplet batch is small and its rows
 * are correlated by construction (anchors, their positives and negatives, several per class), so
 * batch statistics would leak between a triplet's three roles and change with the miner's choice
 * of rows; and serving embeds one query at a time, where batch norm has to switch to running
 * averages the training never used. Group norm normalises each image on its own, so training and
 * serving compute the same function (the `training` flag exists for the module contract of
 * lib/temporal/tcn.ts and changes nothing here).
 */
import { callNative, ErrorCodes, SimsageError } from '../errors.js'
import { binding } from '../native/binding.js'
import { checkBool, checkF32, checkNumber, describe } from '../validate.js'
import { Parameter, Scratch, type Module } from './module.js'
import { checkBatchSize, checkFeatures, needForward } from './validate.js'

/** Options of {@link GroupNorm}. */
export interface GroupNormOptions {
  /** G: channels are split into G groups of C / G consecutive channels (G must divide C). */
  groups: number
  /** C. */
  channels: number
  /** S = H * W, pixels per channel. */
  spatial: number
  /** Added to the variance (default 1e-5, PyTorch's). */
  eps?: number
  /** Learn a per-channel scale (weight, init 1) and shift (bias, init 0). Default true. */
  affine?: boolean
}

/**
 * torch.nn.GroupNorm: per image and group, over its (C / G) x S values,
 * y = (x - mean) / sqrt(var + eps) * weight[c] + bias[c] (biased variance). A row is one image,
 * C x S floats (NCHW). NaN / Inf in x: ERR_SIMSAGE_NON_FINITE; G not dividing C:
 * ERR_SIMSAGE_DIM_MISMATCH.
 */
export class GroupNorm implements Module {
  readonly groups: number
  readonly channels: number
  readonly spatial: number
  readonly eps: number
  /** C * S. */
  readonly inFeatures: number
  /** C * S. */
  readonly outFeatures: number
  /** [channels], init 1; undefined without affine. */
  readonly weight: Parameter | undefined
  /** [channels], init 0; undefined without affine. */
  readonly bias: Parameter | undefined
  /** Train / eval switch of the module contract; group norm computes the same in both. */
  training = true
  #y = new Scratch()
  #dx = new Scratch()
  #mean = new Scratch()
  #rstd = new Scratch()
  #x: Float32Array | undefined
  #batch = 0

  constructor(options: GroupNormOptions) {
    if (options === null || typeof options !== 'object') {
      throw new SimsageError(
        ErrorCodes.INVALID_ARGUMENT,
        `GroupNorm options must be an object, got ${describe(options)}`,
      )
    }
    this.channels = checkFeatures(options.channels, 'channels')
    this.groups = checkFeatures(options.groups, 'groups')
    this.spatial = checkFeatures(options.spatial, 'spatial')
    if (this.channels % this.groups !== 0) {
      throw new SimsageError(
        ErrorCodes.DIM_MISMATCH,
        `GroupNorm: ${this.groups} groups do not divide ${this.channels} channels`,
      )
    }
    this.eps = options.eps === undefined ? 1e-5 : checkNumber(options.eps, 'eps', 0, Number.MAX_VALUE, true)
    const affine = options.affine === undefined ? true : checkBool(options.affine, 'affine')
    this.inFeatures = this.outFeatures = this.channels * this.spatial
    if (affine) {
      this.weight = new Parameter('weight', [this.channels], new Float32Array(this.channels).fill(1))
      this.bias = new Parameter('bias', [this.channels])
    }
  }

  #dims(batch: number) {
    return { batch, channels: this.channels, groups: this.groups, spatial: this.spatial }
  }

  /** @param x batch x (C*S). @returns batch x (C*S). */
  forward(x: Float32Array, batch: number): Float32Array {
    checkBatchSize(batch)
    checkF32(x, 'x', batch * this.inFeatures, `batch ${batch} x C*S ${this.inFeatures}`)
    const y = this.#y.get(x.length)
    const args = {
      ...this.#dims(batch),
      x,
      gamma: this.weight?.data,
      beta: this.bias?.data,
      y,
      mean: this.#mean.get(batch * this.groups),
      rstd: this.#rstd.get(batch * this.groups),
      eps: this.eps,
    }
    callNative(() => binding().nnGroupNormForward(args))
    this.#x = x
    this.#batch = batch
    return y
  }

  /** @param dy batch x (C*S). @returns dX; adds to weight.grad and bias.grad. */
  backward(dy: Float32Array): Float32Array {
    needForward(this.#x !== undefined, 'GroupNorm')
    const batch = this.#batch
    checkF32(dy, 'dy', batch * this.inFeatures)
    const dx = this.#dx.get(dy.length)
    const args = {
      ...this.#dims(batch),
      x: this.#x!,
      gamma: this.weight?.data,
      mean: this.#mean.get(batch * this.groups),
      rstd: this.#rstd.get(batch * this.groups),
      dy,
      dx,
      dgamma: this.weight?.grad,
      dbeta: this.bias?.grad,
      accumulate: true,
    }
    callNative(() => binding().nnGroupNormBackward(args))
    return dx
  }

  parameters(): Parameter[] {
    return this.weight && this.bias ? [this.weight, this.bias] : []
  }
}
