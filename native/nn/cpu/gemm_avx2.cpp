// AVX2 + FMA level of the GEMM (compiled with the avx2 flags of native/sources.json only).
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "nn/cpu/gemm_kernels.h"

namespace {
#include "core/simd/avx2.h"
#include "nn/cpu/gemm.inl"
}  // namespace

namespace simsage {
namespace nn {
namespace cpu {
GemmKernels gemm_kernels_avx2() { return kern::make_kernels<Avx2V>(); }
}  // namespace cpu
}  // namespace nn
}  // namespace simsage
