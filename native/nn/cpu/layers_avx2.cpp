// AVX2 + FMA level of the nn row/elementwise kernels (compiled with -mavx2 -mfma only; see
// sources.json): one ymm (8 floats) per vector step.
#include <immintrin.h>

#include <cstdint>

#include "nn/cpu/layers_kernels.h"

namespace {
#include "nn/cpu/layers.inl"

struct Avx2V {
  using reg = __m256;
  static constexpr int W = 8;
  static reg zero() { return _mm256_setzero_ps(); }
  static reg bcast(float x) { return _mm256_set1_ps(x); }
  static reg load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, reg r) { _mm256_storeu_ps(p, r); }
  static reg add(reg a, reg b) { return _mm256_add_ps(a, b); }
  static reg sub(reg a, reg b) { return _mm256_sub_ps(a, b); }
  static reg mul(reg a, reg b) { return _mm256_mul_ps(a, b); }
  static reg fma(reg a, reg b, reg c) { return _mm256_fmadd_ps(a, b, c); }
  // maxps returns its second operand when either is NaN: 0 > a ? 0 : a.
  static reg relu(reg a) { return _mm256_max_ps(_mm256_setzero_ps(), a); }
  static reg pass_pos(reg y, reg d) { return _mm256_and_ps(_mm256_cmp_ps(y, _mm256_setzero_ps(), _CMP_GT_OQ), d); }
  static float hsum(reg r) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(r), _mm256_extractf128_ps(r, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
};
}  // namespace

namespace simsage {
namespace cpu {
NnKernels nn_kernels_avx2() { return nnk::make_table<Avx2V>(); }
}  // namespace cpu
}  // namespace simsage
