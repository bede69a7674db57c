// VectorStore: replace, remove (swap with last), duplicate ids in one add, all-or-nothing add,
// export order, and search after mutations against the reference on the surviving rows.
#include <cmath>
#include <cstdint>
#include <map>
#include <random>
#include <vector>

#include "check.h"
#include "core/error.h"
#include "similarity/similarity.h"

using namespace simsage;

namespace {
std::vector<float> export_map(const VectorStore& s, std::map<int64_t, std::vector<float>>& out) {
  std::vector<float> v(s.size() * s.dim());
  std::vector<int64_t> ids(s.size());
  s.export_rows(v.data(), ids.data(), s.size());
  out.clear();
  for (size_t r = 0; r < ids.size(); ++r)
    out[ids[r]] = std::vector<float>(v.begin() + r * s.dim(), v.begin() + (r + 1) * s.dim());
  return v;
}
}  // namespace

TEST_CASE(add_replace_remove) {
  const int64_t dim = 5;
  VectorStore s(dim, Metric::InnerProduct);
  std::vector<int64_t> ids = {10, 20, 30, 40};
  std::vector<float> v(4 * dim);
  for (size_t i = 0; i < v.size(); ++i) v[i] = float(i);
  s.add(ids.data(), v.data(), 4);
  CHECK(s.size() == 4 && s.has(30) && !s.has(31), "after add");
  // replace 20, and a repeated id within one call keeps the last vector
  std::vector<int64_t> rid = {20, 50, 50};
  std::vector<float> rv(3 * dim);
  for (int64_t d = 0; d < dim; ++d) {
    rv[d] = -1;
    rv[dim + d] = -2;
    rv[2 * dim + d] = -3;
  }
  s.add(rid.data(), rv.data(), 3);
  CHECK(s.size() == 5, "size after replace %lld", (long long)s.size());
  std::map<int64_t, std::vector<float>> m;
  export_map(s, m);
  CHECK(m[20][0] == -1 && m[50][4] == -3 && m[40][0] == 15, "values after replace");
  std::vector<int64_t> gone = {10, 999, 50};
  CHECK(s.remove(gone.data(), 3) == 2, "removed count");
  CHECK(s.size() == 3 && !s.has(10) && !s.has(50) && s.has(40), "after remove");
  export_map(s, m);
  CHECK(m.size() == 3 && m[30][2] == 12 && m[40][4] == 19, "values survive the swap");
}

TEST_CASE(add_is_all_or_nothing) {
  const int64_t dim = 3;
  VectorStore s(dim, Metric::L2);
  std::vector<int64_t> ids = {1, 2};
  std::vector<float> v = {1, 2, 3, 4, 5, 6};
  s.add(ids.data(), v.data(), 2);
  std::vector<int64_t> ids2 = {3, 1};
  std::vector<float> bad = {1, 1, 1, 0, NAN, 0};
  EXPECT_THROW_CODE(s.add(ids2.data(), bad.data(), 2), ErrorCode::NonFinite);
  std::vector<int64_t> neg = {4, -5};
  EXPECT_THROW_CODE(s.add(neg.data(), v.data(), 2), ErrorCode::InvalidId);
  std::vector<int64_t> huge = {int64_t(1) << 53};
  EXPECT_THROW_CODE(s.add(huge.data(), v.data(), 1), ErrorCode::InvalidId);
  CHECK(s.size() == 2 && !s.has(3) && !s.has(4), "nothing applied");
  std::map<int64_t, std::vector<float>> m;
  export_map(s, m);
  CHECK(m[1][0] == 1 && m[1][2] == 3, "row 1 unchanged");
}

