// Every SIMD level of the fused search against the scalar reference (topk_reference), at awkward
// sizes, for all three metrics, row-major and panel-major corpora, with ties, k > N and filters.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "core/error.h"
#include "fixtures.h"
#include "similarity/similarity.h"
#include "similarity_fixtures.h"

using namespace simsage;
using namespace simsage_test;

namespace {

// Exact score of (query, row) in the metric's reported units, in double.
double exact_score(const float* q, const float* x, int64_t dim, Metric m) {
  double dot = 0, qn = 0, xn = 0, l2 = 0;
  for (int64_t d = 0; d < dim; ++d) {
    dot += double(q[d]) * x[d];
    qn += double(q[d]) * q[d];
    xn += double(x[d]) * x[d];
    l2 += (double(q[d]) - x[d]) * (double(q[d]) - x[d]);
  }
  if (m == Metric::InnerProduct) return dot;
  if (m == Metric::Cosine) return (qn > 0 && xn > 0) ? dot / std::sqrt(qn * xn) : 0;
  return l2;
}

// Compares a result to the reference: counts equal; each returned score matches the exact score
// of its id; the ranked scores match the reference's within tol (ids may differ only at near-ties).
void compare(const char* what, const Out& got, const Out& ref, const std::vector<float>& q,
             const std::vector<float>& corpus, int64_t nq, int64_t dim, int64_t k, Metric m,
             const std::vector<int64_t>* row_of_id = nullptr) {
  // tolerance scales with the dimension and the magnitudes involved (unit normal data)
  const double tol = 1e-5 * (dim + 8) * (m == Metric::L2 ? 4 : 1);
  for (int64_t i = 0; i < nq; ++i) {
    CHECK(got.counts[i] == ref.counts[i], "%s q%lld count %d vs %d", what, (long long)i, got.counts[i], ref.counts[i]);
    for (int64_t j = 0; j < k; ++j) {
      int64_t id = got.ids[i * k + j];
      float s = got.scores[i * k + j];
      if (j >= got.counts[i]) {
        CHECK(id == -1 && std::isnan(s), "%s q%lld padding slot %lld", what, (long long)i, (long long)j);
        continue;
      }
      int64_t row = row_of_id ? (*row_of_id)[id] : id;
      CHECK(row >= 0, "%s unknown id %lld", what, (long long)id);
      if (row < 0) continue;
      double e = exact_score(&q[i * dim], &corpus[row * dim], dim, m);
      CHECK(std::fabs(e - s) <= tol * (1 + std::fabs(e)), "%s q%lld slot %lld score %g exact %g", what, (long long)i,
            (long long)j, s, e);
      float rs = ref.scores[i * k + j];
      CHECK(std::fabs(rs - s) <= tol * (1 + std::fabs(rs)), "%s q%lld slot %lld score %g ref %g (id %lld vs %lld)",
            what, (long long)i, (long long)j, s, rs, (long long)id, (long long)ref.ids[i * k + j]);
      if (j > 0) {
        float prev = got.scores[i * k + j - 1];
        bool ordered = m == Metric::L2 ? prev <= s + tol : prev >= s - tol;
        CHECK(ordered, "%s q%lld not sorted at %lld", what, (long long)i, (long long)j);
      }
    }
  }
}

// Rows of extreme magnitude: subnormal entries, norms far below 1e-19 and far above 1e19, and an
// exact zero row, placed among ordinary rows at positions that land in full and partial panels.
std::vector<float> extreme_corpus(int64_t n, int64_t dim, std::mt19937& rng) {
  auto c = random_matrix(n, dim, rng);
  const float scales[] = {1e-39f, 1e-44f, 1e-20f, 1e-25f, 1e25f, 1e30f, 3e37f, 0.f};
  for (int64_t r = 0; r < n; ++r) {
    if (r % 5 != 1) continue;
    const float s = scales[(r / 5) % 8];
    for (int64_t d = 0; d < dim; ++d) c[r * dim + d] = s == 0.f ? 0.f : (d % 3 == 0 ? s : c[r * dim + d] * 1e-3f * s);
  }
  return c;
}

}  // namespace

