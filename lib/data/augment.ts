/**
 * Seeded image augmentation for training batches (Deep Ranking-style towers on NCHW rows):
 * a random crop of the zero-padded image (pad p on every side, crop back to H x W, i.e. a shift
 * by (dy, dx) in [-p, p]^2 with zeros shifted in) and a horizontal flip with probability 1/2.
 * {@link ImageAugmenter.apply} transforms a batch buffer in place; the draws come from the
 * augmenter's own generator, so a seed fixes every batch's transforms (and the training loop's
 * other random draws are unaffected).
 */
import { ErrorCodes, SimsageError } from '../errors.js'
import { checkF32, describe } from '../validate.js'
import { Random } from '../random.js'

/** Options of {@link ImageAugmenter}. */
export interface ImageAugmentOptions {
  /** C. */
  channels: number
  /** H, pixels. */
  height: number
  /** W, pixels. */
  width: number
  /** Zero padding p of the random crop (shift in [-p, p] per axis); 0 disables cropping. Default 2. */
  padding?: number
  /** Flip left-right with probability 1/2 (default true). */
  flip?: boolean
  /** Seed of the transforms (default 1). */
  seed?: number
}

function checkInt(v: unknown, name: string, lo: number, hi: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
    throw new SimsageError(
      ErrorCodes.INVALID_ARGUMENT,
      `${name} must be an integer in [${lo}, ${hi}], got ${describe(v)}`,
    )
  }
  return v
}

/** Random crop-with-padding and horizontal flip over a batch of C x H x W rows, seeded. */
export class ImageAugmenter {
  readonly channels: number
  readonly height: number
  readonly width: number
  readonly padding: number
  readonly flip: boolean
  #rng: Random
  #tmp: Float32Array

  constructor(o: ImageAugmentOptions) {
    if (o === null || typeof o !== 'object') {
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `augment options must be an object, got ${describe(o)}`)
    }
    this.channels = checkInt(o.channels, 'channels', 1, 1 << 24)
    this.height = checkInt(o.height, 'height', 1, 1 << 24)
    this.width = checkInt(o.width, 'width', 1, 1 << 24)
    this.padding = checkInt(o.padding ?? 2, 'padding', 0, Math.max(this.height, this.width))
    if (o.flip !== undefined && typeof o.flip !== 'boolean') {
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `flip must be a boolean, got ${describe(o.flip)}`)
    }
    this.flip = o.flip ?? true
    this.#rng = new Random(o.seed ?? 1)
    this.#tmp = new Float32Array(this.height * this.width)
  }

  /** Pixels per row (C * H * W). */
  get features(): number {
    return this.channels * this.height * this.width
  }

  /**
   * Transforms `batch` rows of x (batch x C*H*W) in place: per image one shift (dy, dx) and one
   * flip decision, the same for all its channels. Output pixel (h, w) = input (h + dy, w' + dx)
   * with w' = W - 1 - w when flipped, zero outside the image.
   */
  apply(x: Float32Array, batch: number): void {
    checkF32(x, 'x')
    checkInt(batch, 'batch', 0, 2 ** 31)
    const F = this.features
    if (x.length < batch * F) {
      throw new SimsageError(ErrorCodes.DIM_MISMATCH, `x has ${x.length} values, batch ${batch} needs ${batch * F}`)
    }
    const H = this.height
    const W = this.width
    const p = this.padding
    const t = this.#tmp
    for (let b = 0; b < batch; b++) {
      const dy = p ? this.#rng.int(2 * p + 1) - p : 0
      const dx = p ? this.#rng.int(2 * p + 1) - p : 0
      const flip = this.flip && this.#rng.next() < 0.5
      if (dy === 0 && dx === 0 && !flip) continue
      for (let c = 0; c < this.channels; c++) {
        const plane = x.subarray(b * F + c * H * W, b * F + (c + 1) * H * W)
        t.set(plane)
        for (let h = 0; h < H; h++) {
          const sh = h + dy
          for (let w = 0; w < W; w++) {
            const sw = (flip ? W - 1 - w : w) + dx
            plane[h * W + w] = sh >= 0 && sh < H && sw >= 0 && sw < W ? t[sh * W + sw]! : 0
          }
        }
      }
    }
  }
}
