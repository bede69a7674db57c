// i8 storage with per-dimension scales (similarity.h): the scale learner and encoder, every SIMD
// level of the widening kernels against a float64 reference on the STORED values r * s_d * c_d at
// awkward dims, the VNNI path bit for bit against a reference of its own math (the query folded
// with s_d, then quantised), saturation of later rows, records, set_dim_scales and the coded errors.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <thread>
#include <vector>

#include "core/error.h"
#include "fixtures.h"
#include "quant_fixtures.h"
#include "similarity/cpu/quant.h"
#include "similarity/similarity.h"

using namespace simsage;
using namespace simsage_test;
using namespace simsage::similarity::cpu;

namespace {

// rows x dim values, dimension d drawn from N(0, (0.05 + 3 (d % 7) / 7)^2): per-dimension ranges that
// differ by ~60x, what per-dimension scales are for.
std::vector<float> skewed(int64_t rows, int64_t dim, std::mt19937& rng) {
  std::normal_distribution<float> nd(0.f, 1.f);
  std::vector<float> v(rows * dim);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t d = 0; d < dim; ++d) v[r * dim + d] = nd(rng) * (0.05f + 3.f * (d % 7) / 7.f);
  return v;
}

double score(const float* q, const float* x, int64_t dim, Metric m) {
  double dot = 0, qn = 0, l2 = 0;
  for (int64_t d = 0; d < dim; ++d) {
    dot += double(q[d]) * x[d];
    qn += double(q[d]) * q[d];
    l2 += (double(q[d]) - x[d]) * (double(q[d]) - x[d]);
  }
  if (m == Metric::InnerProduct) return dot;
  if (m == Metric::Cosine) return qn > 0 ? dot / std::sqrt(qn) : 0;
  return l2;
}

// Every returned score equals its id's float64 score on the decoded rows, and the ranked scores
// equal the reference's, within accumulation rounding (ids may differ at near-ties).
int check_decoded(const Out& got, const std::vector<float>& q, const std::vector<float>& dec,
                  const std::vector<int64_t>& ids, int64_t nq, int64_t dim, int64_t k, Metric m) {
  const int64_t n = static_cast<int64_t>(ids.size());
  const double tol = 4e-6 * (dim + 8) * (m == Metric::L2 ? 4 : 1);
  int bad = 0;
  for (int64_t i = 0; i < nq; ++i) {
    std::vector<double> ref;
    for (int64_t r = 0; r < n; ++r) ref.push_back(score(&q[i * dim], &dec[r * dim], dim, m));
    std::vector<double> ranked = ref;
    std::sort(ranked.begin(), ranked.end(), [&](double a, double b) { return m == Metric::L2 ? a < b : a > b; });
    if (got.counts[i] != std::min(k, n)) ++bad;
    for (int64_t j = 0; j < std::min<int64_t>(got.counts[i], k); ++j) {
      const float s = got.scores[i * k + j];
      const int64_t r = std::find(ids.begin(), ids.end(), got.ids[i * k + j]) - ids.begin();
      if (r >= n || std::fabs(ref[r] - s) > tol * (1 + std::fabs(ref[r])) ||
          std::fabs(ranked[j] - s) > tol * (1 + std::fabs(ranked[j])))
        ++bad;
    }
  }
  return bad;
}

}  // namespace

TEST_CASE(learner_and_encoder) {
  // Dimension 1 is zero in every row: it takes the largest scale. Dimension 0's scale is 4 / 127.
  const float rows[6] = {4.f, 0.f, -1.f, -2.f, 0.f, 0.5f};
  float sc[3];
  learn_dim_scales(rows, 2, 3, sc);
  CHECK(sc[0] == float(4.0 / 127) && sc[2] == float(1.0 / 127) && sc[1] == sc[0], "scales %g %g %g", sc[0], sc[1],
        sc[2]);
  const float zero[2] = {0.f, 0.f};
  float zs[2];
  learn_dim_scales(zero, 1, 2, zs);
  CHECK(zs[0] == 1.f / 127.f && zs[1] == 1.f / 127.f, "all-zero rows: 1 / 127");
  // Codes round to nearest, saturate at +-127 and are counted; padding codes are zero.
  const float x[3] = {8.f, 0.f, 0.3f};
  int8_t c[4] = {9, 9, 9, 9};
  float r = 0;
  CHECK(encode_row_i8_dims(x, 3, sc, false, c, &r) == 1, "one value saturates");
  CHECK(c[0] == 127 && c[1] == 0 && c[2] == 38 && c[3] == 0 && r == 1.f, "codes %d %d %d %d r %g", c[0], c[1], c[2],
        c[3], r);
  CHECK(encode_row_i8_dims(x, 3, sc, true, c, &r) == 1, "cosine saturates the same value");
  const double n2 = std::pow(r * sc[0] * c[0], 2) + std::pow(r * sc[2] * c[2], 2);
  CHECK(std::fabs(n2 - 1) < 1e-6, "cosine row decodes to unit length (%g)", n2);
  // Per-vector i8 of a row whose max|x| / 127 underflows (found by fuzz_vector_store_coded): the
  // smallest subnormal scale codes it exactly, and its zeros stay 0 (not NaN).
  const float tiny[3] = {3 * std::numeric_limits<float>::denorm_min(), 0.f, -std::numeric_limits<float>::denorm_min()};
  float ts = 0;
  CHECK(encode_row(Storage::I8, tiny, 3, false, c, &ts), "tiny row encodes");
  CHECK(ts == std::numeric_limits<float>::denorm_min() && c[0] == 3 && c[1] == 0 && c[2] == -1, "tiny codes %d %d %d",
        c[0], c[1], c[2]);
}

