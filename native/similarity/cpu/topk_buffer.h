// Per-query running top-k: a candidate buffer of `cap` slots (cap > k) that accepts any candidate
// not below a threshold and, when full, keeps its k best (selection, O(cap)) and raises the
// threshold to the k-th best score. Appends are cheap and branch-predictable, unlike heap sift-downs,
// and at most k + cap candidates are ever compared per compaction. "Better" means a higher internal
// score, and on equal scores a smaller id (ties break toward the smaller id). Internal scores are
// always higher-is-better; l2 is converted by the caller (see search.inl).
//
// Only plain data here: the functions are compiled once, in the baseline TU (topk_buffer.cpp), so
// the per-ISA kernel files never emit their own copies of shared functions.
#pragma once
#include <cstdint>
#include <limits>

namespace simsage {
namespace similarity {
namespace cpu {

struct TopkCand {
  float score;
  int64_t id;
};

struct TopkBuffer {
  TopkCand* c = nullptr;  // cap slots; [0, size) in no particular order
  int64_t k = 0;
  int64_t cap = 0;
  int64_t size = 0;
  // Candidates with score < thr can never be among the k best. -inf until the first compaction.
  float thr = -std::numeric_limits<float>::infinity();
};

// Slots per buffer for a given k: k plus room for a batch of candidates between compactions.
int64_t topk_capacity(int64_t k);

// Offers (score, id); compacts first when the buffer is full.
void topk_push(TopkBuffer& b, float score, int64_t id);

// Reorders c[0, n) so that its best min(keep, n) candidates come first, best-first; returns that count.
int64_t topk_sort_best(TopkCand* c, int64_t n, int64_t keep);

}  // namespace cpu
}  // namespace similarity
}  // namespace simsage
