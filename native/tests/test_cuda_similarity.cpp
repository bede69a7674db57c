// The similarity family's CUDA twins (similarity/cuda/similarity_cuda.h) against the CPU search on the
// same inputs: the CUDA side is called directly (or through VectorStore::search with the backend set to
// cuda), the CPU side through the *_at variants. Skips (exit 77) without a device or without CUDA.
//
// Comparison (same_topk): counts equal; scores within tol = 1e-5 * dim * (1 + |s|) (+ 2e-5 * dim^2 for
// l2, whose distances come from |q|^2 - (2<q,x> - |x|^2)): FP32 sums in another order. Ids equal at
// every position, except a swapped near-tie: the GPU's id at position j may differ from the CPU's when
// the CPU lists it with a score within 2 tol of position j's, or (last places) leaves it out while the
// GPU's score there is within 2 tol of the CPU's last kept score. Exact ties (duplicate rows score
// bit-identically on both sides) must come out in the CPU's order: higher score, then smaller id.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <string>
#include <vector>

#include "check.h"
#include "core/backend.h"
#include "core/error.h"
#include "cuda_fixtures.h"
#include "fixtures.h"
#include "similarity/similarity.h"
#if SIMSAGE_WITH_CUDA
#include "similarity/cpu/quant.h"
#include "similarity/cuda/similarity_cuda.h"
#endif

#if SIMSAGE_WITH_CUDA
using namespace simsage;
using simsage_test::randv;
namespace sc = simsage::similarity::cuda;

namespace {

struct Out {
  std::vector<int64_t> ids;
  std::vector<float> scores;
  std::vector<int32_t> counts;
  TopkStats st;
};

TopkParams params(const std::vector<float>& q, int64_t nq, int64_t dim, int64_t k, Metric m, Out* o) {
  o->ids.assign(static_cast<size_t>(nq * k), 7);
  o->scores.assign(static_cast<size_t>(nq * k), 7.f);
  o->counts.assign(static_cast<size_t>(nq), -7);
  TopkParams p;
  p.queries = q.data();
  p.nq = nq;
  p.dim = dim;
  p.k = k;
  p.metric = m;
  p.out_ids = o->ids.data();
  p.out_scores = o->scores.data();
  p.out_counts = o->counts.data();
  return p;
}

// See the top of the file. Returns true when `got` (CUDA) matches `want` (CPU).
bool same_topk(const Out& want, const Out& got, int64_t nq, int64_t k, int64_t dim, Metric m, const std::string& what) {
  bool ok = true;
  for (int64_t i = 0; i < nq && ok; ++i) {
    if (want.counts[i] != got.counts[i]) {
      CHECK(false, "%s: query %lld count %d vs cpu %d", what.c_str(), (long long)i, got.counts[i], want.counts[i]);
      return false;
    }
    const int64_t c = want.counts[i];
    const int64_t* wi = want.ids.data() + i * k;
    const int64_t* gi = got.ids.data() + i * k;
    const float* ws = want.scores.data() + i * k;
    const float* gs = got.scores.data() + i * k;
    for (int64_t j = 0; j < c; ++j) {
      const double tol =
          1e-5 * dim * (1 + std::fabs(ws[j])) + (m == Metric::L2 ? 2e-5 * double(dim) * double(dim) : 0.0);
      if (!(std::fabs(gs[j] - ws[j]) <= tol)) {
        CHECK(false, "%s: query %lld slot %lld score %.9g vs cpu %.9g", what.c_str(), (long long)i, (long long)j, gs[j],
              ws[j]);
        ok = false;
        break;
      }
      if (gi[j] == wi[j]) continue;
      const int64_t* at = std::find(wi, wi + c, gi[j]);
      const bool tie =
          at != wi + c ? std::fabs(ws[at - wi] - ws[j]) <= 2 * tol : std::fabs(gs[j] - ws[c - 1]) <= 2 * tol;
      if (!tie) {
        CHECK(false, "%s: query %lld slot %lld id %lld vs cpu %lld (scores %.9g / %.9g)", what.c_str(), (long long)i,
              (long long)j, (long long)gi[j], (long long)wi[j], gs[j], ws[j]);
        ok = false;
        break;
      }
    }
    for (int64_t j = c; j < k && ok; ++j)
      if (gi[j] != -1 || !std::isnan(gs[j])) {
        CHECK(false, "%s: query %lld padding slot %lld not (-1, NaN)", what.c_str(), (long long)i, (long long)j);
        ok = false;
      }
  }
  return ok;
}

std::string label(const char* kind, int64_t dim, int64_t n, int64_t nq, int64_t k, Metric m) {
  return std::string(kind) + " dim=" + std::to_string(dim) + " n=" + std::to_string(n) + " q=" + std::to_string(nq) +
         " k=" + std::to_string(k) + " " + metric_name(m);
}

constexpr Metric kMetrics[] = {Metric::InnerProduct, Metric::Cosine, Metric::L2};

}  // namespace