TEST_CASE(widening_kernels_match_float64_on_stored_values) {
  std::mt19937 rng(31);
  const int64_t dims[] = {1, 3, 15, 16, 17, 33, 129};
  const int64_t nqs[] = {1, 2, 15};
  int bad = 0, runs = 0;
  for (int64_t dim : dims)
    for (Metric m : kMetrics) {
      const int64_t n = 83, k = 7;
      auto corpus = skewed(n, dim, rng);
      std::vector<int64_t> ids(n);
      for (int64_t r = 0; r < n; ++r) ids[r] = 3 * r + 1;
      VectorStore store(dim, m, Storage::I8, false, true);
      store.add(ids.data(), corpus.data(), 50);  // learns from these 50 rows; the rest may saturate
      store.add(ids.data() + 50, corpus.data() + 50 * dim, n - 50);
      CHECK(store.dim_scaled() && static_cast<int64_t>(store.dim_scales().size()) == dim, "scales learned");
      std::vector<int64_t> eids;
      auto dec = exported(store, &eids);
      for (int64_t nq : nqs) {
        auto q = skewed(nq, dim, rng);
        for (SimdLevel lvl : kLevels) {
          if (!simd_level_supported(lvl)) continue;
          for (int threads : {1, 2}) {
            Out got(nq, k);
            TopkStats s = store.search_at(lvl, params(q, nq, dim, k, m, got, threads, 0, true), FilterSpec{});
            CHECK(std::strcmp(s.kernel, "i8-widen") == 0, "kernel %s", s.kernel);
            const int b = check_decoded(got, q, dec, eids, nq, dim, k, m);
            CHECK(b == 0, "dim %lld %s nq %lld %s t%d: %d mismatches", (long long)dim, metric_name(m), (long long)nq,
                  simd_level_name(lvl), threads, b);
            bad += b;
            ++runs;
          }
        }
      }
    }
  CHECK(bad == 0 && runs > 0, "%d mismatches in %d runs", bad, runs);
}