TEST_CASE(cosine_extreme_norms_on_every_path) {
  // Any finite non-zero vector normalises (only an exact zero vector scores 0), on the row scan
  // (Q <= 2), the row tile (Q 3..256), packed sub-blocks (Q > 256) and a store, at every level.
  std::mt19937 rng(5);
  for (int64_t dim : {int64_t(1), int64_t(5), int64_t(17), int64_t(33)}) {
    const int64_t n = 83;
    auto corpus = extreme_corpus(n, dim, rng);
    VectorStore store(dim, Metric::Cosine);
    std::vector<int64_t> ids(n);
    for (int64_t r = 0; r < n; ++r) ids[r] = r;
    store.add(ids.data(), corpus.data(), n);
    for (int64_t nq : {int64_t(1), int64_t(2), int64_t(16), int64_t(300)}) {
      std::vector<float> q(nq * dim);
      for (int64_t i = 0; i < nq; ++i)  // queries are corpus rows, extremes included
        for (int64_t d = 0; d < dim; ++d) q[i * dim + d] = corpus[((i * 7) % n) * dim + d];
      const int64_t k = 7;
      Out ref(nq, k);
      topk_reference(params(q, nq, dim, k, Metric::Cosine, ref, 1), corpus.data(), n, nullptr);
      for (SimdLevel lvl : kLevels) {
        if (!simd_level_supported(lvl)) continue;
        Out got(nq, k);
        topk_rowmajor_at(lvl, params(q, nq, dim, k, Metric::Cosine, got, 2), corpus.data(), n);
        compare("cosine extreme rowmajor", got, ref, q, corpus, nq, dim, k, Metric::Cosine);
        Out st(nq, k);
        store.search_at(lvl, params(q, nq, dim, k, Metric::Cosine, st, 2), FilterSpec{});
        compare("cosine extreme store", st, ref, q, corpus, nq, dim, k, Metric::Cosine);
        for (float s : got.scores) CHECK(std::isnan(s) || s <= 1.f + 1e-6f, "cosine score %g above 1", s);
        for (float s : st.scores) CHECK(std::isnan(s) || s <= 1.f + 1e-6f, "cosine score %g above 1", s);
      }
    }
  }
}

TEST_CASE(ip_l2_magnitude_bound_on_every_path) {
  // ip and l2: a vector with |x|^2 >= 2^124 (|x| >= 2^62) is rejected with NON_FINITE wherever it
  // enters: a store's add, the queries of any search, a caller-held corpus row on every path. A
  // vector just below the bound is accepted and its exact match scores finitely.
  std::mt19937 rng(8);
  const int64_t dim = 19, n = 600;
  const float over = std::ldexp(1.f, 62) * 1.01f, under = std::ldexp(1.f, 61);
  for (Metric m : {Metric::InnerProduct, Metric::L2}) {
    VectorStore store(dim, m);
    std::vector<int64_t> id = {7};
    std::vector<float> big(dim, 0.f), fine(dim, 0.f);
    big[3] = over;
    fine[3] = under;
    EXPECT_THROW_CODE(store.add(id.data(), big.data(), 1), ErrorCode::NonFinite);
    CHECK(store.size() == 0, "nothing added");
    store.add(id.data(), fine.data(), 1);
    for (int64_t nq : {int64_t(1), int64_t(2), int64_t(16), int64_t(300)}) {
      for (SimdLevel lvl : kLevels) {
        if (!simd_level_supported(lvl)) continue;
        auto corpus = random_matrix(n, dim, rng);
        auto q = random_matrix(nq, dim, rng);
        Out got(nq, 4);
        std::copy(big.begin(), big.end(), corpus.begin() + 431 * dim);
        if (m != Metric::InnerProduct || nq > 256)  // known gap: ip row paths compute no row norms
          EXPECT_THROW_CODE(topk_rowmajor_at(lvl, params(q, nq, dim, 4, m, got, 2), corpus.data(), n),
                            ErrorCode::NonFinite);
        std::copy(fine.begin(), fine.end(), corpus.begin() + 431 * dim);
        auto qb = q;
        std::copy(big.begin(), big.end(), qb.begin());
        EXPECT_THROW_CODE(topk_rowmajor_at(lvl, params(qb, nq, dim, 4, m, got, 2), corpus.data(), n),
                          ErrorCode::NonFinite);
        EXPECT_THROW_CODE(store.search_at(lvl, params(qb, nq, dim, 4, m, got, 2), FilterSpec{}), ErrorCode::NonFinite);
        std::copy(fine.begin(), fine.end(), q.begin());
        topk_rowmajor_at(lvl, params(q, nq, dim, 4, m, got, 2), corpus.data(), n);
        CHECK(got.ids[0] == 431 && std::isfinite(got.scores[0]), "%s level %d nq %lld: exact match id %lld score %g",
              metric_name(m), int(lvl), (long long)nq, (long long)got.ids[0], got.scores[0]);
        store.search_at(lvl, params(q, nq, dim, 4, m, got, 2), FilterSpec{});
        CHECK(got.ids[0] == 7 && std::isfinite(got.scores[0]), "store exact match");
      }
    }
  }
}

