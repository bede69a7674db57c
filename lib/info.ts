/**
 * What the library runs on, global settings, and machine probes used by the benchmarks.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

import { callNative, ErrorCodes, SimsageError } from './errors.js'
import { binding, packageRoot } from './native/binding.js'
import { checkNumber, checkThreads, describe } from './validate.js'

/** SIMD instruction-set levels of the CPU kernels. */
export type SimdLevel = 'scalar' | 'avx2' | 'avx512'

/** What {@link info} reports. */
export interface Info {
  /** simsage's version. */
  version: string
  /** SIMD level the CPU kernels use now (SIMSAGE_SIMD or {@link setSimd} can lower it). */
  simd: SimdLevel
  /** Levels this CPU supports. */
  simdSupported: SimdLevel[]
  /** Default threads per call (SIMSAGE_THREADS or {@link setThreads}). */
  threads: number
  /** Cores available to this process. */
  cores: number
  /**
   * CPU vendor and model, and the instruction-set extensions behind the reduced-precision fast
   * paths: AVX512_BF16 (`vdpbf16ps`, bf16 storage), AVX512_VNNI (`vpdpbusd`, i8 storage) and
   * AVX-VNNI (the VEX form; detected and reported, no kernel uses it yet).
   */
  cpu: {
    vendor: string
    brand: string
    extensions: { avx512Bf16: boolean; avx512Vnni: boolean; avxVnni: boolean }
  }
  /** Backends that can run here ('cpu' always; 'cuda' when built and a device answers). */
  backendsAvailable: string[]
  /** The backend searches run on now. */
  backendActive: string
  /** Whether this build includes the CUDA backend, and why it is unavailable if it is. */
  cuda: {
    built: boolean
    message: string
    devices: { index: number; name: string; totalMemory: number; computeCapability: string }[]
  }
}

let version: string | undefined

/** Version, SIMD level, threads, backends and CUDA devices. */
export function info(): Info {
  const raw = callNative(() => binding().info())
  version ??= JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')).version as string
  return {
    version,
    simd: raw.simd as SimdLevel,
    simdSupported: raw.cpu.simdSupported as SimdLevel[],
    threads: raw.threads,
    cores: raw.cores,
    cpu: { vendor: raw.cpu.vendor, brand: raw.cpu.brand, extensions: { ...raw.cpu.extensions } },
    backendsAvailable: raw.backendsAvailable,
    backendActive: raw.backendActive,
    cuda: { built: raw.cudaBuilt, message: raw.cudaMessage, devices: raw.cudaDevices },
  }
}

/** Sets the default threads per call (a call's `threads` option overrides it). Returns the new value. */
export function setThreads(threads: number): number {
  if (typeof threads !== 'number' || !Number.isInteger(threads) || threads < 1 || threads > 256) {
    throw new SimsageError(
      ErrorCodes.INVALID_ARGUMENT,
      `threads must be an integer in [1, 256], got ${describe(threads)}`,
    )
  }
  return callNative(() => binding().setThreads({ threads }))
}

/**
 * Chooses where kernels with a CUDA twin run: 'cuda' (when a device answers; otherwise the CPU),
 * 'cpu' (always the CPU), or 'auto' (CUDA when a device answers). The initial choice comes from
 * `SIMSAGE_BACKEND` (default auto). Returns the backend calls run on now ('cpu' or 'cuda'); each
 * result's `ran.backend` still says where that call ran (what the CUDA path does not support runs on
 * the CPU).
 */
export function setBackend(backend: 'cpu' | 'cuda' | 'auto'): 'cpu' | 'cuda' {
  if (!['cpu', 'cuda', 'auto'].includes(backend as string)) {
    throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `backend must be cpu, cuda or auto, got ${describe(backend)}`)
  }
  return callNative(() => binding().setBackend({ backend })) as 'cpu' | 'cuda'
}

/** Selects the SIMD level ('auto' = best). A level the CPU lacks steps down; returns the level set. */
export function setSimd(level: SimdLevel | 'auto'): SimdLevel {
  if (!['scalar', 'avx2', 'avx512', 'auto'].includes(level as string)) {
    throw new SimsageError(
      ErrorCodes.INVALID_ARGUMENT,
      `SIMD level must be scalar, avx2, avx512 or auto, got ${describe(level)}`,
    )
  }
  return callNative(() => binding().setSimd({ level })) as SimdLevel
}

/** Longest a probe may run, in seconds. */
const MAX_PROBE_SECONDS = 60

/**
 * Single-thread single-precision FMA peak (GFLOP/s, 2 flops per lane per FMA) measured with
 * simsage's own loop for `seconds` (in (0, 60], default 0.3) at SIMD level `simd` (default 'auto'):
 * `variant` 'asm' (default: 12 independent accumulators, the FMAs listed in inline asm) or
 * 'intrinsics' (10 chains written with intrinsics), two differently written loops that should agree.
 * Both loops are checked against their disassembly by the native tests.
 */
export function probeFmaPeak(
  options: { seconds?: number; simd?: SimdLevel | 'auto'; variant?: 'asm' | 'intrinsics' } = {},
): {
  gflops: number
  simd: SimdLevel
  /** FMA instructions per loop iteration the flop count assumes. */
  fmasPerIteration: number
} {
  if (options === null || typeof options !== 'object') {
    throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `options must be an object, got ${describe(options)}`)
  }
  const seconds = checkNumber(options.seconds ?? 0.3, 'seconds', 0, MAX_PROBE_SECONDS, true)
  const simd = options.simd ?? 'auto'
  if (!['scalar', 'avx2', 'avx512', 'auto'].includes(simd as string)) {
    throw new SimsageError(
      ErrorCodes.INVALID_ARGUMENT,
      `simd must be scalar, avx2, avx512 or auto, got ${describe(simd)}`,
    )
  }
  const variant = options.variant ?? 'asm'
  if (variant !== 'asm' && variant !== 'intrinsics') {
    throw new SimsageError(
      ErrorCodes.INVALID_ARGUMENT,
      `variant must be 'asm' or 'intrinsics', got ${describe(variant)}`,
    )
  }
  const r = callNative(() => binding().probeFmaPeak({ simd, seconds, variant }))
  return { gflops: r.gflops, simd: r.simd as SimdLevel, fmasPerIteration: r.fmasPerIteration }
}

/**
 * Bandwidth of a plain streaming read (sum) of `data`, best of `passes` (an integer in [1, 1000],
 * default 3) on `threads` threads (default 1), in GB/s (1e9 bytes/s).
 */
export function probeReadBandwidth(
  data: Float32Array,
  options: { passes?: number; threads?: number } = {},
): { gbPerSec: number } {
  if (!(data instanceof Float32Array)) {
    throw new SimsageError(ErrorCodes.INVALID_TYPE, `data must be a Float32Array, got ${describe(data)}`)
  }
  if (options === null || typeof options !== 'object') {
    throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `options must be an object, got ${describe(options)}`)
  }
  const passes = options.passes ?? 3
  if (typeof passes !== 'number' || !Number.isInteger(passes) || passes < 1 || passes > 1000) {
    throw new SimsageError(
      ErrorCodes.INVALID_ARGUMENT,
      `passes must be an integer in [1, 1000], got ${describe(passes)}`,
    )
  }
  const threads = checkThreads(options.threads) ?? 1
  const r = callNative(() => binding().probeReadBandwidth({ data, passes, threads }))
  return { gbPerSec: r.gbPerSec }
}
