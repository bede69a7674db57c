// Argument checks shared by the mining drivers and the references (beside the public ones in mining.h).
#pragma once
#include <cmath>
#include <cstdint>
#include <string>

#include "core/error.h"
#include "mining/mining.h"

namespace simsage {
namespace mining {
namespace cpu {

// check_mining_batch without labels, and a non-null output matrix.
void check_pairwise(const PairwiseParams& p);

// The triplet loss's checks (float and double; the CUDA twin runs them too): shapes, margin, finite
// embeddings, triplet indices in [0, b).
template <class T>
void check_triplet_loss(const TripletLossParamsT<T>& p) {
  if (p.dim <= 0) throw_error(ErrorCode::DimMismatch, "dim must be a positive integer");
  if (p.b <= 0) throw_error(ErrorCode::InvalidArgument, "empty batch: embeddings must hold at least one row");
  if (!p.embeddings) throw_error(ErrorCode::InvalidArgument, "null embeddings");
  if (p.n_triplets < 0 || (p.n_triplets > 0 && !p.triplets))
    throw_error(ErrorCode::InvalidArgument, "bad triplet array");
  check_margin(static_cast<double>(p.margin));
  for (int64_t i = 0; i < p.b * p.dim; ++i)
    if (!std::isfinite(p.embeddings[i]))
      throw_error(ErrorCode::NonFinite, "embeddings[" + std::to_string(i) + "] is not finite");
  for (int64_t i = 0; i < p.n_triplets * 3; ++i)
    if (p.triplets[i] < 0 || p.triplets[i] >= p.b)
      throw_error(ErrorCode::InvalidArgument, "triplets[" + std::to_string(i) + "] = " + std::to_string(p.triplets[i]) +
                                                  " is not a row index in [0, " + std::to_string(p.b) + ")");
}

}  // namespace cpu
}  // namespace mining
}  // namespace simsage