TEST_CASE(rowmajor_matches_cpu_on_awkward_shapes) {
  for (int64_t dim : {1, 3, 17, 129, 128})
    for (int64_t n : {1, 15, 1000, 4099})
      for (int64_t nq : {1, 7, 64})
        for (int64_t k : {int64_t{1}, int64_t{10}, int64_t{100}, n + 3})
          for (Metric m : kMetrics) {
            if (nq == 64 && dim == 1 && n < 1000) continue;  // covered by the smaller batches
            const std::vector<float> x = randv(static_cast<size_t>(n * dim));
            const std::vector<float> q = randv(static_cast<size_t>(nq * dim));
            Out want, got;
            TopkParams pw = params(q, nq, dim, k, m, &want);
            TopkParams pg = params(q, nq, dim, k, m, &got);
            want.st = topk_rowmajor_at(active_simd_level(), pw, x.data(), n);
            got.st = sc::topk_rowmajor(pg, x.data(), n);
            const std::string what = label("rowmajor", dim, n, nq, k, m);
            CHECK(std::string(got.st.backend) == (std::min(k, n) <= sc::kMaxK ? "cuda" : "cpu"), "%s: backend %s",
                  what.c_str(), got.st.backend);
            if (!same_topk(want, got, nq, k, dim, m, what)) return;
          }
}

// f32, bf16 and f16 stores (the CPU side on its widening path: the same decoded values).
TEST_CASE(store_search_on_cuda_matches_cpu) {
  set_preferred_backend(Backend::Cuda);
  for (Storage st : {Storage::F32, Storage::BF16, Storage::F16})
    for (int64_t dim : {3, 17, 128, 129})
      for (Metric m : kMetrics) {
        const int64_t n = 4099, nq = 64;
        VectorStore s(dim, m, st);
        std::vector<int64_t> ids(static_cast<size_t>(n));
        for (int64_t i = 0; i < n; ++i) ids[i] = (i * 7919) % 100003;  // not in row order
        const std::vector<float> x = randv(static_cast<size_t>(n * dim));
        s.add(ids.data(), x.data(), n);
        const std::vector<float> q = randv(static_cast<size_t>(nq * dim));
        const std::string kernel = std::string("cuda-") + storage_name(st);
        for (int64_t k : {1, 10, 100, 1024}) {
          Out want, got;
          TopkParams pw = params(q, nq, dim, k, m, &want);
          TopkParams pg = params(q, nq, dim, k, m, &got);
          pw.widen_only = true;
          pg.widen_only = true;  // the exact widening scan (the tensor-core one: mma_rounds_the_query)
          want.st = s.search_at(active_simd_level(), pw, FilterSpec{});
          got.st = s.search(pg, FilterSpec{});
          const std::string what = label("store", dim, n, nq, k, m) + " " + storage_name(st);
          CHECK(std::string(got.st.backend) == "cuda" && got.st.kernel == kernel, "%s: ran %s/%s", what.c_str(),
                got.st.backend, got.st.kernel);
          if (!same_topk(want, got, nq, k, dim, m, what)) return;
        }
      }
  // i8 storage and re-ranking stay on the CPU.
  VectorStore s8(16, Metric::InnerProduct, Storage::I8);
  VectorStore sr(16, Metric::InnerProduct, Storage::BF16, true);
  std::vector<int64_t> ids = {1, 2, 3};
  const std::vector<float> x = randv(3 * 16), q = randv(16);
  s8.add(ids.data(), x.data(), 3);
  sr.add(ids.data(), x.data(), 3);
  Out o;
  TopkParams p = params(q, 1, 16, 2, Metric::InnerProduct, &o);
  CHECK(std::string(s8.search(p, FilterSpec{}).backend) == "cpu", "i8 runs on the cpu");
  p.rerank = 3;
  CHECK(std::string(sr.search(p, FilterSpec{}).backend) == "cpu", "rerank runs on the cpu");
}