TEST_CASE(cosine_normalises_any_finite_vector) {
  // Subnormal entries or huge ones: the stored row has unit length (a saved index must load:
  // load re-checks that stored values are finite); an exact zero row stays zero.
  const int64_t dim = 4;
  VectorStore s(dim, Metric::Cosine);
  std::vector<int64_t> ids = {1, 2, 3, 4};
  std::vector<float> v = {1e-39f, 0, 0, 0, 1e-44f, 1e-44f, 0, 0, 3e38f, 3e38f, 3e38f, 3e38f, 0, 0, 0, 0};
  s.add(ids.data(), v.data(), 4);
  std::map<int64_t, std::vector<float>> m;
  export_map(s, m);
  for (int64_t id : {1, 2, 3}) {
    double n2 = 0;
    for (float x : m[id]) {
      CHECK(std::isfinite(x), "id %lld holds a non-finite value", (long long)id);
      n2 += double(x) * x;
    }
    CHECK(std::fabs(n2 - 1) < 1e-6, "id %lld stored with |x|^2 = %g", (long long)id, n2);
  }
  CHECK(m[4] == std::vector<float>(dim, 0.f), "zero row stays zero");
  VectorStore back(dim, Metric::Cosine);  // what load does with the exported rows
  std::vector<float> rows(4 * dim);
  std::vector<int64_t> out_ids(4);
  s.export_rows(rows.data(), out_ids.data(), 4);
  back.add(out_ids.data(), rows.data(), 4, true);
  CHECK(back.size() == 4, "exported rows load back");
}

TEST_CASE(ip_l2_reject_norms_at_or_above_2_62) {
  const int64_t dim = 2;
  for (Metric m : {Metric::InnerProduct, Metric::L2}) {
    VectorStore s(dim, m);
    std::vector<int64_t> ids = {1, 2};
    std::vector<float> v = {1, 2, 3e19f, 0};
    EXPECT_THROW_CODE(s.add(ids.data(), v.data(), 2), ErrorCode::NonFinite);
    CHECK(s.size() == 0, "all or nothing");
    v[2] = 4e18f;  // |x| < 2^62 ~ 4.61e18
    s.add(ids.data(), v.data(), 2);
    CHECK(s.size() == 2, "below the bound is accepted");
  }
}

TEST_CASE(search_after_many_mutations) {
  std::mt19937 rng(11);
  std::normal_distribution<float> nd;
  const int64_t dim = 19, k = 7;
  for (Metric metric : {Metric::InnerProduct, Metric::Cosine, Metric::L2}) {
    VectorStore s(dim, metric);
    std::map<int64_t, std::vector<float>> truth;
    for (int round = 0; round < 30; ++round) {
      std::vector<int64_t> ids;
      std::vector<float> v;
      for (int i = 0; i < 40; ++i) {
        int64_t id = rng() % 300;
        ids.push_back(id);
        std::vector<float> row(dim);
        for (auto& x : row) x = nd(rng);
        v.insert(v.end(), row.begin(), row.end());
        truth[id] = row;  // last wins, like the store
      }
      s.add(ids.data(), v.data(), static_cast<int64_t>(ids.size()));
      std::vector<int64_t> rm;
      for (int i = 0; i < 15; ++i) {
        int64_t id = rng() % 300;
        rm.push_back(id);
        truth.erase(id);
      }
      s.remove(rm.data(), static_cast<int64_t>(rm.size()));
    }
    CHECK(s.size() == static_cast<int64_t>(truth.size()), "size %lld vs %zu", (long long)s.size(), truth.size());
    std::vector<float> corpus;
    std::vector<int64_t> ids;
    for (auto& [id, row] : truth) {
      ids.push_back(id);
      corpus.insert(corpus.end(), row.begin(), row.end());
    }
    std::vector<float> q(3 * dim);
    for (auto& x : q) x = nd(rng);
    std::vector<int64_t> gi(3 * k), ri(3 * k);
    std::vector<float> gs(3 * k), rs(3 * k);
    std::vector<int32_t> gc(3), rc(3);
    TopkParams p;
    p.queries = q.data();
    p.nq = 3;
    p.dim = dim;
    p.k = k;
    p.metric = metric;
    p.out_ids = ri.data();
    p.out_scores = rs.data();
    p.out_counts = rc.data();
    topk_reference(p, corpus.data(), static_cast<int64_t>(ids.size()), ids.data());
    p.out_ids = gi.data();
    p.out_scores = gs.data();
    p.out_counts = gc.data();
    s.search(p, FilterSpec{});
    for (int64_t j = 0; j < 3 * k; ++j) {
      CHECK(std::fabs(gs[j] - rs[j]) <= 1e-4f * (1 + std::fabs(rs[j])), "%s slot %lld: %g vs %g", metric_name(metric),
            (long long)j, gs[j], rs[j]);
    }
  }
}

TEST_MAIN()