TEST_CASE(vnni_path_matches_its_exact_reference) {
  const CpuFeatures& f = cpu_features();
  if (!simd_level_supported(SimdLevel::Avx512) || !f.avx512_vnni) {
    std::printf("  (no AVX512_VNNI here: fast path not exercised)\n");
    return;
  }
  std::mt19937 rng(8);
  for (int64_t dim : {1, 15, 17, 33, 129})
    for (Metric m : kMetrics)
      for (int64_t nq : {1, 2, 15, 40}) {
        const int64_t n = 70, k = 9;
        auto corpus = skewed(n, dim, rng);
        std::vector<int64_t> ids(n);
        for (int64_t r = 0; r < n; ++r) ids[r] = r;
        VectorStore store(dim, m, Storage::I8, true, true);
        store.add(ids.data(), corpus.data(), n);
        const std::vector<float> sc = store.dim_scales();
        // The stored codes, row scales and |x|^2 as records hold them.
        std::vector<uint8_t> rec(n * store.record_bytes());
        std::vector<int64_t> rid(n);
        store.export_records(rec.data(), rid.data(), n);
        auto q = skewed(nq, dim, rng);
        Out got(nq, k);
        TopkStats st = store.search_at(SimdLevel::Avx512, params(q, nq, dim, k, m, got, 2), FilterSpec{});
        CHECK(std::strcmp(st.kernel, "i8-vnni") == 0, "kernel %s", st.kernel);
        std::vector<int64_t> eids;
        auto dec = exported(store, &eids);  // keepF32: the f32 copies; decode here instead
        int bad = 0;
        for (int64_t i = 0; i < nq; ++i) {
          // Driver: cosine unit query (double scale), then q'_d = q_d * s_d in f32, quantised as a row.
          std::vector<float> qf(q.begin() + i * dim, q.begin() + (i + 1) * dim);
          double qn = 0;
          for (float v : qf) qn += double(v) * v;
          if (m == Metric::Cosine)
            for (auto& v : qf) v = static_cast<float>(v * (qn > 0 ? 1.0 / std::sqrt(qn) : 0.0));
          for (int64_t d = 0; d < dim; ++d) qf[d] = qf[d] * sc[d];
          std::vector<int8_t> qc(coded_dim(dim, Storage::I8));
          float sq = 0;
          encode_row(Storage::I8, qf.data(), dim, false, qc.data(), &sq);
          std::vector<std::pair<float, int64_t>> all;
          for (int64_t r = 0; r < n; ++r) {
            const uint8_t* rr = rec.data() + r * store.record_bytes();
            float rs;
            std::memcpy(&rs, rr + dim, 4);
            int64_t dot = 0;
            double x2 = 0;
            for (int64_t d = 0; d < dim; ++d) {
              const int8_t c = static_cast<int8_t>(rr[d]);
              dot += int64_t(qc[d]) * c;
              const double x = double(float(rs * float(c))) * sc[d];
              x2 += x * x;
            }
            float s = static_cast<float>(dot) * rs;
            s = s * sq;
            if (m == Metric::L2) s = 2.f * s - static_cast<float>(x2);
            all.push_back({s, rid[r]});
          }
          std::sort(all.begin(), all.end(),
                    [](auto& a, auto& b) { return a.first != b.first ? a.first > b.first : a.second < b.second; });
          for (int64_t j = 0; j < k; ++j) {
            const float want = m == Metric::L2 ? std::max(0.f, static_cast<float>(qn) - all[j].first) : all[j].first;
            if (got.scores[i * k + j] != want) ++bad;
          }
        }
        CHECK(bad == 0, "dim %lld %s nq %lld: %d scores differ from the VNNI reference", (long long)dim, metric_name(m),
              (long long)nq, bad);
      }
}

