// The per-ISA GEMM kernels: gemm_scalar.cpp, gemm_avx2.cpp and gemm_avx512.cpp instantiate gemm.inl
// with the SIMD trait of native/core/simd/ (the same register tiles the similarity kernel runs) and
// return a table; gemm_kernels_for() picks one by SimdLevel.
#pragma once
#include <cstdint>

#include "core/cpu_features.h"

namespace simsage {
namespace nn {
namespace cpu {

// One task: rows [i0, i1) of C times panels [p0, p1) of the packed op(B), over all of K.
struct Task {
  const float* a = nullptr;  // A as given (see GemmParams), read through trans_a / lda
  int64_t lda = 0;
  bool trans_a = false;
  // op(B) packed in panels of 16 columns: panel p holds k x 16 floats, element (l, j) at
  // bpack[p * k * 16 + l * 16 + j]; columns past n are zero; the panel count is padded to a
  // multiple of the table's np.
  const float* bpack = nullptr;
  int64_t m = 0, n = 0, k = 0;
  float* c = nullptr;
  int64_t ldc = 0;
  float alpha = 1.f, beta = 0.f;
  int64_t i0 = 0, i1 = 0, p0 = 0, p1 = 0;
  float* apack = nullptr;  // scratch: ceil((i1 - i0) / mr) * mr * kc floats
};

struct GemmKernels {
  void (*run)(const Task& t) = nullptr;
  int mr = 1;  // rows per register tile
  int np = 1;  // panels per register tile
};

constexpr int64_t kKc = 256;  // K block: an A tile (kKc x mr) and a panel group stay in L1

GemmKernels gemm_kernels_scalar();
#if defined(SIMSAGE_X86)
GemmKernels gemm_kernels_avx2();
GemmKernels gemm_kernels_avx512();
#endif

// Level -> table (a level the CPU lacks or the build left out steps down); `used` gets the level.
const GemmKernels& gemm_kernels_for(SimdLevel level, SimdLevel* used = nullptr);

}  // namespace cpu
}  // namespace nn
}  // namespace simsage
