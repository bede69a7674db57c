// AVX2 + FMA level of the nn spatial kernels (compiled with the avx2 flags of native/sources.json
// only): pool.inl's loops vectorised by the compiler, group_norm.inl one ymm per vector step.
#include <immintrin.h>

#include <cstdint>

#include "nn/cpu/layer_kernels.h"
#include "nn/cpu/spatial_kernels.h"

namespace {
#include "core/simd/avx2.h"
#include "nn/cpu/group_norm.inl"
#include "nn/cpu/layer.inl"
#include "nn/cpu/pool.inl"
}  // namespace

namespace simsage {
namespace nn {
namespace cpu {
SpatialKernels spatial_kernels_avx2() { return kern::make_spatial_kernels<Avx2V>(); }
}  // namespace cpu
}  // namespace nn
}  // namespace simsage
