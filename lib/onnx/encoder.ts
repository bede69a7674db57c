/**
 * {@link OnnxEncoder}: runs any ONNX model that maps rows (a float or integer input whose first
 * axis is the batch) to embeddings (a float32 output whose first axis is the batch) through
 * onnxruntime-node, in batches.
 *
 * onnxruntime-node runs a graph synchronously on the JavaScript thread, so one `session.run` blocks
 * the event loop for as long as it computes. The encoder runs at most `batchSize` rows per run and
 * yields to the event loop between runs: a large input never holds the loop for more than one batch.
 */
import { ErrorCodes, SimsageError } from '../errors.js'
import { readRegularFile } from '../io/fs.js'
import { describe } from '../validate.js'
import {
  checkInputArray,
  type GraphOptimization,
  inputShape,
  intOption,
  type OnnxInput,
  type OnnxInputType,
  optimizationOption,
} from './encoder-input.js'
import { loadOnnxruntime, type OrtModule, type OrtSession, type OrtValueMetadata } from './ort.js'

export type { GraphOptimization, OnnxInput, OnnxInputType } from './encoder-input.js'

/** Options of {@link OnnxEncoder.create}. */
export interface OnnxEncoderOptions {
  /** The input to feed (default: the model's only input; a model with several needs this). */
  input?: string
  /** The output to return (default: the model's first output). */
  output?: string
  /** Rows per `session.run`, in [1, 2^24] (default 256): bounds how long one run blocks the event loop. */
  batchSize?: number
  /** onnxruntime intra-op threads (0 = onnxruntime's default, all cores). */
  intraOpThreads?: number
  /** onnxruntime inter-op threads (0 = onnxruntime's default). */
  interOpThreads?: number
  /** onnxruntime graph optimisation level (default 'all'). */
  graphOptimization?: GraphOptimization
}

/** Embeddings of one {@link OnnxEncoder.encode} call: row-major `data` of shape `dims` ([rows, ...]). */
export interface OnnxEmbeddings {
  readonly data: Float32Array
  readonly dims: readonly number[]
}

const INPUT_TYPES: readonly string[] = ['float32', 'int64', 'int32']

function pick(meta: readonly OrtValueMetadata[], names: readonly string[], want: string | undefined, what: string) {
  if (want !== undefined) {
    const i = names.indexOf(want)
    if (i < 0) {
      throw new SimsageError(
        ErrorCodes.INVALID_ARGUMENT,
        `the model has no ${what} ${JSON.stringify(want)} (it has ${names.join(', ')})`,
      )
    }
    return meta[i] ?? { name: want, isTensor: true }
  }
  if (what === 'input' && names.length !== 1) {
    throw new SimsageError(
      ErrorCodes.INVALID_ARGUMENT,
      `the model has ${names.length} inputs (${names.join(', ')}): name one with options.input`,
    )
  }
  return meta[0] ?? { name: names[0], isTensor: true }
}

/** An ONNX model as a batched embedding function. Create with {@link OnnxEncoder.create}; dispose when done. */
export class OnnxEncoder {
  /** The input fed. */
  readonly inputName: string
  /** Its element type. */
  readonly inputType: OnnxInputType
  /** Its dims as the model declares them (strings are dynamic; empty when the model does not say). */
  readonly inputDims: readonly (number | string)[]
  /** The output returned. */
  readonly outputName: string
  /** Rows per `session.run`. */
  readonly batchSize: number
  readonly #ort: OrtModule
  #session: OrtSession | undefined
  #inflight = 0
  #release: (() => void) | undefined

  private constructor(ort: OrtModule, session: OrtSession, input: OrtValueMetadata, output: string, batch: number) {
    this.#ort = ort
    this.#session = session
    this.inputName = input.name
    this.inputType = (input.type ?? 'float32') as OnnxInputType
    this.inputDims = Object.freeze([...(input.shape ?? [])])
    this.outputName = output
    this.batchSize = batch
  }

