// AVX-512 level of the causal conv (compiled with the avx512 flags of native/sources.json only).
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "nn/cpu/gemm_kernels.h"
#include "temporal/cpu/conv_kernels.h"

namespace {
#include "core/simd/avx512.h"
#include "nn/cpu/gemm.inl"
#include "temporal/cpu/conv.inl"
}  // namespace

namespace simsage {
namespace temporal {
namespace cpu {
ConvKernels conv_kernels_avx512() { return convk::make_kernels<Avx512V>(); }
}  // namespace cpu
}  // namespace temporal
}  // namespace simsage
