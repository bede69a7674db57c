// Per-query running top-k: a binary heap whose root is the current worst kept candidate, so a new
// candidate is tested against one threshold. "Better" means a higher internal score, and on equal
// scores a smaller id (ties break toward the smaller id). Internal scores are always
// higher-is-better; l2 is converted by the caller (see kernel.inl).
//
// Only plain data here: push/finish are compiled once, in the baseline TU (dispatch.cpp), so the
// per-ISA kernel files never emit their own copies of shared functions.
#pragma once
#include <cstdint>
#include <limits>

namespace simsage {

struct TopkHeap {
  float* scores = nullptr;  // k slots
  int64_t* ids = nullptr;   // k slots
  int64_t k = 0;
  int64_t size = 0;
  // Candidates with score < thr can never enter. -inf until the heap is full.
  float thr = -std::numeric_limits<float>::infinity();
};

// Offers (score, id); keeps it if the heap is not full or it beats the current worst.
void heap_push(TopkHeap& h, float score, int64_t id);

// Sorts the kept entries best-first in place (the heap is unusable afterwards).
void heap_sort_best_first(TopkHeap& h);

}  // namespace simsage