  /**
   * Loads a model (a `.onnx` file path or its bytes) into an onnxruntime-node session (CPU).
   * ERR_SIMSAGE_MISSING_DEPENDENCY without onnxruntime-node; ERR_SIMSAGE_NOT_FOUND / IO for the
   * file; ERR_SIMSAGE_CORRUPT_FILE when onnxruntime cannot load it; ERR_SIMSAGE_UNSUPPORTED for an
   * input that is not float32/int64/int32 or an output that is not float32.
   */
  static async create(model: string | Uint8Array, options: OnnxEncoderOptions = {}): Promise<OnnxEncoder> {
    if (options === null || typeof options !== 'object') {
      throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `options must be an object, got ${describe(options)}`)
    }
    const batchSize = intOption(options.batchSize, 'batchSize', 1, 1 << 24, 256)
    const sessionOptions = {
      intraOpNumThreads: intOption(options.intraOpThreads, 'intraOpThreads', 0, 1024, 0),
      interOpNumThreads: intOption(options.interOpThreads, 'interOpThreads', 0, 1024, 0),
      graphOptimizationLevel: optimizationOption(options.graphOptimization),
      executionProviders: ['cpu'],
      // A failed run's message is carried by the SimsageError; do not also print it to stderr.
      logSeverityLevel: 4 as const,
    }
    let bytes: Uint8Array
    if (typeof model === 'string') bytes = await readRegularFile(model, 'load ONNX model from', 2 ** 31)
    else if (model instanceof Uint8Array) bytes = model
    else {
      throw new SimsageError(
        ErrorCodes.INVALID_ARGUMENT,
        `model must be a file path or a Uint8Array, got ${describe(model)}`,
      )
    }
    const ort = await loadOnnxruntime()
    let session: OrtSession
    try {
      session = await ort.InferenceSession.create(bytes, sessionOptions)
    } catch (e) {
      const what = typeof model === 'string' ? model : 'the model bytes'
      throw new SimsageError(
        ErrorCodes.CORRUPT_FILE,
        `onnxruntime cannot load ${what}: ${(e as Error).message.split('\n')[0]}`,
        { cause: e },
      )
    }
    try {
      const input = pick(session.inputMetadata ?? [], session.inputNames, options.input, 'input')
      const output = pick(session.outputMetadata ?? [], session.outputNames, options.output, 'output')
      if (!input.isTensor || (input.type !== undefined && !INPUT_TYPES.includes(input.type))) {
        throw new SimsageError(
          ErrorCodes.UNSUPPORTED,
          `input ${input.name} is ${input.type ?? 'not a tensor'}; OnnxEncoder feeds float32, int64 or int32 tensors`,
        )
      }
      if (!output.isTensor || (output.type !== undefined && output.type !== 'float32')) {
        throw new SimsageError(
          ErrorCodes.UNSUPPORTED,
          `output ${output.name} is ${output.type ?? 'not a tensor'}; OnnxEncoder returns float32 embeddings`,
        )
      }
      return new OnnxEncoder(ort, session, input, output.name, batchSize)
    } catch (e) {
      await session.release().catch(() => {})
      throw e
    }
  }

  /**
   * Embeds the rows of `x` (row-major; the first axis is the batch). `shape` is x's full shape
   * ([rows, ...]); it may be left out when the model fixes every dim after the first. Resolves to
   * the output for all rows, [rows, ...]. Runs `batchSize` rows per session run and yields to the
   * event loop between runs. Errors: ERR_SIMSAGE_INVALID_TYPE (wrong typed array), DIM_MISMATCH,
   * NON_FINITE (NaN or ±Infinity in a float input), DISPOSED, INVALID_ARGUMENT (onnxruntime rejected
   * the input, e.g. an index out of range).
   */
  async encode(x: OnnxInput, shape?: readonly number[]): Promise<OnnxEmbeddings> {
    this.#check()
    const data = checkInputArray(x, this.inputType)
    const dims = inputShape(data.length, shape, this.inputDims)
    const rows = dims[0]
    const perRow = rows === 0 ? 0 : data.length / rows
    this.#inflight++
    try {
      const parts: { data: Float32Array; dims: readonly number[] }[] = []
      for (let start = 0; start < rows || (rows === 0 && parts.length === 0); start += this.batchSize) {
        if (start > 0) await new Promise<void>((resolve) => setImmediate(resolve))
        const session = this.#check()
        const n = Math.min(this.batchSize, rows - start)
        const slice = data.subarray(start * perRow, (start + n) * perRow)
        const feed = new this.#ort.Tensor(this.inputType, slice, [n, ...dims.slice(1)])
        let result: Record<string, { data: unknown; dims: readonly number[] }>
        try {
          result = await session.run({ [this.inputName]: feed }, [this.outputName])
        } catch (e) {
          throw new SimsageError(
            ErrorCodes.INVALID_ARGUMENT,
            `onnxruntime rejected the input: ${(e as Error).message.split('\n')[0]}`,
            { cause: e },
          )
        }
        const out = result[this.outputName]
        if (!(out?.data instanceof Float32Array)) {
          throw new SimsageError(ErrorCodes.UNSUPPORTED, `output ${this.outputName} is not float32`)
        }
        parts.push({ data: out.data, dims: out.dims })
        if (rows === 0) break
      }
      const rowDims = parts[0].dims.slice(1)
      if (parts.length === 1) return { data: parts[0].data, dims: [rows, ...rowDims] }
      const total = parts.reduce((s, p) => s + p.data.length, 0)
      const joined = new Float32Array(total)
      let at = 0
      for (const p of parts) {
        joined.set(p.data, at)
        at += p.data.length
      }
      return { data: joined, dims: [rows, ...rowDims] }
    } finally {
      this.#inflight--
      if (this.#inflight === 0) this.#release?.()
    }
  }

  /** Whether {@link dispose} has been called. */
  get disposed(): boolean {
    return this.#session === undefined
  }

  /**
   * Releases the onnxruntime session (after any run in progress; encodes still waiting fail with
   * ERR_SIMSAGE_DISPOSED). Idempotent.
   */
  dispose(): void {
    const session = this.#session
    if (!session) return
    this.#session = undefined
    const release = () => void session.release().catch(() => {})
    if (this.#inflight === 0) release()
    else this.#release = release
  }

  /** {@link dispose}, for `using`. */
  [Symbol.dispose](): void {
    this.dispose()
  }

  #check(): OrtSession {
    if (!this.#session) throw new SimsageError(ErrorCodes.DISPOSED, 'OnnxEncoder was disposed')
    return this.#session
  }
}
