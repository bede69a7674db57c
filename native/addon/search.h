// The similarity bindings' search request and output (topk*, NativeIndex.search*).
#pragma once
#include <napi.h>

#include <cstdint>
#include <vector>

#include "addon/args.h"
#include "similarity/similarity.h"

namespace simsage {
namespace addon {

// A search request copied out of JS (safe to use off the main thread once queries are copied).
struct SearchRequest {
  std::vector<float> queries;         // nq x dim, filled only when parse_search(copy_queries = true)
  const float* query_data = nullptr;  // the queries in JS memory (valid during the call)
  int64_t nq = 0, dim = 0, k = 0;
  Metric metric = Metric::InnerProduct;
  int threads = 0;
  int64_t rerank = 0;  // index searches: re-score the best max(rerank, k) exactly (TopkParams::rerank)
  std::vector<int64_t> allow, deny, exclude_offsets, exclude_ids;
  bool has_allow = false;
  FilterSpec spec() const;
  const float* query_ptr() const { return queries.empty() ? query_data : queries.data(); }
};

// Reads {queries, dim, k, metric?, threads?, rerank?, allow?, deny?, excludeOffsets?, excludeIds?}.
// ids arrive as Float64Array holding non-negative safe integers (checked in TS, again here).
SearchRequest parse_search(const Args& a, bool copy_queries);

// Output buffers for one search over `rows` vectors: nq x k_out with k_out = min(k, rows), the k
// the results report (a huge k costs nothing beyond the candidates; k_out = 0 for an empty corpus).
struct SearchOutput {
  std::vector<int64_t> ids;
  std::vector<float> scores;
  std::vector<int32_t> counts;
  int64_t k_out = 0;
  TopkStats stats;
  // Sizes the buffers for `rows` vectors and points the params at them (params.k = max(k_out, 1)).
  TopkParams params(const SearchRequest& r, int64_t rows);
  // {ids, scores, counts, k: k_out, simd, threads, backend, kernel, reranked}
  Napi::Object to_js(Napi::Env env) const;
};

}  // namespace addon
}  // namespace simsage
