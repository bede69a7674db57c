// Max and average pooling on the CPU (nn.h): checks, then the B*C planes split over the thread
// pool in fixed-size chunks, each chunk through the spatial kernels of the chosen level. Planes
// are independent (no cross-plane reduction), so results do not depend on the thread count.
#include <cstdint>

#include "core/parallel.h"
#include "nn/cpu/spatial_checks.h"
#include "nn/cpu/spatial_kernels.h"
#include "nn/nn.h"

namespace simsage {

namespace {

using nn::cpu::PoolShape;

// Planes per task: about 32K floats of input and output, at least one plane.
int64_t planes_per_task(const PoolShape& s) {
  const int64_t r = (int64_t(1) << 15) / (s.h * s.w + s.oh * s.ow);
  return r < 1 ? 1 : r;
}

}  // namespace

void max_pool2d_forward_at(SimdLevel level, const Pool2dParams& p) {
  const PoolShape s = nn::cpu::pool_forward_check("max_pool2d_forward", p, true);
  const auto k = nn::cpu::spatial_kernels_for(level).max_fwd;
  parallel_chunks(p.batch * p.channels, planes_per_task(s), p.threads,
                  [&](int64_t a, int64_t b, int) { k(s, a, b, p.x, p.y, p.argmax); });
}

void max_pool2d_forward(const Pool2dParams& p) { max_pool2d_forward_at(active_simd_level(), p); }

void avg_pool2d_forward_at(SimdLevel level, const Pool2dParams& p) {
  const PoolShape s = nn::cpu::pool_forward_check("avg_pool2d_forward", p, false);
  const auto k = nn::cpu::spatial_kernels_for(level).avg_fwd;
  parallel_chunks(p.batch * p.channels, planes_per_task(s), p.threads,
                  [&](int64_t a, int64_t b, int) { k(s, a, b, p.x, p.y); });
}

void avg_pool2d_forward(const Pool2dParams& p) { avg_pool2d_forward_at(active_simd_level(), p); }

void max_pool2d_backward_at(SimdLevel level, const Pool2dBackwardParams& p) {
  const PoolShape s = nn::cpu::pool_backward_check("max_pool2d_backward", p, true);
  const auto k = nn::cpu::spatial_kernels_for(level).max_bwd;
  parallel_chunks(p.shape.batch * p.shape.channels, planes_per_task(s), p.shape.threads,
                  [&](int64_t a, int64_t b, int) { k(s, a, b, p.argmax, p.dy, p.dx); });
}

void max_pool2d_backward(const Pool2dBackwardParams& p) { max_pool2d_backward_at(active_simd_level(), p); }

void avg_pool2d_backward_at(SimdLevel level, const Pool2dBackwardParams& p) {
  const PoolShape s = nn::cpu::pool_backward_check("avg_pool2d_backward", p, false);
  const auto k = nn::cpu::spatial_kernels_for(level).avg_bwd;
  parallel_chunks(p.shape.batch * p.shape.channels, planes_per_task(s), p.shape.threads,
                  [&](int64_t a, int64_t b, int) { k(s, a, b, p.dy, p.dx); });
}

void avg_pool2d_backward(const Pool2dBackwardParams& p) { avg_pool2d_backward_at(active_simd_level(), p); }

}  // namespace simsage