// The tensor-core scan (bf16 / f16 stores, >= 16 queries, k <= 128): scores are <round(q), x> (cosine:
// the unit query rounded; l2: |q|^2 of the f32 query - 2 <round(q), x> + |x|^2). Expected here in double
// from the decoded stored rows (export_rows) and the rounded queries.
TEST_CASE(mma_rounds_the_query) {
  set_preferred_backend(Backend::Cuda);
  namespace qc = simsage::similarity::cpu;
  for (Storage st : {Storage::BF16, Storage::F16})
    for (int64_t dim : {17, 128, 129})
      for (Metric m : kMetrics) {
        const int64_t n = 4099, nq = 40, k = 100;
        VectorStore s(dim, m, st);
        std::vector<int64_t> ids(static_cast<size_t>(n));
        for (int64_t i = 0; i < n; ++i) ids[i] = (i * 7919) % 100003;
        const std::vector<float> x = randv(static_cast<size_t>(n * dim));
        s.add(ids.data(), x.data(), n);
        std::vector<float> rows(static_cast<size_t>(n * dim));
        std::vector<int64_t> rid(static_cast<size_t>(n));
        s.export_rows(rows.data(), rid.data(), n);
        const std::vector<float> q = randv(static_cast<size_t>(nq * dim));
        Out want, got;
        TopkParams pg = params(q, nq, dim, k, m, &got);
        got.st = s.search(pg, FilterSpec{});
        const std::string what = label("mma", dim, n, nq, k, m) + " " + storage_name(st);
        CHECK(std::string(got.st.kernel) == std::string("cuda-") + storage_name(st) + "-mma", "%s: ran %s",
              what.c_str(), got.st.kernel);
        params(q, nq, dim, k, m, &want);
        for (int64_t i = 0; i < nq; ++i) {
          double qn = 0;
          for (int64_t d = 0; d < dim; ++d) qn += double(q[i * dim + d]) * q[i * dim + d];
          const double inv = m == Metric::Cosine ? 1.0 / std::sqrt(qn) : 1.0;
          std::vector<double> qr(static_cast<size_t>(dim));
          for (int64_t d = 0; d < dim; ++d) {
            const float v = static_cast<float>(q[i * dim + d] * inv);
            qr[d] = st == Storage::BF16 ? qc::bf16_to_f32(qc::f32_to_bf16(v)) : qc::f16_to_f32(qc::f32_to_f16(v));
          }
          std::vector<std::pair<double, int64_t>> all;  // (key, higher is better), id
          for (int64_t r = 0; r < n; ++r) {
            double dot = 0, xn = 0;
            for (int64_t d = 0; d < dim; ++d) {
              dot += qr[d] * rows[r * dim + d];
              xn += double(rows[r * dim + d]) * rows[r * dim + d];
            }
            all.push_back({m == Metric::L2 ? 2 * dot - xn : dot, rid[r]});
          }
          std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
            return a.first > b.first || (a.first == b.first && a.second < b.second);
          });
          for (int64_t j = 0; j < k; ++j) {
            want.ids[i * k + j] = all[j].second;
            want.scores[i * k + j] =
                static_cast<float>(m == Metric::L2 ? std::max(0.0, qn - all[j].first) : all[j].first);
          }
          want.counts[i] = static_cast<int32_t>(k);
        }
        if (!same_topk(want, got, nq, k, dim, m, what)) return;
      }
}

