#include "similarity/cpu/topk_buffer.h"

#include <algorithm>

namespace simsage {
namespace similarity {
namespace cpu {

namespace {
// a is better than b: higher score, or equal score and smaller id.
inline bool better(const TopkCand& a, const TopkCand& b) {
  return a.score > b.score || (a.score == b.score && a.id < b.id);
}
}  // namespace

int64_t topk_capacity(int64_t k) {
  // Between compactions the buffer takes max(16, min(k, 1024)) candidates: each compaction is
  // O(k + that), so the cost per candidate stays a few comparisons for any k.
  return k + std::max<int64_t>(16, std::min<int64_t>(k, 1024));
}

void topk_push(TopkBuffer& b, float score, int64_t id) {
  if (b.size == b.cap) {
    std::nth_element(b.c, b.c + (b.k - 1), b.c + b.size, better);
    b.size = b.k;
    b.thr = b.c[b.k - 1].score;  // the k-th best: nothing scoring below it can enter
    if (score < b.thr) return;
  }
  b.c[b.size++] = TopkCand{score, id};
}

int64_t topk_sort_best(TopkCand* c, int64_t n, int64_t keep) {
  keep = std::min(keep, n);
  std::partial_sort(c, c + keep, c + n, better);
  return keep;
}

}  // namespace cpu
}  // namespace similarity
}  // namespace simsage
