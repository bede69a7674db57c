// Fixtures of the top-k search tests (test_similarity.cpp, and through quant_fixtures.h the
// reduced-precision storage tests): the result buffers and params, random inputs, the metrics to sweep.
#pragma once
#include <cstdint>
#include <random>
#include <vector>

#include "similarity/similarity.h"

namespace simsage_test {

// A top-k result: nq x k ids and scores, nq counts.
struct Out {
  std::vector<int64_t> ids;
  std::vector<float> scores;
  std::vector<int32_t> counts;
  Out(int64_t nq, int64_t k) : ids(nq * k), scores(nq * k), counts(nq) {}
};

// Top-k params over the queries q = [nq, dim], writing into o.
inline simsage::TopkParams params(const std::vector<float>& q, int64_t nq, int64_t dim, int64_t k, simsage::Metric m,
                                  Out& o, int threads, int64_t rerank = 0, bool widen_only = false) {
  simsage::TopkParams p;
  p.queries = q.data();
  p.nq = nq;
  p.dim = dim;
  p.k = k;
  p.metric = m;
  p.threads = threads;
  p.out_ids = o.ids.data();
  p.out_scores = o.scores.data();
  p.out_counts = o.counts.data();
  p.rerank = rerank;
  p.widen_only = widen_only;
  return p;
}

// rows x cols values from N(0, scale^2).
inline std::vector<float> random_matrix(int64_t rows, int64_t cols, std::mt19937& rng, float scale = 1.f) {
  std::normal_distribution<float> nd(0.f, scale);
  std::vector<float> v(rows * cols);
  for (auto& x : v) x = nd(rng);
  return v;
}

inline constexpr simsage::Metric kMetrics[] = {simsage::Metric::InnerProduct, simsage::Metric::Cosine,
                                               simsage::Metric::L2};

}  // namespace simsage_test
