// AVX-512 level of the fused search kernel (compiled with -mavx512f/bw/dq/vl only; see
// sources.json). One zmm per 16-row panel; a 12-query x 2-panel tile keeps 24 zmm accumulators
// (of 32), leaving room for the two panel loads and the broadcast.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "similarity/cpu/search_kernels.h"

namespace {
#include "core/simd/avx512.h"
#include "similarity/cpu/search.inl"
}  // namespace

namespace simsage {
namespace similarity {
namespace cpu {
SearchKernels search_kernels_avx512() { return kern::make_kernels<Avx512V>(); }
}  // namespace cpu
}  // namespace similarity
}  // namespace simsage