TEST_CASE(duplicate_rows_tie_toward_smaller_id) {
  for (Metric m : kMetrics) {
    const int64_t dim = 17, base = 300, copies = 4, n = base * copies, nq = 7, k = 37;
    const std::vector<float> u = randv(static_cast<size_t>(base * dim));
    std::vector<float> x(static_cast<size_t>(n * dim));
    std::vector<int64_t> ids(static_cast<size_t>(n));
    for (int64_t r = 0; r < n; ++r) {
      std::copy(u.begin() + (r % base) * dim, u.begin() + (r % base + 1) * dim, x.begin() + r * dim);
      ids[r] = (r * 613) % 5003;  // copies of one row get ids in no particular order
    }
    VectorStore s(dim, m);
    s.add(ids.data(), x.data(), n);
    const std::vector<float> q = randv(static_cast<size_t>(nq * dim));
    Out want, got, rm, rmc;
    TopkParams pw = params(q, nq, dim, k, m, &want);
    TopkParams pg = params(q, nq, dim, k, m, &got);
    s.search_at(active_simd_level(), pw, FilterSpec{});
    set_preferred_backend(Backend::Cuda);
    got.st = s.search(pg, FilterSpec{});
    CHECK(std::string(got.st.backend) == "cuda", "store ties ran %s", got.st.backend);
    CHECK(got.ids == want.ids && got.counts == want.counts, "%s: tie order differs from the cpu", metric_name(m));
    // Row-major: ids are rows. The CPU's row-major paths may round copies of a row differently (norms
    // per tile), so near-ties are accepted here (same_topk).
    TopkParams pr = params(q, nq, dim, k, m, &rm);
    TopkParams prc = params(q, nq, dim, k, m, &rmc);
    sc::topk_rowmajor(pr, x.data(), n);
    topk_rowmajor_at(active_simd_level(), prc, x.data(), n);
    same_topk(rmc, rm, nq, k, dim, m, std::string("row-major ties ") + metric_name(m));
  }
}

TEST_CASE(filters_match_cpu_and_can_remove_everything) {
  set_preferred_backend(Backend::Cuda);
  const int64_t dim = 129, n = 4099, nq = 7, k = 10;
  for (Metric m : kMetrics) {
    VectorStore s(dim, m);
    std::vector<int64_t> ids(static_cast<size_t>(n));
    std::iota(ids.begin(), ids.end(), 1000);
    const std::vector<float> x = randv(static_cast<size_t>(n * dim));
    s.add(ids.data(), x.data(), n);
    const std::vector<float> q = randv(static_cast<size_t>(nq * dim));
    std::vector<int64_t> allow, deny, ex_off{0}, ex_ids;
    for (int64_t i = 0; i < n; i += 3) allow.push_back(1000 + i);
    for (int64_t i = 0; i < n; i += 5) deny.push_back(1000 + i);
    for (int64_t qi = 0; qi < nq; ++qi) {
      for (int64_t i = qi; i < n; i += 7 + qi) ex_ids.push_back(1000 + i);
      if (qi == 3)  // query 3 excludes every row
        for (int64_t i = 0; i < n; ++i) ex_ids.push_back(1000 + i);
      ex_off.push_back(static_cast<int64_t>(ex_ids.size()));
    }
    std::vector<FilterSpec> specs(4);
    specs[0].has_allow = true;
    specs[0].allow = allow.data();
    specs[0].n_allow = static_cast<int64_t>(allow.size());
    specs[0].deny = deny.data();
    specs[0].n_deny = static_cast<int64_t>(deny.size());
    specs[1].exclude_offsets = ex_off.data();
    specs[1].exclude_ids = ex_ids.data();
    specs[2] = specs[0];
    specs[2].exclude_offsets = ex_off.data();
    specs[2].exclude_ids = ex_ids.data();
    specs[3].has_allow = true;  // an empty allow list admits nothing
    for (size_t f = 0; f < specs.size(); ++f) {
      Out want, got;
      TopkParams pw = params(q, nq, dim, k, m, &want);
      TopkParams pg = params(q, nq, dim, k, m, &got);
      s.search_at(active_simd_level(), pw, specs[f]);
      got.st = s.search(pg, specs[f]);
      const std::string what = std::string("filter ") + std::to_string(f) + " " + metric_name(m);
      CHECK(std::string(got.st.backend) == "cuda", "%s ran %s", what.c_str(), got.st.backend);
      same_topk(want, got, nq, k, dim, m, what);
      if (f >= 1) CHECK(got.counts[3] == 0, "%s: query 3 excludes everything, count %d", what.c_str(), got.counts[3]);
      if (f == 3)
        for (int64_t i = 0; i < nq; ++i)
          CHECK(got.counts[i] == 0 && got.ids[i * k] == -1, "%s: empty allow", what.c_str());
    }
  }
}

