// Scalar (baseline) level of the hash-bag row kernels: bag.inl over the 16-float ScalarV.

#include <cstdint>

#include "text/cpu/bag_kernels.h"

namespace {
#include "core/simd/scalar.h"
#include "text/cpu/bag.inl"
}  // namespace

namespace simsage {
namespace text {
namespace cpu {
BagKernels bag_kernels_scalar() { return kern::make_kernels<ScalarV>(); }
}  // namespace cpu
}  // namespace text
}  // namespace simsage
