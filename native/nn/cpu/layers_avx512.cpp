// AVX-512 level of the nn row/elementwise kernels (compiled with -mavx512f/bw/dq/vl only; see
// sources.json): one zmm (16 floats) per vector step.
#include <immintrin.h>

#include <cstdint>

#include "nn/cpu/layers_kernels.h"

// GCC 12 flags the intrinsics' own _mm512_undefined_ps() pass-through operands wherever they are
// inlined (GCC PR 105593), so the whole file silences that warning.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace {
#include "nn/cpu/layers.inl"

struct Avx512V {
  using reg = __m512;
  static constexpr int W = 16;
  static reg zero() { return _mm512_setzero_ps(); }
  static reg bcast(float x) { return _mm512_set1_ps(x); }
  static reg load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, reg r) { _mm512_storeu_ps(p, r); }
  static reg add(reg a, reg b) { return _mm512_add_ps(a, b); }
  static reg sub(reg a, reg b) { return _mm512_sub_ps(a, b); }
  static reg mul(reg a, reg b) { return _mm512_mul_ps(a, b); }
  static reg fma(reg a, reg b, reg c) { return _mm512_fmadd_ps(a, b, c); }
  // maxps returns its second operand when either is NaN: 0 > a ? 0 : a.
  static reg relu(reg a) { return _mm512_max_ps(_mm512_setzero_ps(), a); }
  static reg pass_pos(reg y, reg d) {
    return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(y, _mm512_setzero_ps(), _CMP_GT_OQ), d);
  }
  static float hsum(reg r) {
    __m256 h = _mm256_add_ps(_mm512_castps512_ps256(r), _mm512_extractf32x8_ps(r, 1));
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
};
}  // namespace

namespace simsage {
namespace cpu {
NnKernels nn_kernels_avx512() { return nnk::make_table<Avx512V>(); }
}  // namespace cpu
}  // namespace simsage

#pragma GCC diagnostic pop
