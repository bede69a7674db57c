// Scalar (baseline) level of the nn spatial kernels: pool.inl's loops for the baseline target and
// group_norm.inl over the 16-float ScalarV.
#include <cstdint>

#include "nn/cpu/layer_kernels.h"
#include "nn/cpu/spatial_kernels.h"

namespace {
#include "core/simd/scalar.h"
#include "nn/cpu/group_norm.inl"
#include "nn/cpu/layer.inl"
#include "nn/cpu/pool.inl"
}  // namespace

namespace simsage {
namespace nn {
namespace cpu {
SpatialKernels spatial_kernels_scalar() { return kern::make_spatial_kernels<ScalarV>(); }
}  // namespace cpu
}  // namespace nn
}  // namespace simsage
