// AVX-512 level of the GEMM (compiled with the avx512 flags of native/sources.json only).
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "nn/cpu/gemm_kernels.h"

namespace {
#include "core/simd/avx512.h"
#include "nn/cpu/gemm_kernel.inl"
}  // namespace

namespace simsage {
namespace gemm_cpu {
Table table_avx512() { return gk::make_table<Avx512V>(); }
}  // namespace gemm_cpu
}  // namespace simsage
