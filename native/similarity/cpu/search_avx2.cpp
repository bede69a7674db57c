// AVX2 + FMA level of the fused search kernel (compiled with -mavx2 -mfma only; see sources.json).
// A 16-float "register" is two ymm; a 6-query x 1-panel tile keeps 12 ymm accumulators (nreg = __m256,
// so the tile keeps them as plain registers).
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "similarity/cpu/search_kernels.h"

namespace {
#include "core/simd/avx2.h"
#include "similarity/cpu/search.inl"
}  // namespace

namespace simsage {
namespace similarity {
namespace cpu {
SearchKernels search_kernels_avx2() { return kern::make_kernels<Avx2V>(); }
}  // namespace cpu
}  // namespace similarity
}  // namespace simsage
