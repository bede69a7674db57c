// Scalar reference level of the fused search kernel: the same blocking as the SIMD levels, with a
// 16-float "register" the compiler may vectorise for the baseline target only.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "similarity/cpu/kernels.h"

namespace {
#include "similarity/cpu/kernel.inl"

#include "core/simd/scalar.h"
}  // namespace

namespace simsage {
namespace cpu {
KernelTable kernels_scalar() { return kern::make_table<ScalarV>(); }
}  // namespace cpu
}  // namespace simsage