TEST_CASE(saturation_records_and_rerank) {
  std::mt19937 rng(4);
  const int64_t dim = 19, n = 64;
  auto v = skewed(n, dim, rng);
  std::vector<int64_t> ids(n);
  for (int64_t r = 0; r < n; ++r) ids[r] = 100 + r;
  VectorStore s(dim, Metric::L2, Storage::I8, true, true);
  s.add(ids.data(), v.data(), 8);
  CHECK(s.saturated_values() == 0, "the learning batch never saturates");
  std::vector<float> big(v.begin() + 8 * dim, v.begin() + 9 * dim);
  for (auto& x : big) x *= 1000.f;
  s.add(ids.data() + 8, big.data(), 1);
  CHECK(s.saturated_values() >= dim - 2, "a row 1000x outside the range saturates (%lld)",
        (long long)s.saturated_values());
  s.add(ids.data() + 9, v.data() + 9 * dim, n - 9);
  // Records load back into a store given the same scales, with the same codes and scores.
  std::vector<uint8_t> rec(n * s.record_bytes());
  std::vector<int64_t> rid(n);
  s.export_records(rec.data(), rid.data(), n);
  VectorStore t(dim, Metric::L2, Storage::I8, true, true);
  EXPECT_THROW_CODE(t.add_records(rid.data(), rec.data(), n), ErrorCode::InvalidArgument);
  const std::vector<float> sc = s.dim_scales();
  t.set_dim_scales(sc.data());
  t.add_records(rid.data(), rec.data(), n);
  std::vector<uint8_t> rec2(n * t.record_bytes());
  std::vector<int64_t> rid2(n);
  t.export_records(rec2.data(), rid2.data(), n);
  CHECK(rec == rec2 && rid == rid2, "records round trip");
  EXPECT_THROW_CODE(t.set_dim_scales(sc.data()), ErrorCode::InvalidArgument);  // holds rows
  // An ip / l2 record's row factor is 1: another is rejected, nothing applied.
  std::vector<uint8_t> two(rec.begin(), rec.begin() + s.record_bytes());
  const float f2 = 2.f;
  std::memcpy(&two[dim], &f2, 4);
  const int64_t nid = 999;
  EXPECT_THROW_CODE(t.add_records(&nid, two.data(), 1), ErrorCode::InvalidArgument);
  CHECK(t.size() == n && !t.has(nid), "the bad record is not applied");
  // rerank covering the corpus: exact f32 order.
  auto q = skewed(3, dim, rng);
  Out a(3, 5), b(3, 5);
  t.search_at(SimdLevel::Avx512, params(q, 3, dim, 5, Metric::L2, a, 1, n), FilterSpec{});
  VectorStore exact(dim, Metric::L2);
  std::vector<float> all(v);
  std::copy(big.begin(), big.end(), all.begin() + 8 * dim);
  exact.add(ids.data(), all.data(), n);
  exact.search_at(SimdLevel::Scalar, params(q, 3, dim, 5, Metric::L2, b, 1), FilterSpec{});
  CHECK(a.ids == b.ids, "rerank over the whole corpus gives the exact ids");
  // Removing every row keeps the learned scales.
  CHECK(t.remove(rid.data(), n) == n && t.dim_scales() == sc, "scales survive an empty store");
  // Errors: scales on a store without them, bad values, dim-scaled ignored for other storage.
  VectorStore plain(dim, Metric::InnerProduct, Storage::I8);
  EXPECT_THROW_CODE(plain.set_dim_scales(sc.data()), ErrorCode::InvalidArgument);
  VectorStore u(2, Metric::InnerProduct, Storage::I8, false, true);
  const float nanv[2] = {1.f, NAN}, neg[2] = {1.f, 0.f};
  EXPECT_THROW_CODE(u.set_dim_scales(nanv), ErrorCode::NonFinite);
  EXPECT_THROW_CODE(u.set_dim_scales(neg), ErrorCode::NonFinite);
  const float huge[2] = {1.f, 1e30f};  // q_d s_d would overflow: above 2^62 / 127
  EXPECT_THROW_CODE(u.set_dim_scales(huge), ErrorCode::NonFinite);
  const float tiny[2] = {1.f, 1.4e-45f};  // a cosine row scale 1 / |s c| would be +inf: below 2^-100
  EXPECT_THROW_CODE(u.set_dim_scales(tiny), ErrorCode::NonFinite);
  float learned[2];
  const float small_rows[2] = {1e-40f, 0.5f};
  learn_dim_scales(small_rows, 1, 2, learned);
  CHECK(learned[0] == kMinDimScale && learned[1] == 0.5f / 127.f, "learned scales are at least 2^-100");
  CHECK(u.dim_scales().empty(), "nothing set");
  const float nanrow[2] = {1.f, NAN};
  int64_t id = 1;
  EXPECT_THROW_CODE(u.add(&id, nanrow, 1), ErrorCode::NonFinite);
  CHECK(u.dim_scales().empty() && u.size() == 0, "a rejected first add learns nothing");
  VectorStore bf(4, Metric::InnerProduct, Storage::BF16, false, true);
  CHECK(!bf.dim_scaled(), "per-dimension scales are i8 only");
}

TEST_CASE(concurrent_first_adds_learn_once) {
  // Two first adds race: one learns, the other must encode with those scales, not its own.
  std::mt19937 rng(17);
  const int64_t dim = 9, n = 40;
  for (int round = 0; round < 20; ++round) {
    auto a = skewed(n, dim, rng), b = skewed(n, dim, rng);
    for (auto& x : b) x *= 3.f;  // a different range, so the two batches learn different scales
    std::vector<int64_t> ia(n), ib(n);
    for (int64_t r = 0; r < n; ++r) ia[r] = r, ib[r] = n + r;
    VectorStore s(dim, Metric::InnerProduct, Storage::I8, false, true);
    std::thread t1([&] { s.add(ia.data(), a.data(), n); });
    std::thread t2([&] { s.add(ib.data(), b.data(), n); });
    t1.join();
    t2.join();
    const std::vector<float> sc = s.dim_scales();
    std::vector<float> la(dim), lb(dim);
    learn_dim_scales(a.data(), n, dim, la.data());
    learn_dim_scales(b.data(), n, dim, lb.data());
    CHECK(sc == la || sc == lb, "round %d: the scales are one batch's", round);
    std::vector<uint8_t> rec(2 * n * s.record_bytes());
    std::vector<int64_t> rid(2 * n);
    s.export_records(rec.data(), rid.data(), 2 * n);
    int bad = 0;
    for (int64_t r = 0; r < 2 * n; ++r) {
      const float* x = rid[r] < n ? &a[rid[r] * dim] : &b[(rid[r] - n) * dim];
      std::vector<int8_t> c(coded_dim(dim, Storage::I8));
      float rs;
      encode_row_i8_dims(x, dim, sc.data(), false, c.data(), &rs);
      if (std::memcmp(c.data(), &rec[r * s.record_bytes()], dim) != 0) ++bad;
    }
    CHECK(bad == 0, "round %d: %d rows not encoded with the store's scales", round, bad);
  }
}

TEST_MAIN()
