// Per-thread scratch of the mining drivers, like gemm's packing buffers (nn/cpu/gemm.cpp): each
// buffer grows to the largest size asked for on its thread and is kept, so a call with a batch
// size seen before allocates nothing (a fresh multi-megabyte buffer per call costs one page fault
// per 4 KiB page). Buffers hold O(B), O(B dim) or O(T) elements; the B x B distance matrix is
// not one of them (the caller owns it: MineParams::distance_buffer). `Slot` keeps the uses within
// one call apart; two calls on one thread never overlap.
#pragma once
#include <cstddef>
#include <vector>

namespace simsage {
namespace mining {
namespace cpu {

enum class Slot {
  Norms,      // pairwise: b row norms (float)
  Offsets,    // miners: b + 1 triplet or pair offsets (int64)
  Hardest,    // batch-hard: 2 b, farthest positive and closest negative per anchor (int64)
  PairPos,    // semi-hard: one slot per positive pair (int32)
  PairNeg,    // semi-hard: the pair's negative (int32)
  RowList,    // inside one anchor task: its positives (semi-hard) or negatives (filter) (int32)
  RankDist,   // semi-hard by rank: the positives' sorted distances (float)
  RankOrder,  // semi-hard by rank: their order (int32)
  RankBest,   // semi-hard by rank: best negative per rank (int64)
  Unit,       // distance-weighted: b x dim unit rows (float)
  Cdf,        // distance-weighted: one anchor's cumulative weights (double)
  LossTerms,  // triplet loss: 3 T (double)
  LossGrad,   // triplet loss: b x dim (double)
};

// A buffer of at least n elements of T for `slot` on the calling thread (contents unspecified).
template <class T, Slot slot>
T* scratch(size_t n) {
  thread_local std::vector<T> v;
  if (v.size() < n) v.resize(n);
  return v.data();
}

}  // namespace cpu
}  // namespace mining
}  // namespace simsage
