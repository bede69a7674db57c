// Scalar (baseline) level of the GEMM: gemm.inl over the 16-float ScalarV, which the compiler may
// vectorise for the baseline target only.
#include <cstdint>
#include <cstring>

#include "nn/cpu/gemm_kernels.h"

namespace {
#include "core/simd/scalar.h"
#include "nn/cpu/gemm.inl"
}  // namespace

namespace simsage {
namespace nn {
namespace cpu {
GemmKernels gemm_kernels_scalar() { return kern::make_kernels<ScalarV>(); }
}  // namespace cpu
}  // namespace nn
}  // namespace simsage
