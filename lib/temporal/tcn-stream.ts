/**
 * Streaming evaluation of a {@link TCN}: many independent sequences advanced one step at a time.
 */
import { callNative, ErrorCodes, SimsageError } from '../errors.js'
import { binding } from '../native/binding.js'
import type { RawNativeTcnStream, RawTcnBlockWeights } from '../native/temporal-types.js'
import { Scratch } from '../nn/module.js'
import { checkBytesOut, checkF32, describe } from '../validate.js'

/**
 * Per stream, the last (K-1)*d inputs of every conv (a ring per conv, zero at the start: the causal
 * padding). {@link TCNStream.step} consumes one time step for all streams or a subset and returns
 * each one's output for that step, equal to the TCN's full-sequence forward (eval mode) at the same
 * position, including the first steps before the receptive field fills. The stepping streams go
 * through each conv as one GEMM.
 *
 * Weights are a snapshot taken when the stream was created ({@link TCN.stream}). The state lives in
 * native memory: call {@link TCNStream.dispose} (or `using`) when done; a disposed stream throws
 * ERR_SIMSAGE_DISPOSED. Inputs are scanned for NaN/Infinity (ERR_SIMSAGE_NON_FINITE): a non-finite
 * value would otherwise stay in a stream's state for the whole receptive field.
 */
export class TCNStream {
  /** Number of independent streams. */
  readonly streams: number
  /** Channels of one input step. */
  readonly inputSize: number
  /** Channels of one output step. */
  readonly outputSize: number
  /** Bytes of one stream's saved state ({@link TCNStream.save}). */
  readonly stateSize: number
  #native: RawNativeTcnStream | undefined
  #y = new Scratch()

  /** Use {@link TCN.stream}. */
  constructor(kernelSize: number, blocks: RawTcnBlockWeights[], streams: number) {
    if (typeof streams !== 'number' || !Number.isInteger(streams) || streams < 1 || streams > 2 ** 31 - 1) {
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `streams must be an integer >= 1, got ${describe(streams)}`)
    }
    const args = { kernelSize, streams, blocks }
    const NativeTcnStream = binding().NativeTcnStream
    this.#native = callNative(() => new NativeTcnStream(args))
    const d = this.#native.describe()
    this.streams = d.streams
    this.inputSize = d.inputSize
    this.outputSize = d.outputSize
    this.stateSize = d.stateSize
  }

  #live(): RawNativeTcnStream {
    if (!this.#native) throw new SimsageError(ErrorCodes.DISPOSED, 'the TCN stream has been disposed')
    return this.#native
  }

  #stream(stream: unknown): number {
    if (typeof stream !== 'number' || !Number.isInteger(stream) || stream < 0 || stream >= this.streams) {
      throw new SimsageError(
        ErrorCodes.INVALID_ARGUMENT,
        `stream must be an integer in [0, ${this.streams}), got ${describe(stream)}`,
      )
    }
    return stream
  }

  /**
   * Advances streams by one step.
   * @param x [rows, inputSize]: one input step per stepping stream.
   * @param active Distinct stream indices (row r is stream active[r]); absent: every stream, in order.
   * @returns [rows, outputSize]: each stream's output at this step (own buffer, valid until the next step).
   */
  step(x: Float32Array, active?: Int32Array): Float32Array {
    const native = this.#live()
    if (active !== undefined && !(active instanceof Int32Array)) {
      throw new SimsageError(ErrorCodes.INVALID_TYPE, `active must be an Int32Array, got ${describe(active)}`)
    }
    const rows = active ? active.length : this.streams
    checkF32(x, 'x', rows * this.inputSize, `${rows} rows x inputSize ${this.inputSize}`)
    for (let i = 0; i < x.length; i++) {
      if (!Number.isFinite(x[i]!)) {
        throw new SimsageError(ErrorCodes.NON_FINITE, `x[${i}] is ${x[i]} (row ${Math.floor(i / this.inputSize)})`)
      }
    }
    const y = this.#y.get(rows * this.outputSize)
    const args = { x, y, active }
    callNative(() => native.step(args))
    return y
  }

  /** Clears one stream's history (or every stream's without an argument). */
  reset(stream?: number): void {
    const native = this.#live()
    const args = stream === undefined ? {} : { stream: this.#stream(stream) }
    callNative(() => native.reset(args))
  }

  /** Steps consumed by a stream since its last reset or restore. */
  position(stream: number): number {
    const native = this.#live()
    const args = { stream: this.#stream(stream) }
    return callNative(() => native.position(args))
  }

  /**
   * One stream's state as bytes (magic, version, model fingerprint, position, ring contents,
   * CRC-32); restore it into a stream of a TCN with the same sizes, kernel size and dilations.
   * With `out` (exactly {@link stateSize} bytes, e.g. a view into a larger record) the bytes are
   * written there and `out` is returned, with no allocation.
   */
  save(stream: number, out?: Uint8Array): Uint8Array {
    const native = this.#live()
    if (out === undefined) return callNative(() => native.save({ stream: this.#stream(stream) }))
    checkBytesOut(out, this.stateSize)
    const args = { stream: this.#stream(stream), out }
    return callNative(() => native.save(args))
  }

  /**
   * Replaces a stream's state with saved bytes. Truncated or corrupt bytes throw
   * ERR_SIMSAGE_CORRUPT_FILE; bytes from a differently shaped model throw ERR_SIMSAGE_STATE_MISMATCH.
   * The stream is unchanged when it throws.
   */
  restore(stream: number, bytes: Uint8Array): void {
    const native = this.#live()
    if (!(bytes instanceof Uint8Array)) {
      throw new SimsageError(ErrorCodes.INVALID_TYPE, `bytes must be a Uint8Array, got ${describe(bytes)}`)
    }
    const args = { stream: this.#stream(stream), bytes }
    callNative(() => native.restore(args))
  }

  /** Whether dispose() has run. */
  get disposed(): boolean {
    return this.#native === undefined
  }

  /** Frees the native state now (idempotent). */
  dispose(): void {
    this.#native?.dispose()
    this.#native = undefined
  }

  [Symbol.dispose](): void {
    this.dispose()
  }
}
