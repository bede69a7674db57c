/**
 * Streaming GRU inference for serving ({@link GRUStream}): many independent sequences (users,
 * sessions) each stepped one event at a time, many of them in one batched native call.
 */
import { callNative, ErrorCodes, SimsageError } from '../errors.js'
import { binding } from '../native/binding.js'
import type { RawNativeGruStream } from '../native/temporal-gru-types.js'
import { Scratch } from '../nn/module.js'
import { checkBytesOut, checkF32, describe } from '../validate.js'
import type { GRU } from './gru.js'
import { checkSize } from './gru-validate.js'

/**
 * `streams` independent GRU states ([layers, hiddenSize] each, zeros at first), stepped by
 * {@link GRUStream.step}. A step of a stream gives the same output as {@link GRU.forward} at that
 * position of the stream's sequence (within float rounding, ~1e-6).
 *
 * The stream snapshots the GRU's weights when it is created: later training of the GRU does not
 * change it (create a new stream, and restore saved states into it, to serve new weights).
 * States serialise per stream ({@link GRUStream.save} / {@link GRUStream.restore}) to a versioned,
 * checksummed blob that records the GRU's shape (layers, inputSize, hiddenSize).
 */
export class GRUStream {
  /** Number of independent streams. */
  readonly streams: number
  readonly inputSize: number
  readonly hiddenSize: number
  readonly layers: number
  /** Bytes of one stream's {@link save} blob. */
  readonly stateSize: number
  #native: RawNativeGruStream | undefined
  #state: Float32Array | undefined
  #y = new Scratch()

  /** Prefer {@link GRU.stream}. */
  constructor(gru: GRU, streams: number) {
    this.streams = checkSize(streams, 'streams', 1, 2 ** 31 - 1)
    const m = gru.rawModel()
    this.inputSize = m.inputSize
    this.hiddenSize = m.hiddenSize
    this.layers = m.layers
    // The native stepper copies the weights and packs them once for the GEMM kernels.
    this.#native = callNative(() => new (binding().NativeGruStream)(m))
    this.#state = new Float32Array(streams * m.layers * m.hiddenSize)
    const zeros = new Float32Array(m.layers * m.hiddenSize)
    this.stateSize = callNative(() => binding().gruStateSave({ ...this.#shape(), state: zeros })).length
  }

  /**
   * Steps some or all streams by one input each.
   * @param x [rows, inputSize]: row i is the next input of stream active[i] (or of stream i).
   * @param active Distinct stream indices (rows = active.length); absent: every stream steps, rows = streams.
   * @param carry [rows]: multiplies the stream's state before the step (0 restarts it, exp(-gap/tau)
   *   decays it), as GRU.forward's carry; absent: 1.
   * @returns [rows, hiddenSize]: each stepped stream's new top-layer state (the stream's own buffer,
   *   reused by the next step with the same row count).
   */
  step(x: Float32Array, active?: Int32Array, carry?: Float32Array): Float32Array {
    const native = this.#live()
    if (active !== undefined && !(active instanceof Int32Array)) {
      throw new SimsageError(ErrorCodes.INVALID_TYPE, `active must be an Int32Array, got ${describe(active)}`)
    }
    const rows = active ? active.length : this.streams
    checkF32(x, 'x', rows * this.inputSize, `rows ${rows} x inputSize ${this.inputSize}`)
    if (carry !== undefined) checkF32(carry, 'carry', rows, 'rows')
    const y = this.#y.get(rows * this.hiddenSize)
    if (rows === 0) return y
    callNative(() => native.step({ streams: this.streams, state: this.#state!, active, x, carry, y }))
    return y
  }

  /** A copy of stream `stream`'s state, [layers, hiddenSize]. */
  state(stream: number): Float32Array {
    this.#live()
    const n = this.layers * this.hiddenSize
    const at = this.#index(stream) * n
    return this.#state!.slice(at, at + n)
  }

  /** Zeros one stream's state, or every stream's when `stream` is absent. */
  reset(stream?: number): void {
    this.#live()
    if (stream === undefined) {
      this.#state!.fill(0)
      return
    }
    const n = this.layers * this.hiddenSize
    const at = this.#index(stream) * n
    this.#state!.fill(0, at, at + n)
  }

  /**
   * Stream `stream`'s state as a blob (magic, version, shape fingerprint, floats, CRC-32). With
   * `out` (exactly {@link stateSize} bytes) the blob is written there and `out` returned.
   */
  save(stream: number, out?: Uint8Array): Uint8Array {
    this.#live()
    const n = this.layers * this.hiddenSize
    const at = this.#index(stream) * n
    const state = this.#state!.subarray(at, at + n)
    if (out === undefined) return callNative(() => binding().gruStateSave({ ...this.#shape(), state }))
    checkBytesOut(out, this.stateSize)
    return callNative(() => binding().gruStateSave({ ...this.#shape(), state, out }))
  }

  /**
   * Restores a blob from {@link GRUStream.save} into stream `stream`. A truncated or damaged blob
   * throws ERR_SIMSAGE_CORRUPT_FILE, one from a GRU of another shape ERR_SIMSAGE_STATE_MISMATCH; the
   * state is unchanged then.
   */
  restore(stream: number, bytes: Uint8Array): void {
    this.#live()
    const at = this.#index(stream) * this.layers * this.hiddenSize
    if (!(bytes instanceof Uint8Array)) {
      throw new SimsageError(ErrorCodes.INVALID_TYPE, `bytes must be a Uint8Array, got ${describe(bytes)}`)
    }
    const state = this.#state!.subarray(at, at + this.layers * this.hiddenSize)
    callNative(() => binding().gruStateRestore({ ...this.#shape(), bytes, state }))
  }

  /** Drops the states and the weight snapshot; any later call throws ERR_SIMSAGE_DISPOSED. */
  dispose(): void {
    this.#native?.dispose()
    this.#native = undefined
    this.#state = undefined
  }

  [Symbol.dispose](): void {
    this.dispose()
  }

  #live(): RawNativeGruStream {
    if (!this.#native) throw new SimsageError(ErrorCodes.DISPOSED, 'this GRUStream has been disposed')
    return this.#native
  }

  #shape(): { layers: number; inputSize: number; hiddenSize: number } {
    return { layers: this.layers, inputSize: this.inputSize, hiddenSize: this.hiddenSize }
  }

  #index(stream: number): number {
    if (typeof stream !== 'number' || !Number.isInteger(stream) || stream < 0 || stream >= this.streams) {
      throw new SimsageError(
        ErrorCodes.INVALID_ARGUMENT,
        `stream must be an integer in [0, ${this.streams}), got ${describe(stream)}`,
      )
    }
    return stream
  }
}
