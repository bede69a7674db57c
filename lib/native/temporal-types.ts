/**
 * Raw binding types of the temporal family's conv, residual block and TCN streaming parts
 * (internal; lib/temporal wraps them). Sequences are channels-last: B x T x C row-major
 * Float32Arrays whose lengths the native side checks against the shapes (ERR_SIMSAGE_DIM_MISMATCH).
 * Weights follow PyTorch's Conv1d: [outChannels, inChannels, kernelSize]. Outputs are
 * caller-provided and written in place; conv and block calls are synchronous and return nothing.
 */

/** Per-call thread count (optional; default: the library's default). */
interface RawThreads {
  threads?: number
}

/** Shapes shared by the conv and block calls. */
export interface RawConvShape {
  batch: number
  steps: number
  inChannels: number
  outChannels: number
  /** >= 1 (ERR_SIMSAGE_INVALID_ARGUMENT otherwise). */
  kernelSize: number
  /** >= 1 (default 1). */
  dilation?: number
}

/** y = (relu)(causal dilated conv(x) + b). */
export interface RawConv1dForwardArgs extends RawConvShape, RawThreads {
  /** batch x steps x inChannels. */
  x: Float32Array
  /** outChannels x inChannels x kernelSize. */
  w: Float32Array
  b?: Float32Array
  /** batch x steps x outChannels (output). */
  y: Float32Array
  relu?: boolean
}

/** dx (+)= conv^T(dy), dw (+)= ..., db (+)= column sums of dy; each output optional. */
export interface RawConv1dBackwardArgs extends RawConvShape, RawThreads {
  x?: Float32Array
  w?: Float32Array
  dy: Float32Array
  dx?: Float32Array
  dw?: Float32Array
  db?: Float32Array
  /** Add to dw and db. */
  accumulate?: boolean
  /** Add to dx. */
  accumulateDx?: boolean
}

/** One residual temporal block (native/temporal/temporal.h): a1, a2 saved for the backward. */
export interface RawBlockForwardArgs extends RawConvShape, RawThreads {
  x: Float32Array
  w1: Float32Array
  b1?: Float32Array
  w2: Float32Array
  b2?: Float32Array
  /** outChannels x inChannels: required exactly when inChannels != outChannels. */
  wd?: Float32Array
  bd?: Float32Array
  a1: Float32Array
  a2: Float32Array
  y: Float32Array
  /** In [0, 1). */
  dropout?: number
  training?: boolean
  /** Dropout mask seed: a safe non-negative integer. */
  seed?: number
}

export interface RawBlockBackwardArgs extends RawConvShape, RawThreads {
  x: Float32Array
  w1: Float32Array
  w2: Float32Array
  wd?: Float32Array
  a1: Float32Array
  a2: Float32Array
  y: Float32Array
  dy: Float32Array
  dx?: Float32Array
  dw1?: Float32Array
  db1?: Float32Array
  dw2?: Float32Array
  db2?: Float32Array
  dwd?: Float32Array
  dbd?: Float32Array
  dropout?: number
  training?: boolean
  accumulate?: boolean
}

/** One block's weights for the stream constructor (copied natively). */
export interface RawTcnBlockWeights {
  inChannels: number
  outChannels: number
  dilation: number
  w1: Float32Array
  b1?: Float32Array
  w2: Float32Array
  b2?: Float32Array
  wd?: Float32Array
  bd?: Float32Array
}

/** The native TCN streamer (eval mode). Methods throw ERR_SIMSAGE_DISPOSED after dispose(). */
export interface RawNativeTcnStream {
  /** x: rows x inputSize, y: rows x outputSize; rows = active.length, or streams without active. */
  step(args: { x: Float32Array; y: Float32Array; active?: Int32Array; threads?: number }): void
  /** One stream, or every stream without `stream`. */
  reset(args: { stream?: number }): void
  save(args: { stream: number; out?: Uint8Array }): Uint8Array
  restore(args: { stream: number; bytes: Uint8Array }): void
  position(args: { stream: number }): number
  describe(): { streams: number; inputSize: number; outputSize: number; stateSize: number; fingerprint: string }
  dispose(): void
  disposed(): boolean
}

export interface RawTemporalBinding {
  temporalConv1dForward(args: RawConv1dForwardArgs): void
  temporalConv1dBackward(args: RawConv1dBackwardArgs): void
  temporalBlockForward(args: RawBlockForwardArgs): void
  temporalBlockBackward(args: RawBlockBackwardArgs): void
  NativeTcnStream: new (args: {
    kernelSize: number
    streams: number
    blocks: RawTcnBlockWeights[]
  }) => RawNativeTcnStream
}
