// AVX2 + FMA level of the nn row/elementwise kernels (compiled with the avx2 flags of
// native/sources.json only): one ymm (8 floats) per vector step.
#include <immintrin.h>

#include <cstdint>

#include "nn/cpu/layer_kernels.h"

namespace {
#include "core/simd/avx2.h"
#include "nn/cpu/layer.inl"
}  // namespace

namespace simsage {
namespace nn {
namespace cpu {
LayerKernels layer_kernels_avx2() { return kern::make_kernels<Avx2V>(); }
}  // namespace cpu
}  // namespace nn
}  // namespace simsage
