// Checks of the nn part `spatial` (spatial_checks.cpp), shared by the drivers and the reference.
#pragma once
#include <cstdint>

#include "nn/cpu/spatial_kernels.h"
#include "nn/nn.h"

namespace simsage {
namespace nn {
namespace cpu {

// The pooling geometry of p after checking it (ERR_SIMSAGE_DIM_MISMATCH / INVALID_ARGUMENT).
PoolShape pool_shape(const char* fn, const Pool2dParams& p);
// Shape, pointers, and (forward) NaN / Inf in x -> ERR_SIMSAGE_NON_FINITE.
PoolShape pool_forward_check(const char* fn, const Pool2dParams& p, bool max);
PoolShape pool_backward_check(const char* fn, const Pool2dBackwardParams& p, bool max);
void group_norm_forward_check(const GroupNormParams& p);
void group_norm_backward_check(const GroupNormBackwardParams& p);

}  // namespace cpu
}  // namespace nn
}  // namespace simsage