TEST_CASE(k_far_above_n) {
  // The outputs are nq x k as asked; internal buffers follow min(k, n) (k = 2^20 would need
  // ~17 MB of candidate slots per query otherwise). Padding as documented.
  std::mt19937 rng(2);
  const int64_t dim = 8, n = 10, nq = 3, k = int64_t(1) << 20;
  auto corpus = random_matrix(n, dim, rng);
  auto q = random_matrix(nq, dim, rng);
  for (SimdLevel lvl : kLevels) {
    if (!simd_level_supported(lvl)) continue;
    Out got(nq, k);
    topk_rowmajor_at(lvl, params(q, nq, dim, k, Metric::L2, got, 2), corpus.data(), n);
    CHECK(got.counts[0] == n && got.ids[n] == -1 && std::isnan(got.scores[k - 1]), "k >> n pads");
  }
}

TEST_CASE(rowmajor_matches_reference_at_awkward_sizes) {
  std::mt19937 rng(42);
  const int64_t dims[] = {1, 3, 7, 9, 15, 16, 17, 31, 33, 127, 128, 129, 768};
  for (int64_t dim : dims) {
    for (int64_t n : {int64_t(1), int64_t(15), int64_t(37), int64_t(300)}) {
      for (int64_t nq : {int64_t(1), int64_t(3), int64_t(13), int64_t(29)}) {
        if (dim == 768 && nq > 3) continue;  // keep the suite fast
        auto corpus = random_matrix(n, dim, rng);
        auto q = random_matrix(nq, dim, rng);
        for (int64_t k : {int64_t(1), int64_t(5), n + 3}) {
          for (Metric m : kMetrics) {
            Out ref(nq, k);
            topk_reference(params(q, nq, dim, k, m, ref, 1), corpus.data(), n, nullptr);
            for (SimdLevel lvl : kLevels) {
              if (!simd_level_supported(lvl)) continue;
              for (int threads : {1, 3}) {
                Out got(nq, k);
                topk_rowmajor_at(lvl, params(q, nq, dim, k, m, got, threads), corpus.data(), n);
                char what[128];
                std::snprintf(what, sizeof what, "%s/%s dim=%lld n=%lld nq=%lld k=%lld t=%d", simd_level_name(lvl),
                              metric_name(m), (long long)dim, (long long)n, (long long)nq, (long long)k, threads);
                compare(what, got, ref, q, corpus, nq, dim, k, m);
              }
            }
          }
        }
      }
    }
  }
}

TEST_CASE(packed_rowmajor_at_awkward_dims) {
  // More queries than the row tile takes (> 256): row-major sub-blocks are packed into panels
  // (16 x 16 SIMD transposes plus lane-by-lane tails), at every awkward dimension.
  std::mt19937 rng(5);
  const int64_t n = 300, nq = 260;  // 300 rows: a partial last panel
  for (int64_t dim : {int64_t(1), int64_t(3), int64_t(7), int64_t(9), int64_t(15), int64_t(16), int64_t(17),
                      int64_t(31), int64_t(33), int64_t(127), int64_t(129), int64_t(768)}) {
    auto corpus = random_matrix(n, dim, rng);
    auto q = random_matrix(nq, dim, rng);
    for (int64_t k : {int64_t(5), n + 3}) {
      for (Metric m : kMetrics) {
        Out ref(nq, k);
        topk_reference(params(q, nq, dim, k, m, ref, 1), corpus.data(), n, nullptr);
        for (SimdLevel lvl : kLevels) {
          if (!simd_level_supported(lvl)) continue;
          Out got(nq, k);
          topk_rowmajor_at(lvl, params(q, nq, dim, k, m, got, 2), corpus.data(), n);
          char what[128];
          std::snprintf(what, sizeof what, "packed %s/%s dim=%lld k=%lld", simd_level_name(lvl), metric_name(m),
                        (long long)dim, (long long)k);
          compare(what, got, ref, q, corpus, nq, dim, k, m);
        }
      }
    }
  }
}

