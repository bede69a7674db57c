// libFuzzer target: VectorStore (the store behind EmbeddingIndex) under a random sequence of add
// (random ids incl. negative, > 2^53 and repeats; NaN/Inf/subnormal/huge values), remove, has,
// reserve, export and search (random k, filters, SIMD level, threads), checked after every step
// against a plain model: a map id -> vector. Adds are all-or-nothing: a rejected add must leave the
// store unchanged. Searches pass topk_oracle.h against the model's eligible rows.
#include <cmath>
#include <cstdint>
#include <map>
#include <vector>

#include "fuzz_common.h"
#include "similarity/similarity.h"
#include "topk_oracle.h"

using namespace simsage;
using namespace simsage_fuzz;

namespace {
constexpr const char* kTarget = "fuzz_vector_store";
constexpr int64_t kMaxId = (int64_t{1} << 53) - 1;

int64_t pick_id(FuzzedDataProvider& in) {
  const uint8_t b = in.ConsumeIntegral<uint8_t>();
  if (b < 240) return b % 24;  // a small id space, so replaces, repeats and removes collide
  if (b < 244) return -1 - (b & 1);
  if (b < 248) return kMaxId + (b & 1);  // the largest valid id, and one past it
  return in.ConsumeIntegral<int64_t>();
}

void check_export(const VectorStore& s, const std::map<int64_t, std::vector<float>>& model) {
  FUZZ_CHECK(s.size() == static_cast<int64_t>(model.size()), kTarget);
  std::vector<float> v(model.size() * s.dim());
  std::vector<int64_t> ids(model.size());
  s.export_rows(v.data(), ids.data(), static_cast<int64_t>(model.size()));
  for (size_t r = 0; r < ids.size(); ++r) {
    auto it = model.find(ids[r]);
    FUZZ_CHECK(it != model.end(), kTarget);
    if (s.metric() != Metric::Cosine) {
      for (int64_t d = 0; d < s.dim(); ++d)
        FUZZ_CHECK(std::memcmp(&v[r * s.dim() + d], &it->second[d], 4) == 0, kTarget);
    }
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const int64_t dim = in.ConsumeIntegralInRange<int64_t>(1, 24);
  const Metric metric = in.PickValueInArray({Metric::InnerProduct, Metric::Cosine, Metric::L2});
  const Values mode = pick_values(in);
  VectorStore s(dim, metric);
  std::map<int64_t, std::vector<float>> model;
  bool tame = true;  // the oracle compares scores only while every stored value is tame

  for (int step = 0; step < 24 && in.remaining_bytes() > 0; ++step) {
    switch (in.ConsumeIntegralInRange<int>(0, 5)) {
      case 0:
      case 1: {  // add
        const int64_t count = in.ConsumeIntegralInRange<int64_t>(0, 20);
        std::vector<int64_t> ids(count);
        for (auto& id : ids) id = pick_id(in);
        const Values m = (mode == Values::Tame || in.ConsumeBool()) ? Values::Tame : mode;
        std::vector<float> vec = matrix(in, count * dim, m);
        if (accepted([&] { s.add(ids.data(), vec.data(), count); })) {
          for (int64_t i = 0; i < count; ++i) {
            FUZZ_CHECK(ids[i] >= 0 && ids[i] <= kMaxId, kTarget);
            model[ids[i]] = std::vector<float>(vec.begin() + i * dim, vec.begin() + (i + 1) * dim);
          }
          if (m != Values::Tame) tame = false;
        }
        check_export(s, model);  // unchanged on a rejected add
        break;
      }
      case 2: {  // remove
        const int64_t count = in.ConsumeIntegralInRange<int64_t>(0, 8);
        std::vector<int64_t> ids(count);
        for (auto& id : ids) id = pick_id(in);
        int64_t want = 0;
        for (auto id : ids) want += model.erase(id);
        int64_t got = -1;
        FUZZ_CHECK(accepted([&] { got = s.remove(ids.data(), count); }), kTarget);
        FUZZ_CHECK(got == want, kTarget);
        check_export(s, model);
        break;
      }
      case 3: {  // has, reserve
        const int64_t id = pick_id(in);
        FUZZ_CHECK(s.has(id) == (model.count(id) == 1), kTarget);
        accepted([&] { s.reserve(in.ConsumeIntegralInRange<int64_t>(-1, 100)); });
        FUZZ_CHECK(s.size() == static_cast<int64_t>(model.size()), kTarget);
        break;
      }
      default: {  // search
        const int64_t nq = in.ConsumeIntegralInRange<int64_t>(0, 3);
        const int64_t k = in.ConsumeIntegralInRange<int64_t>(1, 40);
        std::vector<float> q = matrix(in, nq * dim, Values::Tame);
        FuzzFilter filt;
        draw_filter(
            in, nq, 6, [&] { return pick_id(in); }, &filt);
        const FilterSpec& spec = filt.spec;
        const std::vector<int64_t>&allow = filt.allow, &deny = filt.deny, &ex_ids = filt.ex_ids, &ex_off = filt.ex_off;
        std::vector<int64_t> out_ids(nq * k);
        std::vector<float> out_scores(nq * k);
        std::vector<int32_t> out_counts(nq);
        TopkParams p;
        p.queries = q.data();
        p.nq = nq;
        p.dim = dim;
        p.k = k;
        p.metric = metric;
        p.threads = in.ConsumeIntegralInRange<int>(0, 2);
        p.out_ids = out_ids.data();
        p.out_scores = out_scores.data();
        p.out_counts = out_counts.data();
        const SimdLevel level = pick_level(in);
        // Tame queries against a store holding only tame values must be searchable; with edge
        // values stored, a coded error (scores overflow) is allowed.
        const bool ok = accepted([&] { s.search_at(level, p, spec); });
        FUZZ_CHECK(ok || !tame, kTarget);
        if (!ok) break;
        auto listed = [](const std::vector<int64_t>& v, size_t b, size_t e, int64_t id) {
          for (size_t i = b; i < e; ++i)
            if (v[i] == id) return true;
          return false;
        };
        for (int64_t qi = 0; qi < nq; ++qi) {
          std::vector<Candidate> eligible;
          for (auto& [id, vec] : model) {
            if (spec.has_allow && !listed(allow, 0, allow.size(), id)) continue;
            if (listed(deny, 0, deny.size(), id)) continue;
            if (spec.exclude_offsets && listed(ex_ids, ex_off[qi], ex_off[qi + 1], id)) continue;
            eligible.push_back({id, vec.data()});
          }
          check_row(kTarget, metric, q.data() + qi * dim, dim, k, eligible, out_ids.data() + qi * k,
                    out_scores.data() + qi * k, out_counts[qi], tame);
        }
        break;
      }
    }
  }
  return 0;
}
