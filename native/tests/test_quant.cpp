// Reduced-precision storage (bf16, f16, i8): the scalar encoders, every SIMD level of the coded
// search kernels against a float64 reference computed on the STORED (decoded) values at awkward
// dims (so the kernels are checked to accumulation rounding, not to quantisation error), l2 norms
// of the decoded rows, mutations, exact re-ranking from the f32 copies, records, and the coded
// errors. (The fast paths bf16-dpbf16 and i8-vnni: test_quant_fast.cpp; per-dimension i8 scales:
// test_quant_dims.cpp; the shared result buffers, params and inputs: quant_fixtures.h.)
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
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

// The score the coded kernels compute, in double, from the decoded row x: ip <q, x>, cosine
// <q / |q|, x> (the stored row is the quantised unit vector, not renormalised), l2 |q - x|^2.
double coded_score(const float* q, const float* x, int64_t dim, Metric m) {
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

// Checks a result against the float64 reference on the decoded rows `dec` (row r <-> ids[r]):
// every returned score equals its id's reference score, and the ranked scores equal the
// reference's ranked scores (ids may differ only at near-ties), within accumulation rounding.
void check_against_decoded(const char* what, const Out& got, const std::vector<float>& q, const std::vector<float>& dec,
                           const std::vector<int64_t>& ids, int64_t nq, int64_t dim, int64_t k, Metric m) {
  const int64_t n = static_cast<int64_t>(ids.size());
  const double tol = 2e-6 * (dim + 8) * (m == Metric::L2 ? 4 : 1);
  for (int64_t i = 0; i < nq; ++i) {
    std::vector<std::pair<double, int64_t>> all;
    for (int64_t r = 0; r < n; ++r) all.push_back({coded_score(&q[i * dim], &dec[r * dim], dim, m), ids[r]});
    std::sort(all.begin(), all.end(), [&](auto& a, auto& b) {
      if (a.first != b.first) return m == Metric::L2 ? a.first < b.first : a.first > b.first;
      return a.second < b.second;
    });
    const int64_t want = std::min(k, n);
    CHECK(got.counts[i] == want, "%s q%lld count %d vs %lld", what, (long long)i, got.counts[i], (long long)want);
    for (int64_t j = 0; j < std::min<int64_t>(got.counts[i], want); ++j) {
      const int64_t id = got.ids[i * k + j];
      const float s = got.scores[i * k + j];
      auto it = std::find(ids.begin(), ids.end(), id);
      CHECK(it != ids.end(), "%s unknown id %lld", what, (long long)id);
      if (it == ids.end()) continue;
      const int64_t r = it - ids.begin();
      const double e = coded_score(&q[i * dim], &dec[r * dim], dim, m);
      CHECK(std::fabs(e - s) <= tol * (1 + std::fabs(e)), "%s q%lld slot %lld score %.9g exact %.9g", what,
            (long long)i, (long long)j, s, e);
      const double rs = all[j].first;
      CHECK(std::fabs(rs - s) <= tol * (1 + std::fabs(rs)), "%s q%lld slot %lld score %.9g ref %.9g", what,
            (long long)i, (long long)j, s, rs);
    }
  }
}

const Storage kCoded[] = {Storage::BF16, Storage::F16, Storage::I8};

}  // namespace

