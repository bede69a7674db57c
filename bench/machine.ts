/**
 * Machine ceilings the benchmark divides by: simsage's single-thread float32 FMA peak
 * (`probeFmaPeak`, a register-only FMA loop, checked against a second, differently written one) and a
 * plain streaming read of the corpus bytes
 * (`probeReadBandwidth`) at each thread count.
 */
import os from 'node:os'
import type { SimsageApi } from './simsageApi.js'

/** Ceilings measured on this machine; absent numbers mean simsage could not be loaded. */
export interface MachineProbe {
  readonly cpuModel: string
  readonly logicalCpus: number
  readonly totalMemGiB: number
  readonly platform: string
  readonly node: string
  /** simsage `info()` output, when available. */
  readonly simsageInfo?: unknown
  /** Single-thread FMA peak, GFLOP/s (2 flops per FMA lane). */
  readonly fmaPeakGflops?: number
  /** SIMD level the FMA probe ran with. */
  readonly fmaSimd?: string
  /**
   * The same peak from the second, differently written FMA loop (`variant: 'intrinsics'`), and
   * its ratio to the first: a check on the probe itself (the two should agree within 5%).
   */
  readonly fmaCheckGflops?: number
  readonly fmaCheckRatio?: number
  /** Streaming read of the corpus, GB/s (1e9 bytes), keyed by thread count. */
  readonly readGbPerSec: Record<number, number>
}

/** Static facts about the host, no probing. */
export function hostFacts(): Pick<MachineProbe, 'cpuModel' | 'logicalCpus' | 'totalMemGiB' | 'platform' | 'node'> {
  const cpus = os.cpus()
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    logicalCpus: cpus.length,
    totalMemGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    platform: `${os.platform()} ${os.arch()}`,
    node: process.version,
  }
}

/**
 * Runs the probes: FMA peak for `fmaSeconds`, then a read-bandwidth probe (best of 5 passes)
 * per entry of `threads` over `corpus`.
 */
export function probeMachine(
  api: SimsageApi | undefined,
  corpus: Float32Array,
  threads: readonly number[],
  fmaSeconds = 0.5,
): MachineProbe {
  const facts = hostFacts()
  if (!api) return { ...facts, readGbPerSec: {} }
  const fma = api.probeFmaPeak({ seconds: fmaSeconds })
  const check = api.probeFmaPeak({ seconds: fmaSeconds, variant: 'intrinsics' })
  const readGbPerSec: Record<number, number> = {}
  for (const t of threads) {
    readGbPerSec[t] = api.probeReadBandwidth(corpus, { passes: 5, threads: t }).gbPerSec
  }
  return {
    ...facts,
    simsageInfo: api.info(),
    fmaPeakGflops: fma.gflops,
    fmaSimd: fma.simd,
    fmaCheckGflops: check.gflops,
    fmaCheckRatio: check.gflops / fma.gflops,
    readGbPerSec,
  }
}

/** Busy time of all CPUs (ms) and of this process (ms), for `otherCpuShare`. */
export interface CpuSnapshot {
  readonly wallMs: number
  readonly allBusyMs: number
  readonly selfMs: number
}

/** Takes a CPU-time snapshot (cheap: one `os.cpus()` and one `process.cpuUsage()`). */
export function cpuSnapshot(): CpuSnapshot {
  let busy = 0
  for (const c of os.cpus()) busy += c.times.user + c.times.nice + c.times.sys + c.times.irq
  const self = process.cpuUsage()
  return { wallMs: performance.now(), allBusyMs: busy, selfMs: (self.user + self.system) / 1000 }
}

/**
 * Share of the machine's CPU capacity used by other processes between two snapshots, 0..1:
 * (all CPUs' busy time - this process's CPU time) / (wall time * logical CPUs). A value well
 * above 0 means the timings in that window competed with other work. Undefined for windows under
 * `minWindowMs`: the kernel counts CPU time in scheduler ticks, too coarse for short windows.
 */
export function otherCpuShare(from: CpuSnapshot, to: CpuSnapshot, minWindowMs = 200): number | undefined {
  const wall = to.wallMs - from.wallMs
  if (wall < minWindowMs) return undefined
  const other = to.allBusyMs - from.allBusyMs - (to.selfMs - from.selfMs)
  return Math.min(1, Math.max(0, other / (wall * os.cpus().length)))
}
