/**
 * The raw native binding, typed once (internal; public classes wrap it): the families' parts from
 * <family>-types.ts plus the settings and information calls (native/addon/info.cpp).
 */

import type { RawMiningBinding } from './mining-types.js'
import type { RawNnBinding } from './nn-types.js'
import type { RawNnSpatialBinding } from './nn-types.js'
import type { RawSimilarityBinding } from './similarity-types.js'
import type { RawTemporalBinding } from './temporal-types.js'
import type { RawTemporalGruBinding } from './temporal-gru-types.js'
import type { RawTextBinding } from './text-types.js'

export interface RawInfo {
  cpu: {
    vendor: string
    brand: string
    simdSupported: string[]
    extensions: { avx512Bf16: boolean; avx512Vnni: boolean; avxVnni: boolean }
  }
  simd: string
  simdBest: string
  threads: number
  cores: number
  backendsAvailable: string[]
  backendActive: string
  backendPreferred: string
  cudaBuilt: boolean
  cudaMessage: string
  cudaDevices: { index: number; name: string; totalMemory: number; computeCapability: string }[]
}

/**
 * Every native function that takes arguments takes one arguments object. Functions from the nn and
 * family's functions are typed in <family>-types.ts (similarity, nn, mining); this file adds the
 * library-wide settings and information calls.
 */
export interface RawBinding
  extends RawSimilarityBinding,
    RawNnBinding,
    RawNnSpatialBinding,
    RawMiningBinding,
    RawTemporalBinding,
    RawTemporalGruBinding,
    RawTextBinding {
  info(): RawInfo
  /** 0 restores the machine default; returns the default now in force. */
  setThreads(args: { threads: number }): number
  setSimd(args: { level: string }): string
  setBackend(args: { backend: string }): string
  probeFmaPeak(args: { simd?: string; seconds?: number; variant?: 'asm' | 'intrinsics' }): {
    gflops: number
    simd: string
    seconds: number
    variant: string
    fmasPerIteration: number
  }
  probeReadBandwidth(args: { data: Float32Array; passes?: number; threads?: number }): {
    gbPerSec: number
    seconds: number
  }
  /** V8's external-memory count for this isolate in bytes (what native objects such as NativeIndex
   * report, plus ArrayBuffer backing stores). Diagnostic; Node 20's memoryUsage().external omits
   * the reported part. */
  externalMemory(): number
}