TEST_CASE(bf16_and_f16_encoders) {
  // bf16: round to nearest even on the 16 dropped bits.
  CHECK(f32_to_bf16(1.0f) == 0x3F80, "bf16(1)");
  CHECK(bf16_to_f32(f32_to_bf16(1.0f + 0x1p-8f)) == 1.0f, "bf16 tie to even (down)");
  CHECK(bf16_to_f32(f32_to_bf16(1.0f + 3 * 0x1p-8f)) == 1.0f + 0x1p-6f, "bf16 tie to even (up)");
  CHECK(bf16_to_f32(f32_to_bf16(-2.5f)) == -2.5f, "bf16 exact");
  // f16: every finite half decodes and re-encodes to itself; 65504 is the largest; 65520 overflows.
  int bad = 0;
  for (uint32_t h = 0; h < 65536; ++h) {
    if (((h >> 10) & 0x1F) == 0x1F) continue;  // inf / nan
    if (f32_to_f16(f16_to_f32(static_cast<uint16_t>(h))) != h) ++bad;
  }
  CHECK(bad == 0, "%d halves do not round-trip", bad);
  CHECK(f16_to_f32(f32_to_f16(65504.f)) == 65504.f && f32_to_f16(65519.f) == 0x7BFF, "f16 max");
  CHECK(f32_to_f16(65520.f) == 0x7C00 && f32_to_f16(-1e6f) == 0xFC00, "f16 overflow -> inf");
  CHECK(f16_to_f32(f32_to_f16(0x1p-24f)) == 0x1p-24f && f32_to_f16(0x1p-26f) == 0, "f16 subnormals");
  CHECK(f16_to_f32(f32_to_f16(1.0f + 0x1p-11f)) == 1.0f, "f16 tie to even");
  CHECK(f16_to_f32(f32_to_f16(0.1f)) == 0.0999755859375f, "f16(0.1)");
  // i8: scale max|x| / 127, codes rounded and in [-127, 127]; cosine scale gives a unit row.
  float x[5] = {1.f, -2.f, 0.5f, 0.f, 2.f}, sc = 0;
  int8_t c[8];
  CHECK(encode_row(Storage::I8, x, 5, false, c, &sc), "i8 encodes");
  CHECK(sc == 2.f / 127 && c[0] == 64 && c[1] == -127 && c[2] == 32 && c[3] == 0 && c[4] == 127 && c[5] == 0 &&
            c[6] == 0 && c[7] == 0,
        "i8 codes %d %d %d %d %d scale %g", c[0], c[1], c[2], c[3], c[4], sc);
  CHECK(encode_row(Storage::I8, x, 5, true, c, &sc), "i8 cosine encodes");
  double n2 = 0;
  for (int d = 0; d < 5; ++d) n2 += double(sc * c[d]) * (sc * c[d]);
  CHECK(std::fabs(n2 - 1) < 1e-6, "i8 cosine row has unit length (%g)", n2);
  CHECK(coded_dim(17, Storage::I8) == 20 && coded_dim(17, Storage::BF16) == 18 && coded_dim(17, Storage::F16) == 17,
        "coded_dim");
  EXPECT_THROW_CODE(parse_storage("f8"), ErrorCode::InvalidArgument);
  CHECK(parse_storage("bf16") == Storage::BF16 && std::strcmp(storage_name(Storage::I8), "i8") == 0, "names");
}

TEST_CASE(coded_search_matches_float64_on_stored_values) {
  std::mt19937 rng(12);
  const int64_t dims[] = {1, 3, 15, 16, 17, 33, 129};
  const int64_t nqs[] = {1, 2, 15};  // the memory-bound path (<= 2) and full + partial query tiles
  for (Storage st : kCoded)
    for (int64_t dim : dims)
      for (Metric m : kMetrics) {
        const int64_t n = 83, k = 7;  // 5 full panels + a partial one
        auto corpus = random_matrix(n, dim, rng);
        std::vector<int64_t> ids(n);
        for (int64_t r = 0; r < n; ++r) ids[r] = 5 * r + 3;
        VectorStore store(dim, m, st);
        store.add(ids.data(), corpus.data(), n);
        std::vector<int64_t> eids;
        auto dec = exported(store, &eids);  // decoded stored values, in row order
        for (int64_t nq : nqs) {
          auto q = random_matrix(nq, dim, rng);
          for (SimdLevel lvl : kLevels) {
            if (!simd_level_supported(lvl)) continue;
            for (int threads : {1, 2}) {
              Out got(nq, k);
              TopkStats s = store.search_at(lvl, params(q, nq, dim, k, m, got, threads, 0, true), FilterSpec{});
              CHECK(std::strcmp(s.kernel, st == Storage::BF16  ? "bf16-widen"
                                          : st == Storage::F16 ? "f16-widen"
                                                               : "i8-widen") == 0,
                    "kernel %s", s.kernel);
              char what[96];
              std::snprintf(what, sizeof what, "%s dim %lld %s nq %lld %s t%d", storage_name(st), (long long)dim,
                            metric_name(m), (long long)nq, simd_level_name(lvl), threads);
              check_against_decoded(what, got, q, dec, eids, nq, dim, k, m);
            }
          }
        }
      }
}

