// Scalar (baseline) level of the 2-D convolution: conv2d.inl over the 16-float ScalarV.
#include <cstdint>
#include <cstring>

#include "nn/cpu/conv2d_kernels.h"

namespace {
#include "core/simd/scalar.h"
#include "nn/cpu/conv2d.inl"
}  // namespace

namespace simsage {
namespace nn {
namespace cpu {
Conv2dKernels conv2d_kernels_scalar() { return conv2dk::make_kernels<ScalarV>(); }
}  // namespace cpu
}  // namespace nn
}  // namespace simsage
