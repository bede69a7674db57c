// Scalar (baseline) level of the nn row/elementwise kernels: layer.inl over the 16-float ScalarV,
// which the compiler may vectorise for the baseline target only.
#include <cstdint>

#include "nn/cpu/layer_kernels.h"

namespace {
#include "core/simd/scalar.h"
#include "nn/cpu/layer.inl"
}  // namespace

namespace simsage {
namespace nn {
namespace cpu {
LayerKernels layer_kernels_scalar() { return kern::make_kernels<ScalarV>(); }
}  // namespace cpu
}  // namespace nn
}  // namespace simsage
