// AVX2 + FMA level of the fused search kernel (compiled with -mavx2 -mfma only; see sources.json).
// A 16-float "register" is two ymm; a 6-query x 1-panel tile keeps 12 ymm accumulators.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "similarity/cpu/kernels.h"

namespace {
#include "similarity/cpu/kernel.inl"

struct Avx2V {
  struct reg {
    __m256 a, b;
  };
  static constexpr int kMr = 6;
  static constexpr int kNp = 1;
  static reg zero() { return {_mm256_setzero_ps(), _mm256_setzero_ps()}; }
  static reg load(const float* p) { return {_mm256_loadu_ps(p), _mm256_loadu_ps(p + 8)}; }
  static reg bcast(float x) { __m256 v = _mm256_set1_ps(x); return {v, v}; }
  static reg fma(reg a, reg b, reg c) { return {_mm256_fmadd_ps(a.a, b.a, c.a), _mm256_fmadd_ps(a.b, b.b, c.b)}; }
  static reg fmsub2(reg a, reg n) {
    const __m256 two = _mm256_set1_ps(2.f);
    return {_mm256_fmsub_ps(a.a, two, n.a), _mm256_fmsub_ps(a.b, two, n.b)};
  }
  static uint32_t ge_mask(reg r, float t) {
    const __m256 tv = _mm256_set1_ps(t);
    uint32_t lo = static_cast<uint32_t>(_mm256_movemask_ps(_mm256_cmp_ps(r.a, tv, _CMP_GE_OQ)));
    uint32_t hi = static_cast<uint32_t>(_mm256_movemask_ps(_mm256_cmp_ps(r.b, tv, _CMP_GE_OQ)));
    return lo | (hi << 8);
  }
  static void store(float* p, reg r) { _mm256_storeu_ps(p, r.a); _mm256_storeu_ps(p + 8, r.b); }
};
}  // namespace

namespace simsage {
namespace cpu {
KernelTable kernels_avx2() { return kern::make_table<Avx2V>(); }
}  // namespace cpu
}  // namespace simsage
