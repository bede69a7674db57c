// Scalar (baseline) level of the causal conv: conv.inl over the 16-float ScalarV.

#include <cstdint>
#include <cstring>

#include "nn/cpu/gemm_kernels.h"
#include "temporal/cpu/conv_kernels.h"

namespace {
#include "core/simd/scalar.h"
#include "nn/cpu/gemm.inl"
#include "temporal/cpu/conv.inl"
}  // namespace

namespace simsage {
namespace temporal {
namespace cpu {
ConvKernels conv_kernels_scalar() { return convk::make_kernels<ScalarV>(); }
}  // namespace cpu
}  // namespace temporal
}  // namespace simsage