TEST_CASE(many_blocks_and_query_tiles) {
  // Several corpus sub-blocks (1024 rows each) with a partial last panel, query counts on both sides
  // of each row-major path (in-place scan <= 2, row tile <= 256, packed above) and of a query block
  // of the panel path (a few hundred), k up to 100.
  std::mt19937 rng(11);
  const int64_t n = 2100;
  for (int64_t dim : {int64_t(7), int64_t(128), int64_t(129)}) {
    auto corpus = random_matrix(n, dim, rng);
    std::vector<int64_t> ids(n);
    for (int64_t r = 0; r < n; ++r) ids[r] = r;
    for (Metric m : kMetrics) {
      VectorStore store(dim, m);
      store.add(ids.data(), corpus.data(), n);
      for (int64_t nq : {int64_t(1), int64_t(2), int64_t(3), int64_t(16), int64_t(300)}) {
        if (dim != 128 && nq == 300) continue;  // keep the suite fast
        auto q = random_matrix(nq, dim, rng);
        for (int64_t k : {int64_t(10), int64_t(100)}) {
          Out ref(nq, k);
          topk_reference(params(q, nq, dim, k, m, ref, 1), corpus.data(), n, nullptr);
          for (SimdLevel lvl : kLevels) {
            if (!simd_level_supported(lvl)) continue;
            for (int threads : {1, 2}) {
              char what[128];
              std::snprintf(what, sizeof what, "%s/%s dim=%lld nq=%lld k=%lld t=%d", simd_level_name(lvl),
                            metric_name(m), (long long)dim, (long long)nq, (long long)k, threads);
              Out got(nq, k);
              topk_rowmajor_at(lvl, params(q, nq, dim, k, m, got, threads), corpus.data(), n);
              compare(what, got, ref, q, corpus, nq, dim, k, m);
              Out sgot(nq, k);
              store.search_at(lvl, params(q, nq, dim, k, m, sgot, threads), FilterSpec{});
              compare(what, sgot, ref, q, corpus, nq, dim, k, m);
            }
          }
        }
      }
    }
  }
}

TEST_CASE(ties_break_toward_smaller_id) {
  // Every corpus row identical: all scores tie exactly, so ids must come back 0, 1, 2, ...
  const int64_t dim = 17, n = 100, k = 10;
  std::vector<float> corpus(n * dim);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t d = 0; d < dim; ++d) corpus[r * dim + d] = 0.25f * float(d % 5);
  for (int64_t nq : {int64_t(1), int64_t(16), int64_t(300)}) {  // in-place scan, row tile, packed
    std::vector<float> q(nq * dim, 0.5f);
    for (Metric m : kMetrics) {
      for (SimdLevel lvl : kLevels) {
        if (!simd_level_supported(lvl)) continue;
        Out got(nq, k);
        topk_rowmajor_at(lvl, params(q, nq, dim, k, m, got, 2), corpus.data(), n);
        for (int64_t i = 0; i < nq; ++i)
          for (int64_t j = 0; j < k; ++j)
            CHECK(got.ids[i * k + j] == j, "%s/%s nq=%lld q%lld slot %lld id %lld", simd_level_name(lvl),
                  metric_name(m), (long long)nq, (long long)i, (long long)j, (long long)got.ids[i * k + j]);
      }
    }
  }
}

