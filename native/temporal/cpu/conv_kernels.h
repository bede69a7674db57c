// The per-ISA causal-conv kernels: conv_scalar.cpp, conv_avx2.cpp and conv_avx512.cpp instantiate
// conv.inl (over the register tile of nn/cpu/gemm.inl) with a SIMD trait of native/core/simd/ and
// return a table; conv_kernels_for() picks one by SimdLevel.
#pragma once
#include <cstdint>

#include "core/cpu_features.h"

namespace simsage {
namespace temporal {
namespace cpu {

// One task: global rows [r0, r1) of the output (row r = b * steps + t) times panels [p0, p1) of
// the packed B operand, over the whole folded reduction of taps * cin.
//   out[r, j] (+)= sum_k sum_c x[b, t + offset[k], c] * B[k * cin + c, j]
// where a row t + offset[k] outside [0, steps) reads as zero (the causal padding for the forward,
// the rows past the end for dx).
struct ConvTask {
  const float* x = nullptr;  // batch x steps x cin
  int64_t steps = 0;
  int64_t cin = 0;  // channels per tap (row length of x)
  int64_t taps = 0;
  const int64_t* offset = nullptr;  // taps entries
  // B (taps * cin) x n packed in panels of 16 columns: element (l, j) of panel p at
  // bpack[p * taps * cin * 16 + l * 16 + j]; zero past n; panel count a multiple of the table's np.
  const float* bpack = nullptr;
  int64_t n = 0;
  float* y = nullptr;  // row r at y + r * ldy
  int64_t ldy = 0;
  const float* bias = nullptr;  // n or null: the initial value (0 when null) unless accumulate
  bool accumulate = false;      // add to y instead
  bool relu = false;            // y = max(y, 0) after the sum
  int64_t r0 = 0, r1 = 0, p0 = 0, p1 = 0;
  float* apack = nullptr;  // scratch: ceil((r1 - r0) / mr) * mr * kKc floats
};

struct ConvKernels {
  void (*run)(const ConvTask& t) = nullptr;
  int mr = 1;
  int np = 1;
};

ConvKernels conv_kernels_scalar();
#if defined(SIMSAGE_X86)
ConvKernels conv_kernels_avx2();
ConvKernels conv_kernels_avx512();
#endif

const ConvKernels& conv_kernels_for(SimdLevel level, SimdLevel* used = nullptr);

}  // namespace cpu
}  // namespace temporal
}  // namespace simsage