TEST_CASE(decoded_values_are_the_rounded_inputs) {
  std::mt19937 rng(5);
  const int64_t dim = 19, n = 40;
  auto v = random_matrix(n, dim, rng, 3.f);
  std::vector<int64_t> ids(n);
  for (int64_t r = 0; r < n; ++r) ids[r] = r;
  for (Storage st : kCoded) {
    VectorStore s(dim, Metric::InnerProduct, st);
    s.add(ids.data(), v.data(), n);
    std::vector<int64_t> e;
    auto dec = exported(s, &e);
    int bad = 0;
    for (int64_t r = 0; r < n; ++r) {
      float amax = 0;
      for (int64_t d = 0; d < dim; ++d) amax = std::max(amax, std::fabs(v[r * dim + d]));
      for (int64_t d = 0; d < dim; ++d) {
        const float x = v[r * dim + d], y = dec[r * dim + d];
        const float want = st == Storage::BF16  ? bf16_to_f32(f32_to_bf16(x))
                           : st == Storage::F16 ? f16_to_f32(f32_to_f16(x))
                                                : y;
        if (st != Storage::I8 && y != want) ++bad;
        if (st == Storage::I8 && std::fabs(x - y) > amax / 127 * 0.5001f) ++bad;
      }
    }
    CHECK(bad == 0, "%s: %d decoded values off", storage_name(st), bad);
    // Re-adding the decoded values (a saved index without f32 copies) gives the same decoded values.
    VectorStore t(dim, Metric::InnerProduct, st);
    t.add(e.data(), dec.data(), n);
    auto dec2 = exported(t, &e);
    double worst = 0;
    for (size_t i = 0; i < dec.size(); ++i) worst = std::max(worst, std::fabs(double(dec[i]) - dec2[i]));
    CHECK(worst <= (st == Storage::I8 ? 1e-6 * 3 * 4 : 0), "%s re-encoding moves values by %g", storage_name(st),
          worst);
  }
}

TEST_CASE(l2_uses_decoded_norms_and_mutations_keep_rows) {
  std::mt19937 rng(9);
  const int64_t dim = 21;
  for (Storage st : kCoded) {
    VectorStore s(dim, Metric::L2, st, true);
    auto v = random_matrix(50, dim, rng);
    std::vector<int64_t> ids(50);
    for (int64_t r = 0; r < 50; ++r) ids[r] = 100 + r;
    s.add(ids.data(), v.data(), 50);
    std::vector<int64_t> gone = {100, 149, 120, 7};
    CHECK(s.remove(gone.data(), 4) == 3, "removed");
    auto w = random_matrix(3, dim, rng);
    std::vector<int64_t> rep = {101, 200, 101};
    s.add(rep.data(), w.data(), 3);
    CHECK(s.size() == 48 && s.has(200) && !s.has(120), "size after mutations");
    // f32 copies follow the rows: exported f32 rows are the inputs.
    std::vector<int64_t> e;
    auto f = exported(s, &e);
    int bad = 0;
    for (size_t r = 0; r < e.size(); ++r) {
      const float* want = e[r] == 101 ? &w[2 * dim] : e[r] == 200 ? &w[dim] : &v[(e[r] - 100) * dim];
      if (std::memcmp(want, &f[r * dim], dim * sizeof(float)) != 0) ++bad;
    }
    CHECK(bad == 0, "%s: %d f32 copies moved wrongly", storage_name(st), bad);
    // Search without re-ranking against the decoded rows of a store without copies, same inputs.
    VectorStore plain(dim, Metric::L2, st);
    plain.add(e.data(), f.data(), static_cast<int64_t>(e.size()));
    std::vector<int64_t> pe;
    auto dec = exported(plain, &pe);
    auto q = random_matrix(4, dim, rng);
    for (SimdLevel lvl : kLevels) {
      if (!simd_level_supported(lvl)) continue;
      Out got(4, 9);
      s.search_at(lvl, params(q, 4, dim, 9, Metric::L2, got, 2, 0, true), FilterSpec{});
      check_against_decoded(storage_name(st), got, q, dec, pe, 4, dim, 9, Metric::L2);
    }
  }
}

