// libFuzzer target: a reduced-precision VectorStore (bf16, f16, i8 with per-vector or per-dimension
// scales, with or without f32 copies) under a random sequence of add (random ids, edge values),
// add_records (valid records replayed under new ids, the same with bit flips, raw bytes),
// set_dim_scales, remove and search, checked after every step against a model: a map id -> stored
// record. Mutations are all-or-nothing: a rejected one leaves the records, the dimension scales and
// the saturation count unchanged; an accepted add_records stores its records byte for byte and only
// valid ones (codes that decode finite, i8 codes in [-127, 127], scale finite and >= 0, 1 for
// per-dimension ip / l2). Searches
// pass topk_oracle.h against the model's decoded rows (widening kernels), and, re-ranking the whole
// store, against its f32 copies.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <map>
#include <vector>

#include "fuzz_common.h"
#include "similarity/cpu/quant.h"
#include "similarity/similarity.h"
#include "topk_oracle.h"

using namespace simsage;
using namespace simsage_fuzz;

namespace {
constexpr const char* kTarget = "fuzz_vector_store_coded";
using Records = std::map<int64_t, std::vector<uint8_t>>;

int64_t pick_id(FuzzedDataProvider& in) {
  const uint8_t b = in.ConsumeIntegral<uint8_t>();
  if (b < 244) return b % 20;
  if (b < 250) return -1 - (b & 1);
  return (int64_t{1} << 53) - (b & 1);  // the largest valid id, and one past it
}

Records snapshot(const VectorStore& s) {
  const int64_t n = s.size(), rb = s.record_bytes();
  std::vector<uint8_t> rec(static_cast<size_t>(n * rb));
  std::vector<int64_t> ids(static_cast<size_t>(n));
  s.export_records(rec.data(), ids.data(), n);
  Records out;
  for (int64_t r = 0; r < n; ++r) out[ids[r]] = std::vector<uint8_t>(rec.begin() + r * rb, rec.begin() + (r + 1) * rb);
  FUZZ_CHECK(static_cast<int64_t>(out.size()) == n, kTarget);  // ids distinct
  return out;
}

// A record the store may hold: finite codes, i8 codes in [-127, 127] and a finite scale >= 0, finite copies.
bool valid_record(const VectorStore& s, const std::vector<uint8_t>& r) {
  const int64_t dim = s.dim();
  if (s.storage() == Storage::I8) {
    for (int64_t d = 0; d < dim; ++d)
      if (static_cast<int8_t>(r[d]) == -128) return false;
    float sc;
    std::memcpy(&sc, &r[dim], 4);
    if (!std::isfinite(sc) || sc < 0) return false;
    if (s.dim_scaled() && s.metric() != Metric::Cosine && sc != 1.f) return false;  // ip / l2 store 1
  } else {
    const uint16_t exp = s.storage() == Storage::BF16 ? 0x7F80u : 0x7C00u;
    for (int64_t d = 0; d < dim; ++d) {
      uint16_t h;
      std::memcpy(&h, &r[2 * d], 2);
      if ((h & exp) == exp) return false;
    }
  }
  if (s.keeps_f32()) {
    const uint8_t* t = r.data() + r.size() - 4 * dim;
    for (int64_t d = 0; d < dim; ++d) {
      float v;
      std::memcpy(&v, t + 4 * d, 4);
      if (!std::isfinite(v)) return false;
    }
  }
  return true;
}

// The values the widening kernels score: the record decoded (i8: f32(scale x code) x s_d).
std::vector<float> decoded(const VectorStore& s, const std::vector<uint8_t>& r, const std::vector<float>& dscale) {
  const int64_t dim = s.dim();
  std::vector<float> out(static_cast<size_t>(dim));
  float sc = 1.f;
  if (s.storage() == Storage::I8) std::memcpy(&sc, &r[dim], 4);
  for (int64_t d = 0; d < dim; ++d) {
    if (s.storage() == Storage::I8) {
      out[d] = sc * static_cast<float>(static_cast<int8_t>(r[d])) * (dscale.empty() ? 1.f : dscale[d]);
    } else {
      uint16_t h;
      std::memcpy(&h, &r[2 * d], 2);
      out[d] = s.storage() == Storage::BF16 ? similarity::cpu::bf16_to_f32(h) : similarity::cpu::f16_to_f32(h);
    }
  }
  return out;
}

std::vector<float> copy_of(const VectorStore& s, const std::vector<uint8_t>& r) {
  std::vector<float> out(static_cast<size_t>(s.dim()));
  std::memcpy(out.data(), r.data() + r.size() - 4 * s.dim(), out.size() * 4);
  return out;
}

// Everything a rejected mutation must leave as it was.
struct State {
  Records records;
  std::vector<float> dscale;
  int64_t saturated;
  bool operator==(const State& o) const {
    return records == o.records && dscale == o.dscale && saturated == o.saturated;
  }
};
State state(const VectorStore& s) { return {snapshot(s), s.dim_scales(), s.saturated_values()}; }
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const int64_t dim = in.ConsumeIntegralInRange<int64_t>(1, 20);
  const Metric metric = in.PickValueInArray({Metric::InnerProduct, Metric::Cosine, Metric::L2});
  const int kind = in.ConsumeIntegralInRange<int>(0, 3);  // bf16, f16, i8, i8 per-dimension
  const Storage storage = kind == 0 ? Storage::BF16 : kind == 1 ? Storage::F16 : Storage::I8;
  const bool keep = in.ConsumeBool();
  const Values mode = pick_values(in);
  VectorStore s(dim, metric, storage, keep, kind == 3);
  State model = state(s);
  bool tame = true;  // every stored value came from a tame add: scores are compared

