// Scalar reference level of the fused search kernel: the same blocking as the SIMD levels, with a
// 16-float "register" the compiler may vectorise for the baseline target only.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "similarity/cpu/search_kernels.h"

namespace {
#include "core/simd/scalar.h"
#include "similarity/cpu/search.inl"
}  // namespace

namespace simsage {
namespace similarity {
namespace cpu {
SearchKernels search_kernels_scalar() { return kern::make_kernels<ScalarV>(); }
}  // namespace cpu
}  // namespace similarity
}  // namespace simsage
