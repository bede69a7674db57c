// Machine probes used by the benchmarks to put kernel timings in context: the single-precision FMA
// peak of one thread at a SIMD level, and the bandwidth of a plain streaming read.
//
// A probe only means something if its loop does what it counts: the FMA loops are written so that
// no compiler can fold chains together (an earlier intrinsics loop of ten identical chains compiled
// to one vfmadd per iteration and overstated the peak by a quarter). native/tests/test_core.cpp
// disassembles the built loops and checks them against the per-iteration constants below.
#pragma once
#include <cstdint>

#include "core/cpu_features.h"

namespace simsage {

struct ProbeResult {
  double gflops = 0;   // FMA peak: 2 flops per lane per FMA
  double seconds = 0;  // time the probe ran
};

// Two differently written FMA loops, so each can be checked against the other:
//   Asm        : one inline-asm block listing kFmaChainsAsm vfmadd213ps, each on its own
//                accumulator register (the reported peak).
//   Intrinsics : kFmaChainsIntrinsics chains of _mm*_fmadd_ps with a distinct addend per chain.
enum class FmaProbe { Asm = 0, Intrinsics = 1 };
constexpr int kFmaChainsAsm = 12;         // covers a 4-cycle FMA latency at up to 3 FMAs per cycle
constexpr int kFmaChainsIntrinsics = 10;  // covers 4 cycles at 2 FMAs per cycle, plus slack

// FMA instructions one iteration of the probe loop issues (what the flop count assumes).
int fma_probe_fmas_per_iteration(SimdLevel level, FmaProbe variant);
// Float lanes of one FMA at `level` (16 AVX-512, 8 AVX2, 1 scalar).
int fma_probe_lanes(SimdLevel level);

// Runs the FMA loop of `variant` on the calling thread for about `min_seconds`. Reports GFLOP/s at
// `level` (stepped down when unsupported).
ProbeResult probe_fma_peak(SimdLevel level, double min_seconds, FmaProbe variant = FmaProbe::Asm);

// Sums `bytes` of `data` (as floats) with the widest available loads, `passes` times, across
// `threads` threads (contiguous split). Returns GB/s read (1e9 bytes/s) in gflops's place.
ProbeResult probe_read_bandwidth(const float* data, int64_t n_floats, int passes, int threads);
// Bytes one iteration of the read loop at `level` loads (the loop reads every one of them once).
int read_probe_bytes_per_iteration(SimdLevel level);

// Per-ISA bodies (probe_avx2.cpp, probe_avx512.cpp); scalar lives in probe.cpp. Each returns the
// flops it performed (fma_*) or the sum it read (read_sum_*).
int64_t fma_chains_scalar(int64_t iters, float* sink);
double read_sum_scalar(const float* data, int64_t n);
#if defined(SIMSAGE_X86)
int64_t fma_chains_avx2(int64_t iters, float* sink);
int64_t fma_chains_avx512(int64_t iters, float* sink);
int64_t fma_intrinsics_avx2(int64_t iters, float* sink);
int64_t fma_intrinsics_avx512(int64_t iters, float* sink);
double read_sum_avx2(const float* data, int64_t n);
double read_sum_avx512(const float* data, int64_t n);
#endif

}  // namespace simsage
