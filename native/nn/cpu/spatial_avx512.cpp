// AVX-512 level of the nn spatial kernels (compiled with the avx512 flags of native/sources.json
// only): pool.inl's loops vectorised by the compiler, group_norm.inl one zmm per vector step.
#include <immintrin.h>

#include <cstdint>

#include "nn/cpu/layer_kernels.h"
#include "nn/cpu/spatial_kernels.h"

namespace {
#include "core/simd/avx512.h"
#include "nn/cpu/group_norm.inl"
#include "nn/cpu/layer.inl"
#include "nn/cpu/pool.inl"
}  // namespace

namespace simsage {
namespace nn {
namespace cpu {
SpatialKernels spatial_kernels_avx512() { return kern::make_spatial_kernels<Avx512V>(); }
}  // namespace cpu
}  // namespace nn
}  // namespace simsage
