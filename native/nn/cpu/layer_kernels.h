// The per-ISA nn row/elementwise kernels. layer_scalar.cpp, layer_avx2.cpp and layer_avx512.cpp each
// instantiate layer.inl with their core/simd trait and return a table; layers.cpp validates, splits
// rows over the thread pool and calls the table of the chosen level.
// Every kernel works on a row range [r0, r1) of a dense rows x dim matrix (or n elements).
#pragma once
#include <cstdint>

#include "core/cpu_features.h"

namespace simsage {
namespace nn {
namespace cpu {

struct LayerKernels {
  void (*relu_fwd)(int64_t n, const float* x, float* y) = nullptr;
  void (*relu_bwd)(int64_t n, const float* y, const float* dy, float* dx) = nullptr;
  // out[j] = (accumulate ? out[j] : 0) + sum_r m[r * cols + j]   (m: rows x cols)
  void (*col_sum)(int64_t rows, int64_t cols, const float* m, float* out, bool accumulate) = nullptr;
  void (*l2_fwd)(int64_t r0, int64_t r1, int64_t dim, float eps, const float* x, float* y, float* norms) = nullptr;
  void (*l2_bwd)(int64_t r0, int64_t r1, int64_t dim, float eps, const float* y, const float* norms, const float* dy,
                 float* dx) = nullptr;
  void (*ln_fwd)(int64_t r0, int64_t r1, int64_t dim, float eps, const float* x, const float* gamma, const float* beta,
                 float* y, float* mean, float* rstd) = nullptr;
  // Adds this range's dgamma / dbeta contributions to dgamma_acc / dbeta_acc (dim each, or null).
  void (*ln_bwd)(int64_t r0, int64_t r1, int64_t dim, const float* x, const float* gamma, const float* mean,
                 const float* rstd, const float* dy, float* dx, float* dgamma_acc, float* dbeta_acc) = nullptr;
};

LayerKernels layer_kernels_scalar();
#if defined(SIMSAGE_X86)
LayerKernels layer_kernels_avx2();
LayerKernels layer_kernels_avx512();
#endif

// Level -> table (a level the CPU lacks or the build left out steps down); `used` gets the level.
const LayerKernels& layer_kernels_for(SimdLevel level, SimdLevel* used = nullptr);

}  // namespace cpu
}  // namespace nn
}  // namespace simsage