TEST_CASE(rerank_is_exact_when_m_covers_the_corpus) {
  std::mt19937 rng(21);
  for (Storage st : kCoded)
    for (Metric m : kMetrics)
      for (int64_t dim : {3, 17, 64}) {
        const int64_t n = 150, nq = 6, k = 10;
        auto v = random_matrix(n, dim, rng);
        std::vector<int64_t> ids(n);
        for (int64_t r = 0; r < n; ++r) ids[r] = 2 * r;
        VectorStore s(dim, m, st, true);
        s.add(ids.data(), v.data(), n);
        auto q = random_matrix(nq, dim, rng);
        Out ref(nq, k);
        topk_reference(params(q, nq, dim, k, m, ref, 1), v.data(), n, ids.data());
        for (SimdLevel lvl : kLevels) {
          if (!simd_level_supported(lvl)) continue;
          Out got(nq, k);
          TopkStats t = s.search_at(lvl, params(q, nq, dim, k, m, got, 2, n), FilterSpec{});
          CHECK(t.reranked, "reranked");
          int diff = 0;
          for (int64_t i = 0; i < nq * k; ++i) {
            if (got.ids[i] != ref.ids[i]) ++diff;
            if (std::fabs(got.scores[i] - ref.scores[i]) > 1e-6 * (1 + std::fabs(ref.scores[i]))) ++diff;
          }
          CHECK(diff == 0, "%s %s dim %lld %s: %d slots differ from the exact f32 top-k", storage_name(st),
                metric_name(m), (long long)dim, simd_level_name(lvl), diff);
        }
        // Filters still apply with re-ranking: deny the exact best of query 0.
        std::vector<int64_t> deny = {ref.ids[0]};
        FilterSpec f;
        f.deny = deny.data();
        f.n_deny = 1;
        Out got(nq, k);
        s.search_at(SimdLevel::Scalar, params(q, nq, dim, k, m, got, 1, 40), f);
        CHECK(got.ids[0] == ref.ids[1], "deny applies before re-ranking");
      }
}

TEST_CASE(quantized_errors) {
  const int64_t dim = 4;
  std::vector<int64_t> ids = {1, 2};
  std::vector<float> v = {1, 2, 3, 4, 5, 6, 70000.f, 8};
  VectorStore f16(dim, Metric::InnerProduct, Storage::F16);
  EXPECT_THROW_CODE(f16.add(ids.data(), v.data(), 2), ErrorCode::NonFinite);
  CHECK(f16.size() == 0, "nothing applied on f16 overflow");
  v[6] = 65519.f;
  f16.add(ids.data(), v.data(), 2);
  CHECK(f16.size() == 2, "65519 rounds to 65504");
  VectorStore cos16(dim, Metric::Cosine, Storage::F16);
  v[6] = 3e30f;
  cos16.add(ids.data(), v.data(), 2);  // cosine quantises the unit vector: no range limit
  v[6] = NAN;
  VectorStore i8(dim, Metric::L2, Storage::I8);
  EXPECT_THROW_CODE(i8.add(ids.data(), v.data(), 2), ErrorCode::NonFinite);
  v[6] = 7;
  i8.add(ids.data(), v.data(), 2);
  std::vector<float> q = {1, 0, 0, 0};
  Out o(1, 1);
  EXPECT_THROW_CODE(i8.search(params(q, 1, dim, 1, Metric::L2, o, 1, 5), FilterSpec{}), ErrorCode::InvalidArgument);
  // f32 storage ignores rerank (already exact); an all-zero i8 row scores 0.
  std::vector<float> z = {0, 0, 0, 0};
  std::vector<int64_t> zid = {9};
  i8.add(zid.data(), z.data(), 1);
  VectorStore f32(dim, Metric::InnerProduct, Storage::F32, true);
  f32.add(ids.data(), v.data(), 2);
  TopkStats t = f32.search(params(q, 1, dim, 1, Metric::InnerProduct, o, 1, 5), FilterSpec{});
  CHECK(!t.reranked && o.ids[0] == 2 && std::strcmp(t.kernel, "f32") == 0, "f32 ignores rerank");
  CHECK(f32.vector_bytes() == 16 && i8.vector_bytes() == 4 + 4 + 4, "vector bytes %lld %lld",
        (long long)f32.vector_bytes(), (long long)i8.vector_bytes());
}

