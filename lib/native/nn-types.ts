/**
 * Raw binding types of the nn family (internal; lib/nn wraps them). Every function takes one
 * arguments object; matrices are dense row-major Float32Arrays whose lengths the native side checks
 * against the shapes (ERR_SIMSAGE_DIM_MISMATCH). Outputs are caller-provided and written in place;
 * the calls are synchronous and return nothing.
 */

/** Per-call thread count (optional; default: the library's default). */
interface RawThreads {
  threads?: number
}

/** Y = X W^T + b. */
export interface RawLinearForwardArgs extends RawThreads {
  /** batch x inFeatures. */
  x: Float32Array
  /** outFeatures x inFeatures (PyTorch layout). */
  w: Float32Array
  /** outFeatures, or absent for no bias. */
  b?: Float32Array
  /** batch x outFeatures (output). */
  y: Float32Array
  batch: number
  inFeatures: number
  outFeatures: number
}

/** dX = dY W, dW (+)= dY^T X, db (+)= column sums of dY. */
export interface RawLinearBackwardArgs extends RawThreads {
  x: Float32Array
  w: Float32Array
  /** batch x outFeatures. */
  dy: Float32Array
  /** batch x inFeatures (output), or absent to skip. */
  dx?: Float32Array
  /** outFeatures x inFeatures (output), or absent to skip. */
  dw?: Float32Array
  /** outFeatures (output), or absent to skip. */
  db?: Float32Array
  batch: number
  inFeatures: number
  outFeatures: number
  /** Add to dw / db instead of overwriting (default false). */
  accumulate?: boolean
}

export interface RawReluForwardArgs extends RawThreads {
  x: Float32Array
  /** Same length as x; may be x itself. */
  y: Float32Array
}

export interface RawReluBackwardArgs extends RawThreads {
  /** The forward output. */
  y: Float32Array
  dy: Float32Array
  /** Same length; may be dy itself. */
  dx: Float32Array
}

/** y = x / max(|x|, eps) per row. */
export interface RawL2NormalizeForwardArgs extends RawThreads {
  x: Float32Array
  y: Float32Array
  /** rows (output): |x| per row, for the backward. */
  norms: Float32Array
  rows: number
  dim: number
  /** Default 1e-12. */
  eps?: number
}

export interface RawL2NormalizeBackwardArgs extends RawThreads {
  y: Float32Array
  norms: Float32Array
  dy: Float32Array
  dx: Float32Array
  rows: number
  dim: number
  eps?: number
}

/** Per-row layer norm over dim features with optional affine gamma / beta. */
export interface RawLayerNormForwardArgs extends RawThreads {
  x: Float32Array
  gamma?: Float32Array
  beta?: Float32Array
  y: Float32Array
  /** rows (output). */
  mean: Float32Array
  /** rows (output): 1 / sqrt(var + eps). */
  rstd: Float32Array
  rows: number
  dim: number
  /** Default 1e-5. */
  eps?: number
}

export interface RawLayerNormBackwardArgs extends RawThreads {
  x: Float32Array
  gamma?: Float32Array
  mean: Float32Array
  rstd: Float32Array
  dy: Float32Array
  dx: Float32Array
  dgamma?: Float32Array
  dbeta?: Float32Array
  rows: number
  dim: number
  accumulate?: boolean
}

/** torch.optim.SGD (dampening 0), in place on param and velocity. */
export interface RawSgdStepArgs extends RawThreads {
  param: Float32Array
  grad: Float32Array
  /** Required when momentum > 0. */
  velocity?: Float32Array
  lr: number
  momentum?: number
  weightDecay?: number
  nesterov?: boolean
}

/** torch.optim.Adam / AdamW (decoupled), in place on param, m and v. */
export interface RawAdamStepArgs extends RawThreads {
  param: Float32Array
  grad: Float32Array
  m: Float32Array
  v: Float32Array
  /** Steps taken including this one (>= 1), for the bias corrections. */
  step: number
  lr?: number
  beta1?: number
  beta2?: number
  eps?: number
  weightDecay?: number
  decoupled?: boolean
}

/**
 * Shape of a 2-D convolution over NCHW images (nnConv2d*): OH = (H + 2 padH - dilationH (kernelH -
 * 1) - 1) / strideH + 1, likewise OW. Options default to stride 1, padding 0, dilation 1.
 */
export interface RawConv2dShape extends RawThreads {
  batch: number
  inChannels: number
  outChannels: number
  height: number
  width: number
  kernelH: number
  kernelW: number
  strideH?: number
  strideW?: number
  padH?: number
  padW?: number
  dilationH?: number
  dilationW?: number
}