TEST_CASE(incremental_updates_equal_a_fresh_store) {
  set_preferred_backend(Backend::Cuda);
  const int64_t dim = 128, nq = 16, k = 20;
  for (Storage st : {Storage::F32, Storage::BF16})
    for (Metric m : kMetrics) {
      VectorStore s(dim, m, st);
      const std::vector<float> q = randv(static_cast<size_t>(nq * dim));
      auto check_step = [&](const char* step) {
        std::vector<float> rows(static_cast<size_t>(s.size() * dim));
        std::vector<int64_t> rid(static_cast<size_t>(s.size()));
        s.export_rows(rows.data(), rid.data(), s.size());
        VectorStore fresh(dim, m, st);
        fresh.add(rid.data(), rows.data(), static_cast<int64_t>(rid.size()), m == Metric::Cosine);
        Out want, got;
        TopkParams pw = params(q, nq, dim, k, m, &want);
        TopkParams pg = params(q, nq, dim, k, m, &got);
        pw.widen_only = pg.widen_only = true;
        fresh.search_at(active_simd_level(), pw, FilterSpec{});
        got.st = s.search(pg, FilterSpec{});
        const std::string what = std::string("incremental ") + step + " " + metric_name(m) + " " + storage_name(st);
        CHECK(std::string(got.st.backend) == "cuda", "%s ran %s", what.c_str(), got.st.backend);
        same_topk(want, got, nq, k, dim, m, what);
      };
      std::vector<int64_t> ids(1000);
      std::iota(ids.begin(), ids.end(), 0);
      std::vector<float> x = randv(ids.size() * dim);
      s.add(ids.data(), x.data(), 1000);
      check_step("first upload");
      std::vector<int64_t> gone;
      for (int64_t i = 0; i < 1000; i += 9) gone.push_back(i);
      gone.push_back(999);
      s.remove(gone.data(), static_cast<int64_t>(gone.size()));
      check_step("remove");
      std::vector<int64_t> more(300);
      for (int64_t i = 0; i < 300; ++i) more[i] = i % 2 ? 5000 + i : i * 3;  // new ids and replacements
      x = randv(more.size() * dim, 2.f);
      s.add(more.data(), x.data(), 300);
      check_step("add again");
      std::vector<int64_t> all(5400);
      std::iota(all.begin(), all.end(), 0);
      s.remove(all.data(), 5400);
      s.add(more.data(), x.data(), 17);
      check_step("remove all, add 17");
    }
}

TEST_CASE(fallbacks_and_errors_are_the_cpus) {
  const int64_t dim = 17, n = 3000;
  const std::vector<float> x = randv(static_cast<size_t>(n * dim));
  const std::vector<float> q = randv(static_cast<size_t>(2 * dim));
  Out o;
  TopkParams p = params(q, 2, dim, 2000, Metric::InnerProduct, &o);
  o.st = sc::topk_rowmajor(p, x.data(), n);
  CHECK(std::string(o.st.backend) == "cpu", "k = 2000 > kMaxK runs on the cpu, ran %s", o.st.backend);
  p = params(q, 2, dim, 0, Metric::InnerProduct, &o);
  EXPECT_THROW_CODE(sc::topk_rowmajor(p, x.data(), n), ErrorCode::InvalidK);
  std::vector<float> bad = x;
  bad[5 * dim + 3] = std::nanf("");
  p = params(q, 2, dim, 5, Metric::L2, &o);
  EXPECT_THROW_CODE(sc::topk_rowmajor(p, bad.data(), n), ErrorCode::NonFinite);
  std::vector<float> big = q;
  big[0] = 3e19f;
  p = params(big, 2, dim, 5, Metric::L2, &o);
  EXPECT_THROW_CODE(sc::topk_rowmajor(p, x.data(), n), ErrorCode::NonFinite);
  sc::DeviceCorpus* dc = sc::create_device_corpus(128, Metric::L2);
  EXPECT_THROW_CODE(sc::reserve_device_corpus(dc, int64_t{1} << 38), ErrorCode::OutOfMemory);  // 128 TiB
  sc::reserve_device_corpus(dc, 100);  // still usable after the failure
  CHECK(sc::device_corpus_capacity(*dc) >= 100, "capacity after a failed reserve");
  sc::destroy_device_corpus(dc);
}

#endif  // SIMSAGE_WITH_CUDA

SIMSAGE_CUDA_TEST_MAIN("similarity CUDA top-k")
