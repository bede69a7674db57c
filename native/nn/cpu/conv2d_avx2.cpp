// AVX2 + FMA level of the 2-D convolution (compiled with the avx2 flags of native/sources.json only).
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "nn/cpu/conv2d_kernels.h"

namespace {
#include "core/simd/avx2.h"
#include "nn/cpu/conv2d.inl"
}  // namespace

namespace simsage {
namespace nn {
namespace cpu {
Conv2dKernels conv2d_kernels_avx2() { return conv2dk::make_kernels<Avx2V>(); }
}  // namespace cpu
}  // namespace nn
}  // namespace simsage