  const bool verbose = std::getenv("SIMSAGE_FUZZ_VERBOSE") != nullptr;
  if (verbose) std::fprintf(stderr, "kind %d keep %d dim %lld metric %d\n", kind, keep, (long long)dim, int(metric));
  for (int step = 0; step < 20 && in.remaining_bytes() > 0; ++step) {
    const int op = in.ConsumeIntegralInRange<int>(0, 7);
    if (verbose) std::fprintf(stderr, "op %d, %zu rows, tame %d\n", op, model.records.size(), tame);
    if (op <= 1) {  // add
      const int64_t count = in.ConsumeIntegralInRange<int64_t>(0, 12);
      std::vector<int64_t> ids(count);
      for (auto& id : ids) id = pick_id(in);
      const Values m = (mode == Values::Tame || in.ConsumeBool()) ? Values::Tame : mode;
      std::vector<float> vec = matrix(in, count * dim, m);
      const bool ok = accepted([&] { s.add(ids.data(), vec.data(), count); });
      State now = state(s);
      if (!ok) {
        FUZZ_CHECK(now == model, kTarget);
        continue;
      }
      // Rows not named keep their records; named ones hold their last vector's copy.
      for (auto& [id, rec] : model.records)
        if (std::find(ids.begin(), ids.end(), id) == ids.end())
          FUZZ_CHECK(now.records.count(id) && now.records[id] == rec, kTarget);
      for (int64_t i = 0; i < count; ++i) {
        FUZZ_CHECK(now.records.count(ids[i]) == 1, kTarget);
        if (keep && metric != Metric::Cosine && std::find(ids.begin() + i + 1, ids.end(), ids[i]) == ids.end())
          FUZZ_CHECK(std::memcmp(copy_of(s, now.records[ids[i]]).data(), &vec[i * dim], 4 * dim) == 0, kTarget);
      }
      FUZZ_CHECK(model.dscale.empty() || now.dscale == model.dscale, kTarget);  // learned once
      FUZZ_CHECK(kind != 3 || count == 0 || !now.dscale.empty(), kTarget);
      if (m != Values::Tame) tame = false;
      model = now;
    } else if (op == 2) {  // add_records
      const int64_t count = in.ConsumeIntegralInRange<int64_t>(0, 6);
      const int64_t rb = s.record_bytes();
      std::vector<int64_t> ids(count);
      for (auto& id : ids) id = pick_id(in);
      std::vector<uint8_t> rec(static_cast<size_t>(count * rb));
      int how = in.ConsumeIntegralInRange<int>(0, 2);  // replay, replay with bit flips, raw bytes
      if (model.records.empty()) how = 2;              // nothing to replay
      for (int64_t i = 0; i < count; ++i) {
        uint8_t* r = rec.data() + i * rb;
        if (how < 2) {
          auto it = model.records.begin();
          std::advance(it, in.ConsumeIntegralInRange<size_t>(0, model.records.size() - 1));
          std::memcpy(r, it->second.data(), rb);
          if (how == 1) r[in.ConsumeIntegralInRange<int64_t>(0, rb - 1)] ^= 1u << in.ConsumeIntegralInRange<int>(0, 7);
        } else {
          for (int64_t b = 0; b < rb; ++b) r[b] = in.ConsumeIntegral<uint8_t>();
        }
      }
      const bool ok = accepted([&] { s.add_records(ids.data(), rec.data(), count); });
      State now = state(s);
      if (!ok) {
        FUZZ_CHECK(now == model, kTarget);
        continue;
      }
      FUZZ_CHECK(kind != 3 || count == 0 || !model.dscale.empty(), kTarget);  // records need scales
      for (int64_t i = 0; i < count; ++i) {
        std::vector<uint8_t> want(rec.begin() + i * rb, rec.begin() + (i + 1) * rb);
        FUZZ_CHECK(valid_record(s, want), kTarget);
        if (std::find(ids.begin() + i + 1, ids.end(), ids[i]) == ids.end())
          FUZZ_CHECK(now.records[ids[i]] == want, kTarget);
      }
      if (how != 0) tame = false;
      model = now;
    } else if (op == 3) {  // set_dim_scales
      std::vector<float> sc = matrix(in, dim, in.ConsumeBool() ? Values::Tame : Values::Edges);
      const bool ok = accepted([&] { s.set_dim_scales(sc.data()); });
      State now = state(s);
      if (ok) {
        FUZZ_CHECK(kind == 3 && model.records.empty() && now.dscale == sc, kTarget);
        model = now;
      } else {
        FUZZ_CHECK(now == model, kTarget);
      }
    } else if (op == 4) {  // remove
      const int64_t count = in.ConsumeIntegralInRange<int64_t>(0, 6);
      std::vector<int64_t> ids(count);
      for (auto& id : ids) id = pick_id(in);
      int64_t want = 0;
      for (auto id : ids) want += model.records.erase(id);
      int64_t got = -1;
      FUZZ_CHECK(accepted([&] { got = s.remove(ids.data(), count); }), kTarget);
      FUZZ_CHECK(got == want && state(s) == model, kTarget);
    } else {  // search
      const int64_t nq = in.ConsumeIntegralInRange<int64_t>(0, 3);
      const int64_t k = in.ConsumeIntegralInRange<int64_t>(1, 30);
      std::vector<float> q = matrix(in, nq * dim, Values::Tame);
      FuzzFilter filt;
      draw_filter(
          in, nq, 5, [&] { return pick_id(in); }, &filt);
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
      p.widen_only = in.ConsumeBool();
      p.rerank = keep && in.ConsumeBool() ? in.ConsumeIntegralInRange<int64_t>(0, 24) : 0;
      TopkStats st;
      const bool ok = accepted([&] { st = s.search_at(pick_level(in), p, filt.spec); });
      FUZZ_CHECK(ok || !tame, kTarget);
      if (!ok) continue;
      // Scores are compared on the widening path (the fast paths round the query), and for bf16 / f16
      // cosine only after an exhaustive re-rank (their decoded rows are not exactly unit length).
      const bool exhaustive = st.reranked && p.rerank >= static_cast<int64_t>(model.records.size());
      const bool widen = std::strstr(st.kernel, "-widen") != nullptr;
      const bool unit_rows = metric != Metric::Cosine || storage == Storage::I8;
      std::map<int64_t, std::vector<float>> rows;
      for (auto& [id, rec] : model.records) rows[id] = exhaustive ? copy_of(s, rec) : decoded(s, rec, model.dscale);
      auto listed = [](const std::vector<int64_t>& v, size_t b, size_t e, int64_t id) {
        return std::find(v.begin() + b, v.begin() + e, id) != v.begin() + e;
      };
      for (int64_t qi = 0; qi < nq; ++qi) {
        std::vector<Candidate> eligible;
        for (auto& [id, vec] : rows) {
          if (filt.spec.has_allow && !listed(filt.allow, 0, filt.allow.size(), id)) continue;
          if (listed(filt.deny, 0, filt.deny.size(), id)) continue;
          if (filt.spec.exclude_offsets && listed(filt.ex_ids, filt.ex_off[qi], filt.ex_off[qi + 1], id)) continue;
          eligible.push_back({id, vec.data()});
        }
        const bool compare = tame && (exhaustive || (!st.reranked && widen && unit_rows));
        check_row(kTarget, metric, q.data() + qi * dim, dim, k, eligible, out_ids.data() + qi * k,
                  out_scores.data() + qi * k, out_counts[qi], compare);
      }
    }
  }
  return 0;
}