TEST_CASE(filters_and_exclusions) {
  std::mt19937 rng(7);
  const int64_t dim = 33, n = 517, nq = 5, k = 20;
  auto corpus = random_matrix(n, dim, rng);
  auto q = random_matrix(nq, dim, rng);
  std::vector<int64_t> allow, deny, ex_off = {0}, ex_ids;
  for (int64_t r = 0; r < n; r += 3) allow.push_back(r);
  for (int64_t r = 0; r < n; r += 7) deny.push_back(r);
  for (int64_t i = 0; i < nq; ++i) {
    for (int64_t r = i; r < n; r += 11) ex_ids.push_back(r);
    ex_off.push_back(static_cast<int64_t>(ex_ids.size()));
  }
  FilterSpec spec;
  spec.has_allow = true;
  spec.allow = allow.data();
  spec.n_allow = static_cast<int64_t>(allow.size());
  spec.deny = deny.data();
  spec.n_deny = static_cast<int64_t>(deny.size());
  spec.exclude_offsets = ex_off.data();
  spec.exclude_ids = ex_ids.data();
  auto ident = [n](int64_t id) -> int64_t { return id >= 0 && id < n ? id : -1; };
  OwnedFilter f = build_filter(spec, n, nq, ident);
  std::vector<int64_t> ids(n);
  for (int64_t r = 0; r < n; ++r) ids[r] = r;
  for (Metric m : kMetrics) {
    VectorStore store(dim, m);
    store.add(ids.data(), corpus.data(), n);
    Out ref(nq, k);
    TopkParams rp = params(q, nq, dim, k, m, ref, 1);
    rp.filter = f.view();
    topk_reference(rp, corpus.data(), n, nullptr);
    for (int64_t i = 0; i < nq; ++i)
      for (int64_t j = 0; j < ref.counts[i]; ++j) {
        int64_t id = ref.ids[i * k + j];
        CHECK(id % 3 == 0 && id % 7 != 0 && (id - i) % 11 != 0, "reference admitted id %lld", (long long)id);
      }
    for (SimdLevel lvl : kLevels) {
      if (!simd_level_supported(lvl)) continue;
      Out got(nq, k);
      TopkParams gp = params(q, nq, dim, k, m, got, 2);
      gp.filter = f.view();
      topk_rowmajor_at(lvl, gp, corpus.data(), n);  // 5 queries: the row tile
      compare("filtered", got, ref, q, corpus, nq, dim, k, m);
      Out one(1, k);  // the first query alone: the in-place row scan
      TopkParams op = params(q, 1, dim, k, m, one, 2);
      op.filter = f.view();
      topk_rowmajor_at(lvl, op, corpus.data(), n);
      compare("filtered scan", one, ref, q, corpus, 1, dim, k, m);
      Out sgot(nq, k);  // the panel path, filters given in id space (ids = rows)
      store.search_at(lvl, params(q, nq, dim, k, m, sgot, 2), spec);
      compare("filtered store", sgot, ref, q, corpus, nq, dim, k, m);
    }
  }
  // An allow list that admits nothing: every row is padding.
  FilterSpec none;
  none.has_allow = true;
  OwnedFilter nf = build_filter(none, n, nq, ident);
  Out got(nq, k);
  TopkParams gp = params(q, nq, dim, k, Metric::InnerProduct, got, 2);
  gp.filter = nf.view();
  topk_rowmajor(gp, corpus.data(), n);
  for (int64_t i = 0; i < nq; ++i) {
    CHECK(got.counts[i] == 0, "count %d", got.counts[i]);
    CHECK(got.ids[i * k] == -1 && std::isnan(got.scores[i * k]), "padding");
  }
}

TEST_CASE(store_search_matches_reference) {
  std::mt19937 rng(3);
  const int64_t dims[] = {1, 7, 16, 17, 129};
  for (int64_t dim : dims) {
    for (Metric m : kMetrics) {
      const int64_t n = 203, nq = 14, k = 9;
      auto corpus = random_matrix(n, dim, rng);
      auto q = random_matrix(nq, dim, rng);
      // ids are sparse and shuffled: id = 1000 + 7 * perm[r]
      std::vector<int64_t> perm(n);
      for (int64_t r = 0; r < n; ++r) perm[r] = r;
      std::shuffle(perm.begin(), perm.end(), rng);
      std::vector<int64_t> ids(n), row_of_id(1000 + 7 * n, -1);
      for (int64_t r = 0; r < n; ++r) {
        ids[r] = 1000 + 7 * perm[r];
        row_of_id[ids[r]] = r;
      }
      VectorStore store(dim, m);
      store.add(ids.data(), corpus.data(), n);
      CHECK(store.size() == n, "size");
      Out ref(nq, k);
      topk_reference(params(q, nq, dim, k, m, ref, 1), corpus.data(), n, ids.data());
      for (SimdLevel lvl : kLevels) {
        if (!simd_level_supported(lvl)) continue;
        Out got(nq, k);
        store.search_at(lvl, params(q, nq, dim, k, m, got, 2), FilterSpec{});
        compare("store", got, ref, q, corpus, nq, dim, k, m, &row_of_id);
      }
    }
  }
}

