// The per-ISA kernels of the nn part `spatial` (pooling and group norm over NCHW images; nn.h).
// spatial_scalar.cpp, spatial_avx2.cpp and spatial_avx512.cpp each instantiate pool.inl and
// group_norm.inl and return a table; pool.cpp and group_norm.cpp check, split the work over the
// thread pool and call the table of the chosen level.
//
// One part for both ideas: they share the layout (per-plane or per-group blocks of B x C x H x W),
// the callers (the conv towers' modules) and the dispatch, so one table and one set of ISA files
// serve both; each idea keeps its own .inl.
#pragma once
#include <cstdint>

#include "core/cpu_features.h"

namespace simsage {
namespace nn {
namespace cpu {

// One pooling problem: planes of H x W in, OH x OW out (kernel, stride, padding per axis).
struct PoolShape {
  int64_t h, w, oh, ow, kh, kw, sh, sw, ph, pw;
};

struct SpatialKernels {
  // Planes [p0, p1) of x (each H x W) -> y (each OH x OW); max also writes argmax.
  void (*max_fwd)(const PoolShape& s, int64_t p0, int64_t p1, const float* x, float* y, int32_t* argmax) = nullptr;
  void (*avg_fwd)(const PoolShape& s, int64_t p0, int64_t p1, const float* x, float* y) = nullptr;
  // Planes [p0, p1): dx overwritten from dy.
  void (*max_bwd)(const PoolShape& s, int64_t p0, int64_t p1, const int32_t* argmax, const float* dy,
                  float* dx) = nullptr;
  void (*avg_bwd)(const PoolShape& s, int64_t p0, int64_t p1, const float* dy, float* dx) = nullptr;
  // Samples [b0, b1) of B x C x S, G groups.
  void (*gn_fwd)(int64_t b0, int64_t b1, int64_t c, int64_t g, int64_t s, float eps, const float* x, const float* gamma,
                 const float* beta, float* y, float* mean, float* rstd) = nullptr;
  // Adds this range's dgamma / dbeta contributions to dgamma_acc / dbeta_acc (C each, or null).
  void (*gn_bwd)(int64_t b0, int64_t b1, int64_t c, int64_t g, int64_t s, const float* x, const float* gamma,
                 const float* mean, const float* rstd, const float* dy, float* dx, float* dgamma_acc,
                 float* dbeta_acc) = nullptr;
};

SpatialKernels spatial_kernels_scalar();
#if defined(SIMSAGE_X86)
SpatialKernels spatial_kernels_avx2();
SpatialKernels spatial_kernels_avx512();
#endif

// Level -> table (a level the CPU lacks or the build left out steps down); `used` gets the level.
const SpatialKernels& spatial_kernels_for(SimdLevel level, SimdLevel* used = nullptr);

}  // namespace cpu
}  // namespace nn
}  // namespace simsage
