// Reduced-precision storage, the fast paths (bf16-dpbf16, i8-vnni): exact against a reference of
// their own math at awkward dims, query counts and k (bit for bit scores, ids equal outside ties, 1
// and 2 threads equal), and chosen only at the AVX-512 level (not at lower levels, with widen_only,
// with the active level stepped down, or for i8 panels without code sums). The exact-reference case
// skips, with a line saying so, a fast path this CPU lacks (AVX512-BF16, AVX512-VNNI). (The widening
// kernels, records and errors: test_quant.cpp; the shared buffers, params and inputs: quant_fixtures.h.)
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/cpu_features.h"
#include "fixtures.h"
#include "quant_fixtures.h"
#include "similarity/cpu/quant.h"
#include "similarity/similarity.h"

using namespace simsage;
using namespace simsage_test;
using namespace simsage::similarity::cpu;

namespace {

bool fast_path_available(Storage st) {
  const CpuFeatures& f = cpu_features();
  if (!simd_level_supported(SimdLevel::Avx512)) return false;
  return st == Storage::BF16 ? f.avx512_bf16 : f.avx512_vnni;
}

// The query as the driver sees it: cosine scales it to unit length in double, then rounds to f32.
std::vector<float> driver_query(const float* q, int64_t dim, Metric m) {
  std::vector<float> out(q, q + dim);
  if (m != Metric::Cosine) return out;
  double ss = 0;
  for (int64_t d = 0; d < dim; ++d) ss += double(q[d]) * q[d];
  const double s = ss > 0 ? 1.0 / std::sqrt(ss) : 0.0;
  for (int64_t d = 0; d < dim; ++d) out[d] = static_cast<float>(q[d] * s);
  return out;
}

// What the store keeps for one input row: the unit row for cosine, then the codes (i8: and scale).
struct StoredRow {
  std::vector<float> dec;     // decoded values, dim
  std::vector<int8_t> codes;  // i8: coded_dim values
  float scale = 1.f;          // i8
  float sq_norm = 0.f;        // |decoded|^2 as the store computes it (double sum, rounded)
};

StoredRow stored_row(Storage st, const float* v, int64_t dim, Metric m) {
  StoredRow r;
  std::vector<float> x = driver_query(v, dim, m);  // the store normalises cosine rows the same way
  const int64_t cdim = coded_dim(dim, st);
  r.dec.resize(dim);
  if (st == Storage::I8) {
    r.codes.resize(cdim);
    encode_row(st, x.data(), dim, m == Metric::Cosine, r.codes.data(), &r.scale);
    for (int64_t d = 0; d < dim; ++d) r.dec[d] = r.scale * static_cast<float>(r.codes[d]);
  } else {
    for (int64_t d = 0; d < dim; ++d) r.dec[d] = bf16_to_f32(f32_to_bf16(x[d]));
  }
  double ss = 0;
  for (int64_t d = 0; d < dim; ++d) ss += double(r.dec[d]) * r.dec[d];
  r.sq_norm = static_cast<float>(ss);
  return r;
}

// The internal score (higher is better) of the fast path, computed the way the instructions do:
//   bf16: q rounded to bf16; per pair of dimensions, acc += q[2g+1] x[2g+1] then += q[2g] x[2g]
//         (products of two bf16 are exact in f32; each add rounds), l2: 2 acc - |x|^2.
//   i8:   q quantised as a stored row (codes c_q, scale s_q); the exact integer sum(c_q c_x), then
//         f32: float(sum) * s_x * s_q; l2: 2 that - |x|^2.
float fast_key(Storage st, const std::vector<float>& qf, const StoredRow& r, int64_t dim, Metric m) {
  float s = 0;
  if (st == Storage::BF16) {
    auto qb = [&](int64_t d) { return d < dim ? bf16_to_f32(f32_to_bf16(qf[d])) : 0.f; };
    auto xb = [&](int64_t d) { return d < dim ? r.dec[d] : 0.f; };
    for (int64_t g = 0; g < coded_dim(dim, st) / 2; ++g) {
      s = s + qb(2 * g + 1) * xb(2 * g + 1);
      s = s + qb(2 * g) * xb(2 * g);
    }
  } else {
    const int64_t cdim = coded_dim(dim, st);
    std::vector<int8_t> qc(cdim);
    float sq = 0;
    encode_row(Storage::I8, qf.data(), dim, false, qc.data(), &sq);
    int64_t dot = 0;
    for (int64_t d = 0; d < cdim; ++d) dot += int64_t(qc[d]) * r.codes[d];
    s = static_cast<float>(dot) * r.scale;
    s = s * sq;
  }
  if (m == Metric::L2) s = 2.f * s - r.sq_norm;
  return s;
}

// Exact comparison: every returned score equals the reference's ranked score bit for bit, and the
// ids match except inside runs of equal scores. Returns the number of mismatches.
int check_fast(const char* what, const Out& got, const std::vector<float>& q, const std::vector<StoredRow>& rows,
               const std::vector<int64_t>& ids, int64_t nq, int64_t dim, int64_t k, Metric m, Storage st) {
  const int64_t n = static_cast<int64_t>(rows.size());
  int bad = 0;
  for (int64_t i = 0; i < nq; ++i) {
    std::vector<float> qf = driver_query(&q[i * dim], dim, m);
    double qn = 0;
    for (int64_t d = 0; d < dim; ++d) qn += double(q[i * dim + d]) * q[i * dim + d];
    std::vector<std::pair<float, int64_t>> all;
    for (int64_t r = 0; r < n; ++r) all.push_back({fast_key(st, qf, rows[r], dim, m), ids[r]});
    std::sort(all.begin(), all.end(),
              [](auto& a, auto& b) { return a.first != b.first ? a.first > b.first : a.second < b.second; });
    std::vector<float> want(std::min(k, n));
    for (size_t j = 0; j < want.size(); ++j)
      want[j] = m == Metric::L2 ? std::max(0.f, static_cast<float>(qn) - all[j].first) : all[j].first;
    if (got.counts[i] != static_cast<int32_t>(want.size())) {
      CHECK(false, "%s q%lld count %d", what, (long long)i, got.counts[i]);
      ++bad;
      continue;
    }
    for (size_t j = 0; j < want.size(); ++j) {
      const float s = got.scores[i * k + j];
      const bool tie = (j > 0 && want[j - 1] == want[j]) || (j + 1 < want.size() && want[j + 1] == want[j]);
      if (s != want[j] || (!tie && got.ids[i * k + j] != all[j].second)) {
        if (bad < 3)
          CHECK(false, "%s q%lld slot %zu: id %lld score %.9g, reference id %lld score %.9g", what, (long long)i, j,
                (long long)got.ids[i * k + j], s, (long long)all[j].second, want[j]);
        ++bad;
      }
    }
  }
  return bad;
}

}  // namespace