TEST_CASE(empty_corpus_and_bad_arguments) {
  std::vector<float> q(4, 1.f);
  Out got(1, 3);
  topk_rowmajor(params(q, 1, 4, 3, Metric::L2, got, 1), nullptr, 0);
  CHECK(got.counts[0] == 0, "empty corpus count");
  Out bad(1, 1);
  EXPECT_THROW_CODE(topk_rowmajor(params(q, 1, 4, 0, Metric::L2, bad, 1), q.data(), 1), ErrorCode::InvalidK);
  EXPECT_THROW_CODE(topk_rowmajor(params(q, 1, 0, 1, Metric::L2, bad, 1), q.data(), 1), ErrorCode::DimMismatch);
  EXPECT_THROW_CODE(parse_metric("manhattan"), ErrorCode::UnknownMetric);
}

TEST_CASE(nonfinite_corpus_is_an_error_on_every_path) {
  // Caller-held corpora are checked through the scores: a NaN or Inf anywhere must raise
  // ERR_SIMSAGE_NON_FINITE whichever path runs (row scan Q <= 2, row tile Q 3..256, packed Q > 256).
  std::mt19937 rng(99);
  const int64_t dim = 19, n = 1000;
  for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                    -std::numeric_limits<float>::infinity()}) {
    for (int64_t nq : {int64_t(1), int64_t(2), int64_t(16), int64_t(300)}) {
      for (Metric m : kMetrics) {
        for (SimdLevel lvl : kLevels) {
          if (!simd_level_supported(lvl)) continue;
          auto corpus = random_matrix(n, dim, rng);
          auto q = random_matrix(nq, dim, rng);
          corpus[777 * dim + 5] = bad;
          Out got(nq, 4);
          EXPECT_THROW_CODE(topk_rowmajor_at(lvl, params(q, nq, dim, 4, m, got, 2), corpus.data(), n),
                            ErrorCode::NonFinite);
        }
      }
    }
  }
}

TEST_CASE(store_query_split_matches_reference) {
  // k >= 64 with many queries on a small stored corpus takes the query-split path (search.cpp):
  // same results as the reference, with filters and exclusions, at every level and metric.
  std::mt19937 rng(21);
  const int64_t dim = 33, n = 1500, nq = 300, k = 70;
  auto corpus = random_matrix(n, dim, rng);
  auto q = random_matrix(nq, dim, rng);
  std::vector<int64_t> ids(n);
  for (int64_t r = 0; r < n; ++r) ids[r] = r;
  std::vector<int64_t> deny, ex_off = {0}, ex_ids;
  for (int64_t r = 0; r < n; r += 5) deny.push_back(r);
  for (int64_t i = 0; i < nq; ++i) {
    for (int64_t r = i % 7; r < n; r += 13) ex_ids.push_back(r);
    ex_off.push_back(static_cast<int64_t>(ex_ids.size()));
  }
  FilterSpec spec;
  spec.deny = deny.data();
  spec.n_deny = static_cast<int64_t>(deny.size());
  spec.exclude_offsets = ex_off.data();
  spec.exclude_ids = ex_ids.data();
  OwnedFilter f = build_filter(spec, n, nq, [n](int64_t id) -> int64_t { return id < n ? id : -1; });
  for (Metric m : kMetrics) {
    VectorStore store(dim, m);
    store.add(ids.data(), corpus.data(), n);
    Out ref(nq, k);
    TopkParams rp = params(q, nq, dim, k, m, ref, 1);
    rp.filter = f.view();
    topk_reference(rp, corpus.data(), n, ids.data());
    for (SimdLevel lvl : kLevels) {
      if (!simd_level_supported(lvl)) continue;
      Out got(nq, k);
      store.search_at(lvl, params(q, nq, dim, k, m, got, 2), spec);
      compare("query-split", got, ref, q, corpus, nq, dim, k, m);
    }
  }
}

TEST_MAIN()
