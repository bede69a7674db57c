// Argument names and checks of the mining family (mining.h).
#include "mining/cpu/checks.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "core/error.h"
#include "core/finite.h"
#include "mining/mining.h"

namespace simsage {

const char* distance_metric_name(DistanceMetric m) {
  switch (m) {
    case DistanceMetric::SqEuclidean:
      return "sqeuclidean";
    case DistanceMetric::Euclidean:
      return "euclidean";
    case DistanceMetric::Cosine:
      return "cosine";
    case DistanceMetric::Dot:
      return "dot";
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
  const int64_t bad = find_non_finite(embeddings, b * dim);
  if (bad >= 0)
    throw_error(ErrorCode::NonFinite,
                "embeddings[" + std::to_string(bad) + "] (row " + std::to_string(bad / dim) + ") is not finite");
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

namespace mining {
namespace cpu {

void check_pairwise(const PairwiseParams& p) {
  check_mining_batch(p.embeddings, nullptr, p.b, p.dim);
  if (!p.out) throw_error(ErrorCode::InvalidArgument, "null output matrix");
}

}  // namespace cpu
}  // namespace mining
}  // namespace simsage
