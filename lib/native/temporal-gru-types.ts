/**
 * Raw binding types of the temporal family's GRU (internal; lib/temporal wraps them). Every
 * function takes one arguments object; tensors are dense row-major typed arrays whose lengths the
 * native side checks against the shapes (ERR_SIMSAGE_DIM_MISMATCH). Outputs are caller-provided and
 * written in place; the calls are synchronous.
 */

/** The GRU's shape and parameters, shared by every call. */
export interface RawGruModel {
  layers: number
  inputSize: number
  hiddenSize: number
  /**
   * 4 * layers tensors in PyTorch's order: weight_ih_l{l} [3H, in_l], weight_hh_l{l} [3H, H],
   * bias_ih_l{l} [3H], bias_hh_l{l} [3H] (in_0 = inputSize, in_l = hiddenSize; gate blocks r, z, n).
   */
  weights: Float32Array[]
  /** Per-call thread count (default: the library's default). */
  threads?: number
}

/** One forward over [batch, steps, inputSize]. */
export interface RawGruForwardArgs extends RawGruModel {
  batch: number
  steps: number
  /** batch x steps x inputSize. */
  x: Float32Array
  /** layers x batch x hiddenSize, or absent (zeros). */
  h0?: Float32Array
  /** batch x steps: every layer's previous state is multiplied by it before the step. */
  carry?: Float32Array
  /** batch x steps: 0 skips the step (states unchanged, output = the state). */
  mask?: Uint8Array
  /** batch x steps x hiddenSize (output). */
  y: Float32Array
  /** layers x batch x hiddenSize (output), or absent. */
  hN?: Float32Array
  /** layers * batch * steps * 6 * hiddenSize floats, kept for the backward. */
  workspace: Float32Array
}

/** Backpropagation through time of the forward that filled `workspace`. */
export interface RawGruBackwardArgs extends RawGruModel {
  batch: number
  steps: number
  x: Float32Array
  carry?: Float32Array
  mask?: Uint8Array
  workspace: Float32Array
  /** batch x steps x hiddenSize. */
  dy: Float32Array
  /** layers x batch x hiddenSize, or absent (zeros). */
  dhN?: Float32Array
  /** batch x steps x inputSize (output), or absent. */
  dx?: Float32Array
  /** layers x batch x hiddenSize (output), or absent. */
  dh0?: Float32Array
  /** Same order and lengths as weights; added to. Absent: no parameter gradients. */
  grads?: Float32Array[]
}

/** One step of many streams. */
export interface RawGruStreamStepArgs extends RawGruModel {
  streams: number
  /** streams x layers x hiddenSize, updated in place. */
  state: Float32Array
  /** rows distinct stream indices; absent: rows = streams, stream i takes row i. */
  active?: Int32Array
  /** rows x inputSize. */
  x: Float32Array
  /** rows: multiplies every layer's state before the step. */
  carry?: Float32Array
  /** rows x hiddenSize (output): the top layer's new state. */
  y: Float32Array
}

/** The shape a state blob is checked against. */
export interface RawGruShape {
  layers: number
  inputSize: number
  hiddenSize: number
}

/** A native GRU stream stepper: the weights copied and packed once (states stay caller-held). */
export interface RawNativeGruStream {
  /** One step of many streams, as gruStreamStep with the constructor's weights. */
  step(args: Omit<RawGruStreamStepArgs, keyof RawGruModel> & { threads?: number }): void
  /** Frees the packed weights and scratch; later steps throw ERR_SIMSAGE_DISPOSED. */
  dispose(): void
  disposed(): boolean
}

export interface RawTemporalGruBinding {
  gruForward(args: RawGruForwardArgs): void
  gruBackward(args: RawGruBackwardArgs): void
  gruStreamStep(args: RawGruStreamStepArgs): void
  /** One stream's state (layers x hiddenSize) as a versioned, checksummed blob. */
  gruStateSave(args: RawGruShape & { state: Float32Array; out?: Uint8Array }): Uint8Array
  /** Restores a blob into state (layers x hiddenSize); CORRUPT_FILE / STATE_MISMATCH on a bad blob. */
  gruStateRestore(args: RawGruShape & { bytes: Uint8Array; state: Float32Array }): void
  /** Snapshots (copies and packs) the weights; bad shapes or tensors throw coded errors. */
  NativeGruStream: new (
    args: RawGruModel,
  ) => RawNativeGruStream
}
