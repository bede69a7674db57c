// The scalar reference search (similarity.h): every row scored in double with the direct formulas
// (|q - x|^2 term by term for l2), then one sort. Ground truth for the tests.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "similarity/cpu/checks.h"
#include "similarity/cpu/topk_buffer.h"
#include "similarity/similarity.h"

namespace simsage {

void topk_reference(const TopkParams& p, const float* corpus, int64_t n, const int64_t* ids) {
  similarity::cpu::check_topk_params(p, n);
  const int64_t D = p.dim, K = p.k;
  std::vector<similarity::cpu::TopkCand> all;
  for (int64_t i = 0; i < p.nq; ++i) {
    all.clear();
    const float* q = p.queries + i * D;
    double qn = 0;
    for (int64_t d = 0; d < D; ++d) qn += static_cast<double>(q[d]) * q[d];
    for (int64_t r = 0; r < n; ++r) {
      const RowFilter& f = p.filter;
      if (f.allow_bits && !((f.allow_bits[r >> 6] >> (r & 63)) & 1)) continue;
      if (f.deny_bits && ((f.deny_bits[r >> 6] >> (r & 63)) & 1)) continue;
      if (f.exclude_offsets &&
          std::binary_search(f.exclude_rows + f.exclude_offsets[i], f.exclude_rows + f.exclude_offsets[i + 1], r))
        continue;
      const float* x = corpus + r * D;
      double dot = 0, xn = 0, l2 = 0;
      for (int64_t d = 0; d < D; ++d) {
        dot += static_cast<double>(q[d]) * x[d];
        xn += static_cast<double>(x[d]) * x[d];
        double diff = static_cast<double>(q[d]) - x[d];
        l2 += diff * diff;
      }
      float internal;  // higher is better
      if (p.metric == Metric::InnerProduct)
        internal = static_cast<float>(dot);
      else if (p.metric == Metric::Cosine)
        internal = (qn > 0 && xn > 0) ? static_cast<float>(dot / std::sqrt(qn * xn)) : 0.f;
      else
        internal = static_cast<float>(-l2);
      all.push_back({internal, ids ? ids[r] : r});
    }
    const int64_t keep = similarity::cpu::topk_sort_best(all.data(), static_cast<int64_t>(all.size()), K);
    for (int64_t j = 0; j < K; ++j) {
      if (j < keep) {
        p.out_ids[i * K + j] = all[j].id;
        p.out_scores[i * K + j] = p.metric == Metric::L2 ? -all[j].score : all[j].score;
      } else {
        p.out_ids[i * K + j] = -1;
        p.out_scores[i * K + j] = std::numeric_limits<float>::quiet_NaN();
      }
    }
    p.out_counts[i] = static_cast<int32_t>(keep);
  }
}

}  // namespace simsage