TEST_CASE(records_round_trip_with_the_same_codes) {
  std::mt19937 rng(41);
  const int64_t dim = 13, n = 37;
  auto v = random_matrix(n, dim, rng);
  std::vector<int64_t> ids(n);
  for (int64_t r = 0; r < n; ++r) ids[r] = 3 * r;
  auto q = random_matrix(5, dim, rng);
  for (Storage st : kCoded)
    for (Metric m : kMetrics)
      for (bool keep : {false, true}) {
        VectorStore a(dim, m, st, keep);
        a.add(ids.data(), v.data(), n);
        const int64_t rb = a.record_bytes();
        CHECK(rb == dim * storage_bytes(st) + (st == Storage::I8 ? 4 : 0) + (keep ? 4 * dim : 0), "record bytes");
        std::vector<uint8_t> rec(n * rb);
        std::vector<int64_t> eid(n);
        a.export_records(rec.data(), eid.data(), n);
        VectorStore b(dim, m, st, keep);
        b.add_records(eid.data(), rec.data(), n);
        std::vector<uint8_t> rec2(n * rb);
        std::vector<int64_t> eid2(n);
        b.export_records(rec2.data(), eid2.data(), n);
        CHECK(rec == rec2 && eid == eid2, "%s %s keep %d: records differ after a round trip", storage_name(st),
              metric_name(m), keep);
        Out x(5, 6), y(5, 6);
        a.search(params(q, 5, dim, 6, m, x, 1, keep ? 20 : 0), FilterSpec{});
        b.search(params(q, 5, dim, 6, m, y, 1, keep ? 20 : 0), FilterSpec{});
        CHECK(x.ids == y.ids && x.scores == y.scores, "%s %s: searches differ after a round trip", storage_name(st),
              metric_name(m));
      }
  // Invalid records change nothing.
  VectorStore s(4, Metric::InnerProduct, Storage::I8);
  std::vector<uint8_t> r(8, 0);
  float one = 1.f;
  std::memcpy(&r[4], &one, 4);
  std::vector<int64_t> id = {5};
  r[0] = 0x80;  // -128
  EXPECT_THROW_CODE(s.add_records(id.data(), r.data(), 1), ErrorCode::InvalidArgument);
  r[0] = 1;
  float nan = NAN;
  std::memcpy(&r[4], &nan, 4);
  EXPECT_THROW_CODE(s.add_records(id.data(), r.data(), 1), ErrorCode::NonFinite);
  CHECK(s.size() == 0, "nothing applied");
  std::memcpy(&r[4], &one, 4);
  s.add_records(id.data(), r.data(), 1);
  CHECK(s.size() == 1 && s.has(5), "a valid record applies");
  VectorStore h(2, Metric::L2, Storage::F16);
  std::vector<uint8_t> inf = {0x00, 0x7C, 0x00, 0x3C};  // +inf, 1.0
  EXPECT_THROW_CODE(h.add_records(id.data(), inf.data(), 1), ErrorCode::NonFinite);
  VectorStore f(2, Metric::L2, Storage::F32);
  EXPECT_THROW_CODE(f.add_records(id.data(), inf.data(), 1), ErrorCode::InvalidArgument);
}

TEST_MAIN()
