// Scalar (baseline) level of the nn spatial kernels: pool.inl's loops for the baseline target and
// group_norm.inl over the 16-float ScalarV.
#include <cstdint>

#include "nn/cpu/layer_kernels.h"
#include "nn/cpu/spatial_kernels.h"

namespace {
#include "core/simd/scalar.h"
// layer.inl first: group_norm.inl reuses its kern::sum, dot, centered_sumsq and kW.
#include "nn/cpu/layer.inl"
// then the part's kernels, pool.inl before group_norm.inl (which builds the table of both).
#include "nn/cpu/pool.inl"
// (order matters; kept apart so include sorting leaves it)
#include "nn/cpu/group_norm.inl"
}  // namespace

namespace simsage {
namespace nn {
namespace cpu {
SpatialKernels spatial_kernels_scalar() { return kern::make_spatial_kernels<ScalarV>(); }
}  // namespace cpu
}  // namespace nn
}  // namespace simsage