/** y = conv2d(x, w) + b; x and w are scanned for NaN/Inf (ERR_SIMSAGE_NON_FINITE). */
export interface RawConv2dForwardArgs extends RawConv2dShape {
  /** batch x inChannels x height x width. */
  x: Float32Array
  /** outChannels x inChannels x kernelH x kernelW (PyTorch layout). */
  w: Float32Array
  /** outChannels, or absent for no bias. */
  b?: Float32Array
  /** batch x outChannels x OH x OW (output). */
  y: Float32Array
}

/** dX (overwritten), dW and db (overwritten, or added to with accumulate); dy is scanned for NaN/Inf. */
export interface RawConv2dBackwardArgs extends RawConv2dShape {
  x: Float32Array
  w: Float32Array
  /** batch x outChannels x OH x OW. */
  dy: Float32Array
  /** batch x inChannels x height x width (output), or absent to skip. */
  dx?: Float32Array
  /** outChannels x inChannels x kernelH x kernelW (output), or absent to skip. */
  dw?: Float32Array
  /** outChannels (output), or absent to skip. */
  db?: Float32Array
  accumulate?: boolean
}

export interface RawNnBinding {
  nnLinearForward(args: RawLinearForwardArgs): void
  nnLinearBackward(args: RawLinearBackwardArgs): void
  nnReluForward(args: RawReluForwardArgs): void
  nnReluBackward(args: RawReluBackwardArgs): void
  nnL2NormalizeForward(args: RawL2NormalizeForwardArgs): void
  nnL2NormalizeBackward(args: RawL2NormalizeBackwardArgs): void
  nnLayerNormForward(args: RawLayerNormForwardArgs): void
  nnLayerNormBackward(args: RawLayerNormBackwardArgs): void
  nnSgdStep(args: RawSgdStepArgs): void
  nnAdamStep(args: RawAdamStepArgs): void
  nnConv2dForward(args: RawConv2dForwardArgs): void
  nnConv2dBackward(args: RawConv2dBackwardArgs): void
}

/**
 * Pooling shape (part `spatial`): B x C images of H x W, NCHW. Strides default to the kernel,
 * paddings to 0; OH = floor((H + 2 padH - kernelH) / strideH) + 1, likewise OW.
 */
export interface RawPool2dShape extends RawThreads {
  batch: number
  channels: number
  height: number
  width: number
  kernelH: number
  kernelW: number
  strideH?: number
  strideW?: number
  padH?: number
  padW?: number
}

export interface RawPool2dForwardArgs extends RawPool2dShape {
  /** B x C x H x W. */
  x: Float32Array
  /** B x C x OH x OW (output). */
  y: Float32Array
  /** Max pooling only: B x C x OH x OW (output), the winner's index h * W + w in its plane. */
  argmax?: Int32Array
}

export interface RawPool2dBackwardArgs extends RawPool2dShape {
  /** Max pooling only: from the forward. */
  argmax?: Int32Array
  /** B x C x OH x OW. */
  dy: Float32Array
  /** B x C x H x W (output, overwritten). */
  dx: Float32Array
}

/** Group norm over B x C x S (S = H * W), G groups of C / G channels. */
export interface RawGroupNormForwardArgs extends RawThreads {
  x: Float32Array
  /** C, or absent (= 1). */
  gamma?: Float32Array
  /** C, or absent (= 0). */
  beta?: Float32Array
  /** B x C x S (output; may be x). */
  y: Float32Array
  /** B x G (output). */
  mean: Float32Array
  /** B x G (output): 1 / sqrt(var + eps). */
  rstd: Float32Array
  batch: number
  channels: number
  groups: number
  spatial: number
  /** Default 1e-5. */
  eps?: number
}

export interface RawGroupNormBackwardArgs extends RawThreads {
  x: Float32Array
  gamma?: Float32Array
  mean: Float32Array
  rstd: Float32Array
  dy: Float32Array
  /** B x C x S (output; may be dy). */
  dx: Float32Array
  /** C (output), or absent to skip. */
  dgamma?: Float32Array
  /** C (output), or absent to skip. */
  dbeta?: Float32Array
  batch: number
  channels: number
  groups: number
  spatial: number
  /** Add to dgamma / dbeta instead of overwriting (default false). */
  accumulate?: boolean
}

/** native/addon/nn_spatial.cpp: pooling and group norm. NaN / Inf in a forward's x -> ERR_SIMSAGE_NON_FINITE. */
export interface RawNnSpatialBinding {
  nnMaxPool2dForward(args: RawPool2dForwardArgs): void
  nnMaxPool2dBackward(args: RawPool2dBackwardArgs): void
  nnAvgPool2dForward(args: RawPool2dForwardArgs): void
  nnAvgPool2dBackward(args: RawPool2dBackwardArgs): void
  nnGroupNormForward(args: RawGroupNormForwardArgs): void
  nnGroupNormBackward(args: RawGroupNormBackwardArgs): void
}
