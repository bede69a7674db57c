// Pairwise distance matrices (mining.h): the Gram matrix G = E E^T by GEMM (its upper half, block
// by block), per-row norms and the metric's transform with the per-ISA row kernels, rows split
// over the thread pool, then the lower half mirrored.
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "core/error.h"
#include "core/parallel.h"
#include "mining/cpu/checks.h"
#include "mining/cpu/row_kernels.h"
#include "mining/cpu/scratch.h"
#include "mining/mining.h"
#if SIMSAGE_WITH_CUDA
#include "mining/cuda/mining_cuda.h"
#endif
#include "nn/nn.h"

namespace simsage {

namespace {
constexpr int64_t kRowsPerTask = 32;
// Rows per GEMM block: large enough that the per-call packing of E[r0:b] is a small cost, small
// enough that the block (kBlockRows x B floats) stays in the last-level cache for the transform.
constexpr int64_t kBlockRows = 256;
constexpr int64_t kMirrorTile = 16;  // measured at B = 4096: 16 beats 8, 32 and 64 (TLB reach of the strided reads)
}  // namespace

void pairwise_distances_at(SimdLevel level, const PairwiseParams& p) {
  mining::cpu::check_pairwise(p);
  const mining::cpu::RowKernels& k = mining::cpu::row_kernels_for(level);
  const int64_t b = p.b;
  const int threads = resolve_threads(p.threads);

  float* aux = mining::cpu::scratch<float, mining::cpu::Slot::Norms>(static_cast<size_t>(b));
  if (p.metric != DistanceMetric::Dot) {
    parallel_chunks(b, kRowsPerTask, threads, [&](int64_t r0, int64_t r1, int) {
      k.sq_norms(p.embeddings, p.dim, r0, r1, aux);
      if (p.metric == DistanceMetric::Cosine)
        for (int64_t i = r0; i < r1; ++i) aux[i] = aux[i] > 0.f ? 1.f / std::sqrt(aux[i]) : 0.f;
    });
  }

  // The matrix is symmetric: per block of kBlockRows rows, one GEMM for the columns from the
  // block's first row on (E[r0:r1] E[r0:b]^T, the upper part plus the diagonal block), and the
  // transform on those columns; then the part below the diagonal is copied from above it. Half the
  // GEMM flops of E E^T, and the result is exactly symmetric.
  for (int64_t r0 = 0; r0 < b; r0 += kBlockRows) {
    const int64_t r1 = std::min(b, r0 + kBlockRows);
    GemmParams g;  // (r1 - r0) x (b - r0) = E[r0:r1] E[r0:b]^T
    g.trans_b = true;
    g.m = r1 - r0;
    g.n = b - r0;
    g.k = p.dim;
    g.a = p.embeddings + r0 * p.dim;
    g.b = p.embeddings + r0 * p.dim;
    g.lda = g.ldb = p.dim;
    g.c = p.out + r0 * b + r0;
    g.ldc = b;
    g.threads = threads;
    gemm_at(level, g);
    // Row i's columns [r0, b): its diagonal is at i - r0 of that segment.
    parallel_chunks(r1 - r0, kRowsPerTask, threads, [&](int64_t i0, int64_t i1, int) {
      for (int64_t i = r0 + i0; i < r0 + i1; ++i)
        k.transform_row(p.out + i * b + r0, i - r0, b - r0, aux + r0, p.metric);
    });
  }
  // Below the diagonal: out[i][j] = out[j][i] for j < i, in square tiles (both sides stay in cache).
  const int64_t tiles = (b + kMirrorTile - 1) / kMirrorTile;
  parallel_for(tiles, threads, [&](int64_t ti, int) {
    const int64_t i0 = ti * kMirrorTile, i1 = std::min(b, i0 + kMirrorTile);
    for (int64_t j0 = 0; j0 < i1; j0 += kMirrorTile) {
      const int64_t j1 = std::min(j0 + kMirrorTile, b);
      for (int64_t i = i0; i < i1; ++i) {
        float* row = p.out + i * b;
        const int64_t je = std::min(j1, i);
        for (int64_t j = j0; j < je; ++j) row[j] = p.out[j * b + i];
      }
    }
  });
}

Backend pairwise_distances(const PairwiseParams& p) {
#if SIMSAGE_WITH_CUDA
  if (preferred_backend() == Backend::Cuda) {
    mining::cuda::pairwise_distances(p);
    return Backend::Cuda;
  }
#endif
  pairwise_distances_at(active_simd_level(), p);
  return Backend::Cpu;
}

}  // namespace simsage
