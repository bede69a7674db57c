#include "core/probe.h"

#include <atomic>
#include <chrono>
#include <vector>

#include "core/thread_pool.h"

namespace simsage {
namespace {
double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }
SimdLevel supported(SimdLevel l) { return supported_simd_level(l); }
}  // namespace

namespace {
constexpr int kScalarChains = 8;
}  // namespace

int64_t fma_chains_scalar(int64_t iters, float* sink) {
  // 8 independent multiply-add chains with distinct addends (identical chains would be merged);
  // baseline x86-64 has no FMA, so this is the scalar level's mul + add rate. Returns flops.
  float a[kScalarChains], c[kScalarChains];
  for (int j = 0; j < kScalarChains; ++j) a[j] = 1.0f + 0.01f * static_cast<float>(j), c[j] = 1e-7f * (j + 1);
  const float m = 0.999999f;
  for (int64_t i = 0; i < iters; ++i)
    for (int j = 0; j < kScalarChains; ++j) a[j] = a[j] * m + c[j];
  float s = 0;
  for (int j = 0; j < kScalarChains; ++j) s += a[j];
  *sink = s;
  return iters * kScalarChains * 2;
}

int fma_probe_fmas_per_iteration(SimdLevel level, FmaProbe variant) {
  if (supported(level) == SimdLevel::Scalar) return kScalarChains;
  return variant == FmaProbe::Asm ? kFmaChainsAsm : kFmaChainsIntrinsics;
}

int fma_probe_lanes(SimdLevel level) {
  switch (supported(level)) {
    case SimdLevel::Avx512:
      return 16;
    case SimdLevel::Avx2:
      return 8;
    default:
      return 1;
  }
}

int read_probe_bytes_per_iteration(SimdLevel level) { return 4 * fma_probe_lanes(level) * 4; }

double read_sum_scalar(const float* data, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += data[i];
  return s;
}

ProbeResult probe_fma_peak(SimdLevel level, double min_seconds, FmaProbe variant) {
  level = supported(level);
  const bool intrinsics = variant == FmaProbe::Intrinsics;
  auto run = [&](int64_t iters, float* sink) -> int64_t {
#if defined(SIMSAGE_X86)
    if (level == SimdLevel::Avx512)
      return intrinsics ? fma_intrinsics_avx512(iters, sink) : fma_chains_avx512(iters, sink);
    if (level == SimdLevel::Avx2) return intrinsics ? fma_intrinsics_avx2(iters, sink) : fma_chains_avx2(iters, sink);
#else
    (void)intrinsics;
#endif
    return fma_chains_scalar(iters, sink);
  };
  float sink = 0;
  int64_t iters = 1 << 16;
  run(iters, &sink);  // warm up (clock ramp)
  ProbeResult best;
  double start = now();
  while (now() - start < min_seconds) {
    double t0 = now();
    int64_t flops = run(iters, &sink);
    double dt = now() - t0;
    if (dt < 1e-3) {
      iters *= 4;
      continue;
    }
    double g = flops / dt / 1e9;
    if (g > best.gflops) best.gflops = g;
  }
  best.seconds = now() - start;
  return best;
}

ProbeResult probe_read_bandwidth(const float* data, int64_t n, int passes, int threads) {
  SimdLevel level = supported(active_simd_level());
  auto sum = [&](const float* p, int64_t m) -> double {
#if defined(SIMSAGE_X86)
    if (level == SimdLevel::Avx512) return read_sum_avx512(p, m);
    if (level == SimdLevel::Avx2) return read_sum_avx2(p, m);
#endif
    return read_sum_scalar(p, m);
  };
  threads = resolve_threads(threads);
  std::vector<double> partial(threads, 0.0);
  const int64_t chunk = (n + threads - 1) / threads;
  ProbeResult best;
  double total = 0;
  for (int pass = 0; pass < passes; ++pass) {
    double t0 = now();
    parallel_for(threads, threads, [&](int64_t t, int) {
      int64_t b = t * chunk, e = std::min<int64_t>(n, b + chunk);
      if (b < e) partial[t] += sum(data + b, e - b);
    });
    double dt = now() - t0;
    total += dt;
    double gbs = n * 4.0 / dt / 1e9;
    if (gbs > best.gflops) best.gflops = gbs;
  }
  volatile double keep = 0;
  for (double v : partial) keep = keep + v;
  best.seconds = total;
  return best;
}

}  // namespace simsage
