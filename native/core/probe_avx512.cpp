// AVX-512 probe bodies (compiled with -mavx512f only among the 512-bit extensions it uses).
#include <immintrin.h>

#include "core/probe.h"

namespace simsage {

namespace {
float hsum(__m512 v) {
  alignas(64) float out[16];
  _mm512_store_ps(out, v);
  float s = 0;
  for (float x : out) s += x;
  return s;
}
}  // namespace

int64_t fma_chains_avx512(int64_t iters, float* sink) {
  // kFmaChainsAsm accumulators, a_j = a_j * m + c, each in its own zmm register. The FMAs are
  // spelled out in asm so the compiler can neither merge chains nor drop any.
  static_assert(kFmaChainsAsm == 12, "the asm block lists 12 FMAs");
  __m512 a0 = _mm512_set1_ps(1.00f), a1 = _mm512_set1_ps(1.01f), a2 = _mm512_set1_ps(1.02f), a3 = _mm512_set1_ps(1.03f),
         a4 = _mm512_set1_ps(1.04f), a5 = _mm512_set1_ps(1.05f), a6 = _mm512_set1_ps(1.06f), a7 = _mm512_set1_ps(1.07f),
         a8 = _mm512_set1_ps(1.08f), a9 = _mm512_set1_ps(1.09f), a10 = _mm512_set1_ps(1.10f),
         a11 = _mm512_set1_ps(1.11f);
  const __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
  for (int64_t i = 0; i < iters; ++i) {
    // AT&T operand order: vfmadd213ps c, m, a  ->  a = m * a + c
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
        : [a0] "+v"(a0), [a1] "+v"(a1), [a2] "+v"(a2), [a3] "+v"(a3), [a4] "+v"(a4), [a5] "+v"(a5), [a6] "+v"(a6),
          [a7] "+v"(a7), [a8] "+v"(a8), [a9] "+v"(a9), [a10] "+v"(a10), [a11] "+v"(a11)
        : [m] "v"(m), [c] "v"(c));
  }
  const __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),
                                               _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(a6, a7))),
                                 _mm512_add_ps(_mm512_add_ps(a8, a9), _mm512_add_ps(a10, a11)));
  *sink = hsum(s);
  return iters * kFmaChainsAsm * 16 * 2;
}

int64_t fma_intrinsics_avx512(int64_t iters, float* sink) {
  // The second, independently written probe: kFmaChainsIntrinsics chains in an array, each with
  // its own addend so that no two chains compute the same value (identical chains get merged).
  __m512 a[kFmaChainsIntrinsics], c[kFmaChainsIntrinsics];
  for (int j = 0; j < kFmaChainsIntrinsics; ++j) {
    a[j] = _mm512_set1_ps(1.0f + 0.01f * static_cast<float>(j));
    c[j] = _mm512_set1_ps(1e-7f * static_cast<float>(j + 1));
  }
  const __m512 m = _mm512_set1_ps(0.999999f);
#pragma GCC unroll 1
  for (int64_t i = 0; i < iters; ++i)
    for (int j = 0; j < kFmaChainsIntrinsics; ++j) a[j] = _mm512_fmadd_ps(a[j], m, c[j]);
  __m512 s = a[0];
  for (int j = 1; j < kFmaChainsIntrinsics; ++j) s = _mm512_add_ps(s, a[j]);
  *sink = hsum(s);
  return iters * kFmaChainsIntrinsics * 16 * 2;
}

double read_sum_avx512(const float* data, int64_t n) {
  // 4 independent sums over 64 floats (256 bytes) per iteration: read_probe_bytes_per_iteration.
  __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) {
    s0 = _mm512_add_ps(s0, _mm512_loadu_ps(data + i));
    s1 = _mm512_add_ps(s1, _mm512_loadu_ps(data + i + 16));
    s2 = _mm512_add_ps(s2, _mm512_loadu_ps(data + i + 32));
    s3 = _mm512_add_ps(s3, _mm512_loadu_ps(data + i + 48));
  }
  double s = hsum(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
  for (; i < n; ++i) s += data[i];
  return s;
}

}  // namespace simsage
