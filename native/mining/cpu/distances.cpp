// Pairwise distance matrices (mining.h): one GEMM for the Gram matrix G = E E^T, then per-row
// norms and the metric's transform with the per-ISA row kernels, rows split over the thread pool.
#include <cmath>
#include <cstdint>

#include "core/error.h"
#include "core/parallel.h"
#include "mining/cpu/checks.h"
#include "mining/cpu/row_kernels.h"
#include "mining/cpu/scratch.h"
#include "mining/mining.h"
#include "nn/nn.h"

namespace simsage {

namespace {
constexpr int64_t kRowsPerTask = 32;
}  // namespace

void pairwise_distances_at(SimdLevel level, const PairwiseParams& p) {
  mining::cpu::check_pairwise(p);
  const mining::cpu::RowKernels& k = mining::cpu::row_kernels_for(level);
  const int64_t b = p.b;
  const int threads = resolve_threads(p.threads);

  GemmParams g;  // out = E E^T: (b x dim) times (b x dim)^T
  g.trans_b = true;
  g.m = g.n = b;
  g.k = p.dim;
  g.a = g.b = p.embeddings;
  g.lda = g.ldb = p.dim;
  g.c = p.out;
  g.ldc = b;
  g.threads = threads;
  gemm_at(level, g);

  float* aux = mining::cpu::scratch<float, mining::cpu::Slot::Norms>(static_cast<size_t>(b));
  if (p.metric != DistanceMetric::Dot) {
    parallel_chunks(b, kRowsPerTask, threads, [&](int64_t r0, int64_t r1, int) {
      k.sq_norms(p.embeddings, p.dim, r0, r1, aux);
      if (p.metric == DistanceMetric::Cosine)
        for (int64_t i = r0; i < r1; ++i) aux[i] = aux[i] > 0.f ? 1.f / std::sqrt(aux[i]) : 0.f;
    });
  }
  parallel_chunks(b, kRowsPerTask, threads, [&](int64_t r0, int64_t r1, int) {
    for (int64_t i = r0; i < r1; ++i) k.transform_row(p.out + i * b, i, b, aux, p.metric);
  });
}

void pairwise_distances(const PairwiseParams& p) { pairwise_distances_at(active_simd_level(), p); }

}  // namespace simsage