TEST_CASE(fast_paths_match_their_exact_reference) {
  std::mt19937 rng(77);
  const int64_t dims[] = {1, 3, 15, 16, 17, 33, 129};
  const int64_t nqs[] = {1, 2, 15, 256};
  for (Storage st : {Storage::BF16, Storage::I8}) {
    if (!fast_path_available(st)) {
      std::printf("  skip: this CPU has no %s fast path at the AVX-512 level\n", storage_name(st));
      continue;
    }
    const char* name = st == Storage::BF16 ? "bf16-dpbf16" : "i8-vnni";
    for (int64_t dim : dims)
      for (Metric m : kMetrics) {
        const int64_t n = 100;  // 6 full panels + a partial one: pairs of panels and a single one
        auto corpus = random_matrix(n, dim, rng);
        std::vector<int64_t> ids(n);
        std::vector<StoredRow> rows;
        for (int64_t r = 0; r < n; ++r) {
          ids[r] = 7 * r + 1;
          rows.push_back(stored_row(st, &corpus[r * dim], dim, m));
        }
        VectorStore store(dim, m, st);
        store.add(ids.data(), corpus.data(), n);
        for (int64_t nq : nqs) {
          auto q = random_matrix(nq, dim, rng);
          // k = 70 with 256 queries and 2 threads takes the query split (search.cpp).
          for (int64_t k : {int64_t{7}, int64_t{70}}) {
            if (k == 70 && nq != 256) continue;
            Out first(nq, k);
            for (int threads : {1, 2}) {
              Out got(nq, k);
              TopkStats t = store.search_at(SimdLevel::Avx512, params(q, nq, dim, k, m, got, threads), FilterSpec{});
              CHECK(std::strcmp(t.kernel, name) == 0, "kernel %s, want %s", t.kernel, name);
              char what[96];
              std::snprintf(what, sizeof what, "%s dim %lld %s nq %lld k %lld t%d", name, (long long)dim,
                            metric_name(m), (long long)nq, (long long)k, threads);
              CHECK(check_fast(what, got, q, rows, ids, nq, dim, k, m, st) == 0, "%s differs from its reference", what);
              if (threads == 1) first = got;
              CHECK(got.ids == first.ids && std::memcmp(got.scores.data(), first.scores.data(), 4 * nq * k) == 0,
                    "%s: 1 and 2 threads differ", what);
            }
          }
        }
      }
  }
}

