// The per-ISA table of the nn row/elementwise kernels. layers.cpp (scalar), layers_avx2.cpp and
// layers_avx512.cpp each instantiate layers.inl with their SIMD trait and return a table;
// layers.cpp validates, splits rows over the thread pool and calls the table of the chosen level.
// Every kernel works on a row range [r0, r1) of a dense rows x dim matrix (or n elements).
#pragma once
#include <cstdint>

#include "core/cpu_features.h"

namespace simsage {
namespace cpu {

struct NnKernels {
  void (*relu_fwd)(int64_t n, const float* x, float* y) = nullptr;
  void (*relu_bwd)(int64_t n, const float* y, const float* dy, float* dx) = nullptr;
  // out[j] = (accumulate ? out[j] : 0) + sum_r m[r * cols + j]   (m: rows x cols)
  void (*col_sum)(int64_t rows, int64_t cols, const float* m, float* out, bool accumulate) = nullptr;
  void (*l2_fwd)(int64_t r0, int64_t r1, int64_t dim, float eps, const float* x, float* y, float* norms) = nullptr;
  void (*l2_bwd)(int64_t r0, int64_t r1, int64_t dim, float eps, const float* y, const float* norms,
                 const float* dy, float* dx) = nullptr;
  void (*ln_fwd)(int64_t r0, int64_t r1, int64_t dim, float eps, const float* x, const float* gamma,
                 const float* beta, float* y, float* mean, float* rstd) = nullptr;
  // Adds this range's dgamma / dbeta contributions to dgamma_acc / dbeta_acc (dim each, or null).
  void (*ln_bwd)(int64_t r0, int64_t r1, int64_t dim, const float* x, const float* gamma, const float* mean,
                 const float* rstd, const float* dy, float* dx, float* dgamma_acc, float* dbeta_acc) = nullptr;
};

NnKernels nn_kernels_scalar();
#if defined(SIMSAGE_X86)
NnKernels nn_kernels_avx2();
NnKernels nn_kernels_avx512();
#endif

// Level -> table, stepping down to a level that is compiled in and supported.
const NnKernels& nn_kernels_for(SimdLevel level);

}  // namespace cpu
}  // namespace simsage
