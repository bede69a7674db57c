// libFuzzer target: topk_rowmajor (the stateless `topk` / `topkAsync` path) with random shapes, k,
// metric, SIMD level, threads, values (NaN, Inf, subnormals, huge) and allow/deny/exclude filters
// built the way the addon builds them (ids = row indices, unknown and negative ids ignored).
// Outcome: a coded simsage::Error, or a result that passes topk_oracle.h.
#include <cstdint>
#include <vector>

#include "fuzz_common.h"
#include "similarity/similarity.h"
#include "topk_oracle.h"

using namespace simsage;
using namespace simsage_fuzz;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const int64_t dim = in.ConsumeIntegralInRange<int64_t>(-1, 40);
  const int64_t n = in.ConsumeIntegralInRange<int64_t>(-1, 70);
  const int64_t nq = in.ConsumeIntegralInRange<int64_t>(-1, 5);
  const int64_t k = in.ConsumeIntegralInRange<int64_t>(-1, 80);
  const Metric metric = in.PickValueInArray({Metric::InnerProduct, Metric::Cosine, Metric::L2});
  const SimdLevel level = pick_level(in);
  const int threads = in.ConsumeIntegralInRange<int>(0, 3);
  const Values mode = pick_values(in);
  const int64_t d = dim > 0 ? dim : 1;
  std::vector<float> corpus = matrix(in, (n > 0 ? n : 0) * d, mode);
  std::vector<float> queries = matrix(in, (nq > 0 ? nq : 0) * d, mode);

  // Filters in id space (ids are row indices); ids drawn from [-2, n + 2).
  FuzzFilter filt;
  draw_filter(
      in, nq, 12, [&] { return in.ConsumeIntegralInRange<int64_t>(-2, (n > 0 ? n : 0) + 2); }, &filt);
  const FilterSpec& spec = filt.spec;
  const std::vector<int64_t>&allow = filt.allow, &deny = filt.deny, &ex_ids = filt.ex_ids, &ex_off = filt.ex_off;

  const int64_t kk = k > 0 ? k : 1;
  const int64_t q_rows = nq > 0 ? nq : 0;
  std::vector<int64_t> out_ids(q_rows * kk, 12345);
  std::vector<float> out_scores(q_rows * kk, 7.f);
  std::vector<int32_t> out_counts(q_rows, -7);
  TopkParams p;
  p.queries = queries.data();
  p.nq = nq;
  p.dim = dim;
  p.k = k;
  p.metric = metric;
  p.threads = threads;
  p.out_ids = out_ids.data();
  p.out_scores = out_scores.data();
  p.out_counts = out_counts.data();
  const float* corpus_ptr = corpus.data();
  const bool ok = accepted([&] {
    OwnedFilter f = build_filter(spec, n > 0 ? n : 0, q_rows, [&](int64_t id) { return id < n ? id : -1; });
    p.filter = f.view();
    topk_rowmajor_at(level, p, corpus_ptr, n);
  });
  if (!ok) return 0;
  FUZZ_CHECK(dim > 0 && k > 0 && nq >= 0 && n >= 0, "fuzz_topk");

  for (int64_t q = 0; q < nq; ++q) {
    std::vector<Candidate> eligible;
    for (int64_t r = 0; r < n; ++r) {
      auto in_list = [&](const std::vector<int64_t>& v, size_t b, size_t e) {
        for (size_t i = b; i < e; ++i)
          if (v[i] == r) return true;
        return false;
      };
      if (spec.has_allow && !in_list(allow, 0, allow.size())) continue;
      if (in_list(deny, 0, deny.size())) continue;
      if (spec.exclude_offsets && in_list(ex_ids, ex_off[q], ex_off[q + 1])) continue;
      eligible.push_back({r, corpus.data() + r * dim});
    }
    check_row("fuzz_topk", metric, queries.data() + q * dim, dim, k, eligible, out_ids.data() + q * k,
              out_scores.data() + q * k, out_counts[q], mode == Values::Tame);
  }
  return 0;
}
