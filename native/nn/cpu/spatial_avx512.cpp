// AVX-512 level of the nn spatial kernels (compiled with the avx512 flags of native/sources.json
// only): pool.inl's loops vectorised by the compiler, group_norm.inl one zmm per vector step.
#include <immintrin.h>

#include <cstdint>

#include "nn/cpu/layer_kernels.h"
#include "nn/cpu/spatial_kernels.h"

namespace {
#include "core/simd/avx512.h"
// layer.inl first: group_norm.inl reuses its kern::sum, dot, centered_sumsq and kW.
#include "nn/cpu/layer.inl"
// then the part's kernels, pool.inl before group_norm.inl (which builds the table of both).
#include "nn/cpu/pool.inl"
// (order matters; kept apart so include sorting leaves it)
#include "nn/cpu/group_norm.inl"
}  // namespace

namespace simsage {
namespace nn {
namespace cpu {
SpatialKernels spatial_kernels_avx512() { return kern::make_spatial_kernels<Avx512V>(); }
}  // namespace cpu
}  // namespace nn
}  // namespace simsage
