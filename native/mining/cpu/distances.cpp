// Pairwise distance matrices (mining.h): one GEMM for the Gram matrix G = E E^T, then per-row
// norms and the metric's transform with the per-ISA row kernels, rows split over the thread pool.
// Also: the scalar instantiation of kernel.inl, the level -> table lookup, names and shared checks.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "core/dispatch.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "mining/cpu/kernels.h"
#include "mining/mining.h"
#include "nn/gemm.h"

namespace {
#include "mining/cpu/kernel.inl"
}  // namespace

namespace simsage {

namespace mining {
RowKernels row_kernels_scalar() { return mk::make_table(); }

const RowKernels& row_kernels_for(SimdLevel level, SimdLevel* used) {
  if (used) *used = supported_simd_level(level);
  return SIMSAGE_TABLE_FOR_LEVEL(RowKernels, level, row_kernels_scalar, row_kernels_avx2, row_kernels_avx512);
}
}  // namespace mining

// ---- names and checks ------------------------------------------------------------------------

const char* distance_metric_name(DistanceMetric m) {
  switch (m) {
    case DistanceMetric::SqEuclidean: return "sqeuclidean";
    case DistanceMetric::Euclidean: return "euclidean";
    case DistanceMetric::Cosine: return "cosine";
    case DistanceMetric::Dot: return "dot";
  }
  return "sqeuclidean";
}

DistanceMetric parse_distance_metric(const char* name) {
  const std::string s = name ? name : "";
  if (s == "sqeuclidean") return DistanceMetric::SqEuclidean;
  if (s == "euclidean") return DistanceMetric::Euclidean;
  if (s == "cosine") return DistanceMetric::Cosine;
  if (s == "dot") return DistanceMetric::Dot;
  throw_error(ErrorCode::UnknownMetric,
              "unknown distance metric '" + s + "' (expected 'sqeuclidean', 'euclidean', 'cosine' or 'dot')");
}

void check_mining_batch(const float* embeddings, const int32_t* labels, int64_t b, int64_t dim) {
  if (dim <= 0) throw_error(ErrorCode::DimMismatch, "dim must be a positive integer");
  if (b <= 0) throw_error(ErrorCode::InvalidArgument, "empty batch: embeddings must hold at least one row");
  if (b > std::numeric_limits<int32_t>::max())
    throw_error(ErrorCode::InvalidArgument, "batch too large: at most 2^31 - 1 rows (triplets are int32)");
  if (!embeddings) throw_error(ErrorCode::InvalidArgument, "null embeddings");
  for (int64_t i = 0; i < b * dim; ++i)
    if (!std::isfinite(embeddings[i]))
      throw_error(ErrorCode::NonFinite, "embeddings[" + std::to_string(i) + "] (row " + std::to_string(i / dim) +
                                            ") is not finite");
  if (labels) {
    bool two = false;
    for (int64_t i = 1; i < b && !two; ++i) two = labels[i] != labels[0];
    if (!two) throw_error(ErrorCode::InvalidArgument, "labels must hold at least two distinct classes");
  }
}

void check_margin(double margin) {
  if (!(margin >= 0) || !std::isfinite(margin))
    throw_error(ErrorCode::InvalidArgument, "margin must be a finite number >= 0, got " + std::to_string(margin));
}

// ---- pairwise distances ----------------------------------------------------------------------

namespace {
constexpr int64_t kRowsPerTask = 32;

void check_pairwise(const PairwiseParams& p) {
  check_mining_batch(p.embeddings, nullptr, p.b, p.dim);
  if (!p.out) throw_error(ErrorCode::InvalidArgument, "null output matrix");
}
}  // namespace

void pairwise_distances_at(SimdLevel level, const PairwiseParams& p) {
  check_pairwise(p);
  const mining::RowKernels& k = mining::row_kernels_for(level);
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

  std::vector<float> aux(static_cast<size_t>(b));
  const int64_t tasks = (b + kRowsPerTask - 1) / kRowsPerTask;
  if (p.metric != DistanceMetric::Dot) {
    parallel_for(tasks, threads, [&](int64_t t, int) {
      const int64_t r0 = t * kRowsPerTask, r1 = std::min(b, r0 + kRowsPerTask);
      k.sq_norms(p.embeddings, p.dim, r0, r1, aux.data());
      if (p.metric == DistanceMetric::Cosine)
        for (int64_t i = r0; i < r1; ++i) aux[i] = aux[i] > 0.f ? 1.f / std::sqrt(aux[i]) : 0.f;
    });
  }
  parallel_for(tasks, threads, [&](int64_t t, int) {
    const int64_t r0 = t * kRowsPerTask, r1 = std::min(b, r0 + kRowsPerTask);
    for (int64_t i = r0; i < r1; ++i) k.transform_row(p.out + i * b, i, b, aux.data(), p.metric);
  });
}

void pairwise_distances(const PairwiseParams& p) { pairwise_distances_at(active_simd_level(), p); }

void pairwise_distances_reference(const PairwiseParams& p) {
  check_pairwise(p);
  const int64_t b = p.b, dim = p.dim;
  for (int64_t i = 0; i < b; ++i) {
    const float* x = p.embeddings + i * dim;
    for (int64_t j = 0; j < b; ++j) {
      const float* y = p.embeddings + j * dim;
      double sq = 0, dot = 0, nx = 0, ny = 0;
      for (int64_t d = 0; d < dim; ++d) {
        const double u = x[d], v = y[d];
        sq += (u - v) * (u - v);
        dot += u * v;
        nx += u * u;
        ny += v * v;
      }
      double r = 0;
      switch (p.metric) {
        case DistanceMetric::SqEuclidean: r = sq; break;
        case DistanceMetric::Euclidean: r = std::sqrt(sq); break;
        case DistanceMetric::Cosine:
          if (i == j) r = nx > 0 ? 0.0 : 1.0;
          else r = (nx > 0 && ny > 0) ? std::min(2.0, std::max(0.0, 1.0 - dot / std::sqrt(nx * ny))) : 1.0;
          break;
        case DistanceMetric::Dot: r = -dot; break;
      }
      p.out[i * b + j] = static_cast<float>(r);
    }
  }
}

}  // namespace simsage
