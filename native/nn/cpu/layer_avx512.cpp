// AVX-512 level of the nn row/elementwise kernels (compiled with the avx512 flags of
// native/sources.json only): one zmm (16 floats) per vector step.
#include <immintrin.h>

#include <cstdint>

#include "nn/cpu/layer_kernels.h"

namespace {
#include "core/simd/avx512.h"
#include "nn/cpu/layer.inl"
}  // namespace

namespace simsage {
namespace nn {
namespace cpu {
LayerKernels layer_kernels_avx512() { return kern::make_kernels<Avx512V>(); }
}  // namespace cpu
}  // namespace nn
}  // namespace simsage
