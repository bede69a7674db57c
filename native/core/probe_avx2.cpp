// AVX2 + FMA probe bodies (compiled with -mavx2 -mfma only).
#include <immintrin.h>

#include "core/probe.h"

namespace simsage {

namespace {
float hsum(__m256 v) {
  alignas(32) float out[8];
  _mm256_store_ps(out, v);
  float s = 0;
  for (float x : out) s += x;
  return s;
}
}  // namespace

int64_t fma_chains_avx2(int64_t iters, float* sink) {
  // As fma_chains_avx512 with ymm registers: 12 accumulators + m + c fit the 16 ymm registers.
  static_assert(kFmaChainsAsm == 12, "the asm block lists 12 FMAs");
  __m256 a0 = _mm256_set1_ps(1.00f), a1 = _mm256_set1_ps(1.01f), a2 = _mm256_set1_ps(1.02f), a3 = _mm256_set1_ps(1.03f),
         a4 = _mm256_set1_ps(1.04f), a5 = _mm256_set1_ps(1.05f), a6 = _mm256_set1_ps(1.06f), a7 = _mm256_set1_ps(1.07f),
         a8 = _mm256_set1_ps(1.08f), a9 = _mm256_set1_ps(1.09f), a10 = _mm256_set1_ps(1.10f),
         a11 = _mm256_set1_ps(1.11f);
  const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
  for (int64_t i = 0; i < iters; ++i) {
    asm volatile(
        "vfmadd213ps %[c], %[m], %[a0]\n\t"
        "vfmadd213ps %[c], %[m], %[a1]\n\t"
        "vfmadd213ps %[c], %[m], %[a2]\n\t"
        "vfmadd213ps %[c], %[m], %[a3]\n\t"
        "vfmadd213ps %[c], %[m], %[a4]\n\t"
        "vfmadd213ps %[c], %[m], %[a5]\n\t"
        "vfmadd213ps %[c], %[m], %[a6]\n\t"
        "vfmadd213ps %[c], %[m], %[a7]\n\t"
        "vfmadd213ps %[c], %[m], %[a8]\n\t"
        "vfmadd213ps %[c], %[m], %[a9]\n\t"
        "vfmadd213ps %[c], %[m], %[a10]\n\t"
        "vfmadd213ps %[c], %[m], %[a11]"
        : [a0] "+x"(a0), [a1] "+x"(a1), [a2] "+x"(a2), [a3] "+x"(a3), [a4] "+x"(a4), [a5] "+x"(a5), [a6] "+x"(a6),
          [a7] "+x"(a7), [a8] "+x"(a8), [a9] "+x"(a9), [a10] "+x"(a10), [a11] "+x"(a11)
        : [m] "x"(m), [c] "x"(c));
  }
  const __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                                               _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7))),
                                 _mm256_add_ps(_mm256_add_ps(a8, a9), _mm256_add_ps(a10, a11)));
  *sink = hsum(s);
  return iters * kFmaChainsAsm * 8 * 2;
}

int64_t fma_intrinsics_avx2(int64_t iters, float* sink) {
  // See fma_intrinsics_avx512. 10 chains + m leave 5 ymm registers for the 10 addends: some FMAs
  // take their addend from memory (a load each, well within two loads per cycle).
  __m256 a[kFmaChainsIntrinsics], c[kFmaChainsIntrinsics];
  for (int j = 0; j < kFmaChainsIntrinsics; ++j) {
    a[j] = _mm256_set1_ps(1.0f + 0.01f * static_cast<float>(j));
    c[j] = _mm256_set1_ps(1e-7f * static_cast<float>(j + 1));
  }
  const __m256 m = _mm256_set1_ps(0.999999f);
#pragma GCC unroll 1
  for (int64_t i = 0; i < iters; ++i)
    for (int j = 0; j < kFmaChainsIntrinsics; ++j) a[j] = _mm256_fmadd_ps(a[j], m, c[j]);
  __m256 s = a[0];
  for (int j = 1; j < kFmaChainsIntrinsics; ++j) s = _mm256_add_ps(s, a[j]);
  *sink = hsum(s);
  return iters * kFmaChainsIntrinsics * 8 * 2;
}

double read_sum_avx2(const float* data, int64_t n) {
  // 4 independent sums over 32 floats (128 bytes) per iteration: read_probe_bytes_per_iteration.
  __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    s0 = _mm256_add_ps(s0, _mm256_loadu_ps(data + i));
    s1 = _mm256_add_ps(s1, _mm256_loadu_ps(data + i + 8));
    s2 = _mm256_add_ps(s2, _mm256_loadu_ps(data + i + 16));
    s3 = _mm256_add_ps(s3, _mm256_loadu_ps(data + i + 24));
  }
  double s = hsum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
  for (; i < n; ++i) s += data[i];
  return s;
}

}  // namespace simsage
