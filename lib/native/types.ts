/**
 * The raw native binding, typed once (internal; public classes wrap it). Ids cross the boundary as
 * Float64Array holding non-negative safe integers; vectors as row-major Float32Array.
 */

import type { RawMiningBinding } from './mining-types.js'
import type { RawNnBinding } from './nn-types.js'

/** Arguments of every native search call. */
export interface RawSearchArgs {
  queries: Float32Array
  dim: number
  k: number
  metric?: string
  threads?: number
  allow?: Float64Array
  deny?: Float64Array
  /** nq + 1 offsets into excludeIds (CSR), as integers in a Float64Array. */
  excludeOffsets?: Float64Array
  excludeIds?: Float64Array
}

export interface RawTopkArgs extends RawSearchArgs {
  corpus: Float32Array
}

export interface RawSearchResult {
  ids: Float64Array
  scores: Float32Array
  counts: Int32Array
  k: number
  simd: string
  threads: number
  backend: string
}

/** Ids and vectors of NativeIndex.add / addAsync. */
export interface RawAddArgs {
  /** n ids: non-negative safe integers (a BigInt64Array is range-checked natively). */
  ids: Float64Array | BigInt64Array
  /** n x dim row-major. */
  vectors: Float32Array
  /** The vectors are already unit length (a loaded cosine file): skip renormalising. */
  normalized?: boolean
}

export interface RawNativeIndex {
  add(args: RawAddArgs): void
  /** Runs on a libuv worker thread; `vectors` is not copied (do not modify it until it settles). */
  addAsync(args: RawAddArgs): Promise<void>
  remove(args: { ids: Float64Array }): number
  has(args: { id: number }): boolean
  size(): number
  reserve(args: { rows: number }): void
  searchSync(args: RawSearchArgs): RawSearchResult
  searchAsync(args: RawSearchArgs): Promise<RawSearchResult>
  /** vectors: size x dim, ids: size; returns the rows written. */
  exportInto(args: { vectors: Float32Array; ids: Float64Array }): number
  dispose(): void
  disposed(): boolean
}

export interface RawInfo {
  cpu: { vendor: string; brand: string; simdSupported: string[] }
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
 * mining families are typed in nn-types.ts and mining-types.ts.
 */
export interface RawBinding extends RawNnBinding, RawMiningBinding {
  topkSync(args: RawTopkArgs): RawSearchResult
  topkAsync(args: RawTopkArgs): Promise<RawSearchResult>
  NativeIndex: new (args: { dim: number; metric: string }) => RawNativeIndex
  info(): RawInfo
  /** 0 restores the machine default; returns the default now in force. */
  setThreads(args: { threads: number }): number
  setSimd(args: { level: string }): string
  setBackend(args: { backend: string }): string
  probeFmaPeak(args: { simd?: string; seconds?: number }): { gflops: number; simd: string; seconds: number }
  probeReadBandwidth(args: { data: Float32Array; passes?: number; threads?: number }): {
    gbPerSec: number
    seconds: number
  }
  /** V8's external-memory count for this isolate in bytes (what native objects such as NativeIndex
   * report, plus ArrayBuffer backing stores). Diagnostic; Node 20's memoryUsage().external omits
   * the reported part. */
  externalMemory(): number
}
