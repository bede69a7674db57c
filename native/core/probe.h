// Machine probes used by the benchmarks to put kernel timings in context: the single-precision FMA
// peak of one thread at a SIMD level, and the bandwidth of a plain streaming read.
#pragma once
#include <cstdint>

#include "core/cpu_features.h"

namespace simsage {

struct ProbeResult {
  double gflops = 0;   // FMA peak: 2 flops per lane per FMA
  double seconds = 0;  // time the probe ran
};

// Runs independent FMA chains (enough to cover FMA latency) on the calling thread for about
// `min_seconds`. Reports GFLOP/s at `level` (stepped down when unsupported).
ProbeResult probe_fma_peak(SimdLevel level, double min_seconds);

// Sums `bytes` of `data` (as floats) with the widest available loads, `passes` times, across
// `threads` threads (contiguous split). Returns GB/s read (1e9 bytes/s) in gflops's place.
ProbeResult probe_read_bandwidth(const float* data, int64_t n_floats, int passes, int threads);

// Per-ISA bodies (probe_avx2.cpp, probe_avx512.cpp); scalar lives in probe.cpp.
int64_t fma_chains_scalar(int64_t iters, float* sink);
double read_sum_scalar(const float* data, int64_t n);
#if defined(SIMSAGE_X86)
int64_t fma_chains_avx2(int64_t iters, float* sink);
int64_t fma_chains_avx512(int64_t iters, float* sink);
double read_sum_avx2(const float* data, int64_t n);
double read_sum_avx512(const float* data, int64_t n);
#endif

}  // namespace simsage
