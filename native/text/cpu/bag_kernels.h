// The per-ISA row kernels of the hash embedding bag. bag_scalar.cpp, bag_avx2.cpp and bag_avx512.cpp
// each instantiate bag.inl with their core/simd trait and return a table; bag.cpp splits segments
// and rows over the thread pool and calls the table of the chosen level (the layer norm is the nn
// family's ln_fwd / ln_bwd of the same level).
#pragma once
#include <cstdint>

#include "core/cpu_features.h"

namespace simsage {
namespace text {
namespace cpu {

struct BagKernels {
  // y[i] += a * x[i], i < n
  void (*axpy)(int64_t n, float a, const float* x, float* y) = nullptr;
  // y[i] += a0 * x0[i] + a1 * x1[i], i < n (one token's two rows)
  void (*axpy2)(int64_t n, float a0, const float* x0, float a1, const float* x1, float* y) = nullptr;
  // sum x[i] * y[i], i < n
  float (*dot)(int64_t n, const float* x, const float* y) = nullptr;
};

BagKernels bag_kernels_scalar();
#if defined(SIMSAGE_X86)
BagKernels bag_kernels_avx2();
BagKernels bag_kernels_avx512();
#endif

// Level -> table (a level the CPU lacks or the build left out steps down); `used` gets the level.
const BagKernels& bag_kernels_for(SimdLevel level, SimdLevel* used = nullptr);

}  // namespace cpu
}  // namespace text
}  // namespace simsage
