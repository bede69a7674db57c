/**
 * onnxruntime-node, loaded with a dynamic `import()` on first use: it is an optional peer
 * dependency, so the package entry loads without it and only ONNX inference needs it. Typed here
 * by the small part simsage uses, so simsage's declarations do not name its types.
 *
 * Note: onnxruntime-node's `session.run` returns a Promise but runs the graph synchronously on the
 * JavaScript thread (inside a `setImmediate`); it blocks the event loop for the whole run.
 */
import { ErrorCodes, SimsageError } from '../errors.js'

/** The command that adds onnxruntime-node to a project. */
export const ONNXRUNTIME_INSTALL = 'npm install onnxruntime-node'

/** A tensor as onnxruntime-node gives and takes it. */
export interface OrtTensor {
  readonly type: string
  readonly dims: readonly number[]
  readonly data: unknown
  dispose?(): void
}

/** Input or output metadata of a session. */
export interface OrtValueMetadata {
  readonly name: string
  readonly isTensor: boolean
  readonly type?: string
  readonly shape?: ReadonlyArray<number | string>
}

/** An onnxruntime-node InferenceSession (the part simsage uses). */
export interface OrtSession {
  readonly inputNames: readonly string[]
  readonly outputNames: readonly string[]
  readonly inputMetadata?: readonly OrtValueMetadata[]
  readonly outputMetadata?: readonly OrtValueMetadata[]
  run(feeds: Record<string, OrtTensor>, fetches?: readonly string[]): Promise<Record<string, OrtTensor>>
  release(): Promise<void>
}

/** Session options simsage passes (onnxruntime's names). */
export interface OrtSessionOptions {
  intraOpNumThreads?: number
  interOpNumThreads?: number
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all'
  executionMode?: 'sequential' | 'parallel'
  executionProviders?: string[]
  /** 0 verbose … 4 fatal. */
  logSeverityLevel?: 0 | 1 | 2 | 3 | 4
}

/** The onnxruntime-node module (the part simsage uses). */
export interface OrtModule {
  readonly InferenceSession: { create(model: Uint8Array, options?: OrtSessionOptions): Promise<OrtSession> }
  readonly Tensor: new (type: string, data: ArrayLike<unknown>, dims: readonly number[]) => OrtTensor
}

const cache = new Map<string, Promise<OrtModule>>()

/**
 * Loads onnxruntime-node (once per specifier; the parameter exists for tests). Rejects with
 * ERR_SIMSAGE_MISSING_DEPENDENCY (naming the install command) when it is not installed and
 * ERR_SIMSAGE_ADDON_NOT_LOADED when it is installed but its binary does not load.
 */
export function loadOnnxruntime(specifier = 'onnxruntime-node'): Promise<OrtModule> {
  let p = cache.get(specifier)
  if (!p) {
    p = importOrt(specifier)
    cache.set(specifier, p)
    p.catch(() => cache.delete(specifier))
  }
  return p
}

async function importOrt(specifier: string): Promise<OrtModule> {
  let loaded: Partial<OrtModule> & { default?: Partial<OrtModule> }
  try {
    loaded = await import(specifier)
  } catch (e) {
    const code = (e as { code?: string }).code
    // Some loader hooks (tsx, ts-node) rethrow without the code: match Node's message too.
    const notFound = /^Cannot find (package|module) '([^']*)'/.exec((e as Error)?.message ?? '')
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND' || notFound?.[2] === specifier) {
      throw new SimsageError(
        ErrorCodes.MISSING_DEPENDENCY,
        `${specifier} is not installed (an optional peer dependency of simsage, needed for ONNX inference): ${ONNXRUNTIME_INSTALL}`,
        { cause: e },
      )
    }
    throw new SimsageError(
      ErrorCodes.ADDON_NOT_LOADED,
      `${specifier} failed to load: ${(e as Error).message.split('\n')[0]}`,
      { cause: e },
    )
  }
  const ort = typeof loaded.InferenceSession?.create === 'function' ? loaded : loaded.default
  if (typeof ort?.InferenceSession?.create !== 'function' || typeof ort.Tensor !== 'function') {
    throw new SimsageError(ErrorCodes.ADDON_NOT_LOADED, `${specifier} has no InferenceSession`)
  }
  return ort as OrtModule
}
