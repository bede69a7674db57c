// AVX-512 level of the fused search kernel (compiled with -mavx512f/bw/dq/vl only; see
// sources.json). One zmm per 16-row panel; a 12-query x 2-panel tile keeps 24 zmm accumulators
// (of 32), leaving room for the two panel loads and the broadcast.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "similarity/cpu/kernels.h"

namespace {
#include "similarity/cpu/kernel.inl"

struct Avx512V {
  using reg = __m512;
  static constexpr int kMr = 12;
  static constexpr int kNp = 2;
  static reg zero() { return _mm512_setzero_ps(); }
  static reg load(const float* p) { return _mm512_loadu_ps(p); }
  static reg bcast(float x) { return _mm512_set1_ps(x); }
  static reg fma(reg a, reg b, reg c) { return _mm512_fmadd_ps(a, b, c); }
  static reg fmsub2(reg a, reg n) { return _mm512_fmsub_ps(a, _mm512_set1_ps(2.f), n); }
  static uint32_t ge_mask(reg r, float t) {
    return static_cast<uint32_t>(_mm512_cmp_ps_mask(r, _mm512_set1_ps(t), _CMP_GE_OQ));
  }
  static void store(float* p, reg r) { _mm512_storeu_ps(p, r); }
};
}  // namespace

namespace simsage {
namespace cpu {
KernelTable kernels_avx512() { return kern::make_table<Avx512V>(); }
}  // namespace cpu
}  // namespace simsage
