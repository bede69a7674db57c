// Group norm on the CPU (nn.h): checks, then samples split over the thread pool in fixed-size
// chunks through the spatial kernels of the chosen level. The backward's dgamma / dbeta are summed
// per chunk and reduced in chunk order, so they do not depend on the thread count.
//
// Why group norm and not batch norm for the ranking towers: a triplet batch holds anchors with
// their positives and negatives, so its samples are correlated (several rows per class, by
// construction) and few; batch statistics would leak information between the three roles of a
// triplet and vary with the miner's choice of rows, and serving embeds one query at a time, where
// batch norm must switch to running averages that the training never used. Group norm normalises
// each sample on its own, so training and serving compute the same function of one image.
#include <cstdint>
#include <vector>

#include "core/parallel.h"
#include "nn/cpu/spatial_checks.h"
#include "nn/cpu/spatial_kernels.h"
#include "nn/nn.h"

namespace simsage {

namespace {

// Samples per task: about 32K floats, at least one sample.
int64_t samples_per_task(int64_t c, int64_t s) {
  const int64_t r = (int64_t(1) << 15) / (c * s);
  return r < 1 ? 1 : r;
}

}  // namespace

void group_norm_forward_at(SimdLevel level, const GroupNormParams& p) {
  nn::cpu::group_norm_forward_check(p);
  const auto k = nn::cpu::spatial_kernels_for(level).gn_fwd;
  parallel_chunks(p.batch, samples_per_task(p.channels, p.spatial), p.threads, [&](int64_t a, int64_t b, int) {
    k(a, b, p.channels, p.groups, p.spatial, p.eps, p.x, p.gamma, p.beta, p.y, p.mean, p.rstd);
  });
}

void group_norm_forward(const GroupNormParams& p) { group_norm_forward_at(active_simd_level(), p); }

void group_norm_backward_at(SimdLevel level, const GroupNormBackwardParams& p) {
  nn::cpu::group_norm_backward_check(p);
  const int64_t C = p.channels;
  if (!p.accumulate) {
    for (int64_t i = 0; p.dgamma && i < C; ++i) p.dgamma[i] = 0.f;
    for (int64_t i = 0; p.dbeta && i < C; ++i) p.dbeta[i] = 0.f;
  }
  if (p.batch == 0) return;
  const auto k = nn::cpu::spatial_kernels_for(level).gn_bwd;
  const int64_t per = samples_per_task(C, p.spatial), tasks = (p.batch + per - 1) / per;
  const bool params = p.dgamma || p.dbeta;
  if (tasks <= 1 || !params) {
    parallel_chunks(p.batch, per, p.threads, [&](int64_t a, int64_t b, int) {
      k(a, b, C, p.groups, p.spatial, p.x, p.gamma, p.mean, p.rstd, p.dy, p.dx, p.dgamma, p.dbeta);
    });
    return;
  }
  std::vector<float> part(static_cast<size_t>(tasks * 2 * C), 0.f);
  parallel_chunks(p.batch, per, p.threads, [&](int64_t a, int64_t b, int) {
    float* pg = part.data() + a / per * 2 * C;
    k(a, b, C, p.groups, p.spatial, p.x, p.gamma, p.mean, p.rstd, p.dy, p.dx, p.dgamma ? pg : nullptr,
      p.dbeta ? pg + C : nullptr);
  });
  for (int64_t t = 0; t < tasks; ++t) {
    const float* pg = part.data() + t * 2 * C;
    for (int64_t i = 0; p.dgamma && i < C; ++i) p.dgamma[i] += pg[i];
    for (int64_t i = 0; p.dbeta && i < C; ++i) p.dbeta[i] += pg[C + i];
  }
}

void group_norm_backward(const GroupNormBackwardParams& p) { group_norm_backward_at(active_simd_level(), p); }

}  // namespace simsage
