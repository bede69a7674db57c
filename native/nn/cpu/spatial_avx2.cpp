// AVX2 + FMA level of the nn spatial kernels (compiled with the avx2 flags of native/sources.json
// only): pool.inl's loops vectorised by the compiler, group_norm.inl one ymm per vector step.
#include <immintrin.h>

#include <cstdint>

#include "nn/cpu/layer_kernels.h"
#include "nn/cpu/spatial_kernels.h"

namespace {
#include "core/simd/avx2.h"
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
SpatialKernels spatial_kernels_avx2() { return kern::make_spatial_kernels<Avx2V>(); }
}  // namespace cpu
}  // namespace nn
}  // namespace simsage
