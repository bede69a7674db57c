// AVX-512 level of the GEMM (compiled with the avx512 flags of native/sources.json only).
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "nn/cpu/gemm_kernels.h"

namespace {
#include "core/simd/avx512.h"
#include "nn/cpu/gemm.inl"
}  // namespace

namespace simsage {
namespace nn {
namespace cpu {
GemmKernels gemm_kernels_avx512() { return kern::make_kernels<Avx512V>(); }
}  // namespace cpu
}  // namespace nn
}  // namespace simsage