TEST_CASE(fast_paths_run_only_at_the_avx512_level) {
  std::mt19937 rng(3);
  const int64_t dim = 20, n = 40;
  auto v = random_matrix(n, dim, rng);
  auto q = random_matrix(3, dim, rng);
  std::vector<int64_t> ids(n);
  for (int64_t r = 0; r < n; ++r) ids[r] = r;
  for (Storage st : {Storage::BF16, Storage::I8}) {
    VectorStore s(dim, Metric::InnerProduct, st);
    s.add(ids.data(), v.data(), n);
    const std::string widen = std::string(storage_name(st)) + "-widen";
    Out o(3, 5);
    for (SimdLevel lvl : {SimdLevel::Scalar, SimdLevel::Avx2}) {
      TopkStats t = s.search_at(lvl, params(q, 3, dim, 5, Metric::InnerProduct, o, 1), FilterSpec{});
      CHECK(widen == t.kernel, "%s at %s ran %s", storage_name(st), simd_level_name(lvl), t.kernel);
    }
    TopkStats t =
        s.search_at(SimdLevel::Avx512, params(q, 3, dim, 5, Metric::InnerProduct, o, 1, 0, true), FilterSpec{});
    CHECK(widen == t.kernel, "widen_only ran %s", t.kernel);
    // The active level stepped down (SIMSAGE_SIMD / setSimd) turns the fast path off.
    const SimdLevel before = active_simd_level();
    set_simd_level(SimdLevel::Avx2);
    t = s.search(params(q, 3, dim, 5, Metric::InnerProduct, o, 1), FilterSpec{});
    CHECK(widen == t.kernel, "active avx2 ran %s", t.kernel);
    set_simd_level(before);
    t = s.search_at(SimdLevel::Avx512, params(q, 3, dim, 5, Metric::InnerProduct, o, 1), FilterSpec{});
    const bool fast = fast_path_available(st);
    CHECK((std::strcmp(t.kernel, widen.c_str()) != 0) == fast, "avx512 ran %s (fast path available: %d)", t.kernel,
          fast);
  }
  // i8 without code sums (a caller-built PanelCorpus) stays on the widening path.
  VectorStore s(dim, Metric::InnerProduct, Storage::I8);
  s.add(ids.data(), v.data(), n);
  std::vector<int64_t> e;
  auto dec = exported(s, &e);
  std::vector<int8_t> codes(n * dim);
  std::vector<float> scales(n);
  PanelCorpus c;
  std::vector<int8_t> panels(((n + 15) / 16) * 16 * dim, 0);
  for (int64_t r = 0; r < n; ++r) {
    std::vector<int8_t> rc(dim);
    encode_row(Storage::I8, &v[r * dim], dim, false, rc.data(), &scales[r]);
    for (int64_t d = 0; d < dim; ++d) panels[coded_index(r, d, dim, 4)] = rc[d];
  }
  c.storage = Storage::I8;
  c.coded = panels.data();
  c.scales = scales.data();
  c.n = n;
  c.dim = dim;
  Out o(3, 5);
  TopkStats t = topk_panels_at(SimdLevel::Avx512, params(q, 3, dim, 5, Metric::InnerProduct, o, 1), c);
  CHECK(std::strcmp(t.kernel, "i8-widen") == 0, "no code sums ran %s", t.kernel);
}

TEST_MAIN()
