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

export interface RawNativeIndex {
  add(ids: Float64Array, vectors: Float32Array, normalized?: boolean): void
  remove(ids: Float64Array): number
  has(id: number): boolean
  size(): number
  reserve(rows: number): void
  searchSync(args: RawSearchArgs): RawSearchResult
  searchAsync(args: RawSearchArgs): Promise<RawSearchResult>
  exportInto(vectors: Float32Array, ids: Float64Array): number
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


export interface RawBinding extends RawNnBinding, RawMiningBinding {
  topkSync(args: RawTopkArgs): RawSearchResult
  topkAsync(args: RawTopkArgs): Promise<RawSearchResult>
  NativeIndex: new (dim: number, metric: string) => RawNativeIndex
  info(): RawInfo
  setThreads(n: number): number
  setSimd(level: string): string
  setBackend(name: string): string
  probeFmaPeak(simd: string, seconds: number): { gflops: number; simd: string; seconds: number }
  probeReadBandwidth(data: Float32Array, passes: number, threads: number): { gbPerSec: number; seconds: number }
}
