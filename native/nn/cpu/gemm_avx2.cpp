// AVX2 + FMA level of the GEMM (compiled with the avx2 flags of native/sources.json only).
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "nn/cpu/gemm_kernels.h"

namespace {
#include "core/simd/avx2.h"
#include "nn/cpu/gemm_kernel.inl"
}  // namespace

namespace simsage {
namespace gemm_cpu {
Table table_avx2() { return gk::make_table<Avx2V>(); }
}  // namespace gemm_cpu
}  // namespace simsage
