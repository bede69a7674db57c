// The text family: the featuriser against its one-string-at-a-time reference (ASCII, Unicode,
// surrogates, separators; thread counts), token counts and fixed hash values, the hash bag's
// forward and backward at every SIMD level against the double reference at awkward dimensions,
// central-difference gradient checks of the reference (table, importance weights, gamma, beta),
// the sparse optimizers against dense formulas (untouched rows unchanged), and bad arguments.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "check.h"
#include "core/error.h"
#include "fixtures.h"
#include "text/cpu/bag_kernels.h"
#include "text/text.h"

using namespace simsage;
using simsage_test::kLevels;
using simsage_test::randv;
using simsage_test::rng;
using simsage_test::Vec;

namespace {

const int64_t kDims[] = {1, 3, 17, 33, 129};

// n values from N(mean, scale^2).
Vec randv_around(size_t n, float mean, float scale) {
  Vec v = randv(n, scale);
  for (auto& x : v) x += mean;
  return v;
}

// UTF-16 strings and their CSR offsets.
struct Batch {
  std::vector<uint16_t> units;
  std::vector<int64_t> offsets{0};
  void add(const std::u16string& s) {
    units.insert(units.end(), s.begin(), s.end());
    offsets.push_back(static_cast<int64_t>(units.size()));
  }
  TextFeaturizeParams params(uint64_t seed = 5) const {
    TextFeaturizeParams p;
    p.count = static_cast<int64_t>(offsets.size()) - 1;
    p.units = units.data();
    p.offsets = offsets.data();
    p.seed = seed;
    return p;
  }
};

std::u16string random_text(size_t len) {
  static const char16_t kPool[] = u"abcxyz0189 _-.,#\u00e9\u00df\u4e2d\u6587\u0915\u093f";
  std::uniform_int_distribution<size_t> pick(0, sizeof(kPool) / sizeof(kPool[0]) - 2);
  std::u16string s;
  for (size_t i = 0; i < len; ++i) {
    if (rng()() % 17 == 0) {
      s += u"\U0001F600";  // a surrogate pair
    } else if (rng()() % 41 == 0) {
      s += char16_t(0xD800);  // a lone high surrogate
    } else {
      s += kPool[pick(rng())];
    }
  }
  return s;
}

uint64_t hash_of(int kind, const std::u32string& s) {
  std::vector<uint32_t> c(s.begin(), s.end());
  return text_token_hash(5, kind, c.data(), static_cast<int64_t>(c.size()));
}

}  // namespace

TEST_CASE(featurize_tokens_of_known_strings) {
  Batch b;
  b.add(u"abc de");
  b.add(u"");
  b.add(u"  ,x!");
  TextFeatures f;
  text_featurize(b.params(), &f);
  CHECK(f.offsets == std::vector<int32_t>({0, 8, 8, 10}), "offsets %d %d %d", f.offsets[1], f.offsets[2], f.offsets[3]);
  // "abc de": trigrams and word of abc, of de, the bigram; "": nothing; "  ,x!": "#x#" and x.
  const uint64_t want[] = {hash_of(0, U"#ab"), hash_of(0, U"abc"), hash_of(0, U"bc#"), hash_of(1, U"abc"),
                           hash_of(0, U"#de"), hash_of(0, U"de#"), hash_of(1, U"de"),  hash_of(2, U"abc de"),
                           hash_of(0, U"#x#"), hash_of(1, U"x")};
  const uint8_t kinds[] = {0, 0, 0, 1, 0, 0, 1, 2, 0, 1};
  for (size_t i = 0; i < 10 && i < f.hashes.size(); ++i) {
    CHECK(f.hashes[i] == want[i], "token %zu hash", i);
    CHECK(f.kinds[i] == kinds[i], "token %zu kind %d", i, f.kinds[i]);
  }
  // Kinds are part of the hash; the seed changes every hash; lanes are stable (fixed values).
  CHECK(hash_of(0, U"abc") != hash_of(1, U"abc"), "kind not hashed");
  const uint32_t abc[] = {'a', 'b', 'c'};
  CHECK(text_token_hash(5, 1, abc, 3) != text_token_hash(6, 1, abc, 3), "seed not hashed");
  CHECK(text_token_hash(0, 1, abc, 3) == 0xFC4CEFE79EA8A211ull, "hash(0, word, abc) = %016llx",
        static_cast<unsigned long long>(text_token_hash(0, 1, abc, 3)));
  const uint32_t zh[] = {0x4e2d, 0x6587, 0x1F600};
  CHECK(text_token_hash(7, 1, zh, 3) == 0xAF80705328B63691ull, "hash(7, word, zh) = %016llx",
        static_cast<unsigned long long>(text_token_hash(7, 1, zh, 3)));
}

TEST_CASE(featurize_matches_reference_any_threads) {
  Batch b;
  for (int i = 0; i < 700; ++i) b.add(random_text(rng()() % 40));
  for (bool tri : {true, false})
    for (bool bi : {true, false}) {
      TextFeaturizeParams p = b.params(0x123456789ull);
      p.trigrams = tri;
      p.bigrams = bi;
      TextFeatures ref, f1, f4;
      text_featurize_reference(p, &ref);
      p.threads = 1;
      text_featurize(p, &f1);
      p.threads = 4;
      text_featurize(p, &f4);
      CHECK(f1.offsets == ref.offsets && f1.hashes == ref.hashes && f1.kinds == ref.kinds, "1 thread != reference");
      CHECK(f4.offsets == ref.offsets && f4.hashes == ref.hashes && f4.kinds == ref.kinds, "4 threads != reference");
    }
}

namespace {

// A bag with random parameters over a random featurised batch (some segments empty).
struct Bag {
  int64_t R, D, Q, B;
  TextFeatures f;
  Vec table, importance, gamma, beta;
  Bag(int64_t rows, int64_t dim, int64_t q, int64_t segments) : R(rows), D(dim), Q(q), B(segments) {
    Batch b;
    for (int64_t i = 0; i < B; ++i) b.add(i % 5 == 3 ? u"" : random_text(rng()() % 24));
    text_featurize(b.params(), &f);
    table = randv(static_cast<size_t>(R * D), 0.5f);
    importance = randv_around(static_cast<size_t>(Q * 2), 1.f, 0.3f);
    gamma = randv_around(static_cast<size_t>(D), 1.f, 0.2f);
    beta = randv(static_cast<size_t>(D), 0.2f);
  }
  HashBagParams params(Vec* pooled, Vec* mean, Vec* rstd, Vec* y) {
    pooled->assign(static_cast<size_t>(B * D), 0.f);
    mean->assign(static_cast<size_t>(B), 0.f);
    rstd->assign(static_cast<size_t>(B), 0.f);
    y->assign(static_cast<size_t>(B * D), 0.f);
    HashBagParams p;
    p.segments = B;
    p.tokens = static_cast<int64_t>(f.hashes.size());
    p.offsets = f.offsets.data();
    p.hashes = f.hashes.data();
    p.rows = R;
    p.dim = D;
    p.importance_rows = Q;
    p.table = table.data();
    p.importance = importance.data();
    p.gamma = gamma.data();
    p.beta = beta.data();
    p.pooled = pooled->data();
    p.mean = mean->data();
    p.rstd = rstd->data();
    p.y = y->data();
    return p;
  }
};

float max_abs_diff(const Vec& a, const Vec& b) {
  float m = a.size() == b.size() ? 0.f : INFINITY;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) m = std::fmax(m, std::fabs(a[i] - b[i]));
  return m;
}

}  // namespace

TEST_CASE(row_kernels_every_level_match_scalar) {
  const text::cpu::BagKernels& ref = text::cpu::bag_kernels_for(SimdLevel::Scalar);
  for (int64_t n : {int64_t(1), int64_t(3), int64_t(7), int64_t(15), int64_t(17), int64_t(31), int64_t(33),
                    int64_t(127), int64_t(129)}) {
    const Vec x0 = randv(size_t(n)), x1 = randv(size_t(n)), y0 = randv(size_t(n));
    Vec ya = y0, yb = y0;
    ref.axpy(n, 0.7f, x0.data(), ya.data());
    ref.axpy2(n, 0.7f, x0.data(), -1.3f, x1.data(), yb.data());
    const float d = ref.dot(n, x0.data(), x1.data());
    for (SimdLevel level : kLevels) {
      const text::cpu::BagKernels& k = text::cpu::bag_kernels_for(level);
      Vec za = y0, zb = y0;
      k.axpy(n, 0.7f, x0.data(), za.data());
      k.axpy2(n, 0.7f, x0.data(), -1.3f, x1.data(), zb.data());
      const float tol = 1e-5f * std::sqrt(float(n));
      CHECK(max_abs_diff(za, ya) < tol, "axpy n=%lld level %d", (long long)n, int(level));
      CHECK(max_abs_diff(zb, yb) < tol, "axpy2 n=%lld level %d", (long long)n, int(level));
      CHECK(std::fabs(k.dot(n, x0.data(), x1.data()) - d) < 1e-4f * std::sqrt(float(n)) * 4.f, "dot n=%lld level %d",
            (long long)n, int(level));
    }
  }
}

TEST_CASE(bag_forward_every_level_matches_reference) {
  for (int64_t D : kDims) {
    Bag bag(97, D, 31, 150);
    Vec ps, ms, rs, yr;
    HashBagParams ref = bag.params(&ps, &ms, &rs, &yr);
    hash_bag_forward_reference(ref);
    for (SimdLevel level : kLevels)
      for (int threads : {1, 3}) {
        Vec p2, m2, r2, y2;
        HashBagParams p = bag.params(&p2, &m2, &r2, &y2);
        p.threads = threads;
        hash_bag_forward_at(level, p);
        const float tol = 2e-4f * std::sqrt(static_cast<float>(D)) * 10.f;
        CHECK(max_abs_diff(p2, ps) < tol, "D=%lld level %d pooled %g", (long long)D, int(level), max_abs_diff(p2, ps));
        CHECK(max_abs_diff(y2, yr) < tol * 10.f, "D=%lld level %d y %g", (long long)D, int(level),
              max_abs_diff(y2, yr));
      }
  }
}

TEST_CASE(bag_backward_every_level_matches_reference) {
  for (int64_t D : kDims) {
    Bag bag(61, D, 23, 90);
    Vec ps, ms, rs, yr;
    HashBagParams f = bag.params(&ps, &ms, &rs, &yr);
    hash_bag_forward_reference(f);
    const Vec dy = randv(static_cast<size_t>(bag.B * D));
    HashBagBackwardParams ref;
    ref.fwd = f;
    ref.dy = dy.data();
    SparseRows tr, ir;
    Vec dg(static_cast<size_t>(D)), db(static_cast<size_t>(D));
    ref.table_grad = &tr;
    ref.importance_grad = &ir;
    ref.dgamma = dg.data();
    ref.dbeta = db.data();
    hash_bag_backward_reference(ref);
    for (SimdLevel level : kLevels)
      for (int threads : {1, 4}) {
        HashBagBackwardParams p = ref;
        SparseRows t2, i2;
        Vec dg2(static_cast<size_t>(D)), db2(static_cast<size_t>(D));
        p.table_grad = &t2;
        p.importance_grad = &i2;
        p.dgamma = dg2.data();
        p.dbeta = db2.data();
        p.threads = threads;
        hash_bag_backward_at(level, p);
        const float tol = 1e-3f * std::sqrt(static_cast<float>(D)) * 10.f;
        CHECK(t2.rows == tr.rows, "D=%lld table rows differ", (long long)D);
        CHECK(i2.rows == ir.rows, "D=%lld importance rows differ", (long long)D);
        CHECK(max_abs_diff(t2.values, tr.values) < tol, "D=%lld table grad %g", (long long)D,
              max_abs_diff(t2.values, tr.values));
        CHECK(max_abs_diff(i2.values, ir.values) < tol * 4.f, "D=%lld importance grad %g", (long long)D,
              max_abs_diff(i2.values, ir.values));
        CHECK(max_abs_diff(dg2, dg) < tol && max_abs_diff(db2, db) < tol, "D=%lld dgamma/dbeta", (long long)D);
      }
  }
}

namespace {
// L = sum(y * w) through the reference forward.
double loss(Bag& bag, const Vec& w) {
  Vec ps, ms, rs, y;
  HashBagParams p = bag.params(&ps, &ms, &rs, &y);
  hash_bag_forward_reference(p);
  double s = 0;
  for (size_t i = 0; i < y.size(); ++i) s += double(y[i]) * w[i];
  return s;
}

// Central difference of loss in *x vs the analytic value.
void check_fd(Bag& bag, const Vec& w, float* x, double analytic, const char* what, int64_t D) {
  const float h = 1e-2f, keep = *x;
  *x = keep + h;
  const double lp = loss(bag, w);
  *x = keep - h;
  const double lm = loss(bag, w);
  *x = keep;
  const double fd = (lp - lm) / (2.0 * h);
  CHECK(std::fabs(fd - analytic) < 2e-2 * (1.0 + std::fabs(fd)), "D=%lld %s: fd %g analytic %g", (long long)D, what, fd,
        analytic);
}
}  // namespace

TEST_CASE(bag_results_do_not_depend_on_thread_count) {
  Bag bag(500, 33, 97, 700);
  Vec p1, m1, r1, y1, p4, m4, r4, y4;
  HashBagParams f1 = bag.params(&p1, &m1, &r1, &y1), f4 = bag.params(&p4, &m4, &r4, &y4);
  f1.threads = 1;
  f4.threads = 4;
  hash_bag_forward(f1);
  hash_bag_forward(f4);
  CHECK(y1 == y4 && p1 == p4, "forward differs between 1 and 4 threads");
  const Vec dy = randv(static_cast<size_t>(bag.B * 33));
  SparseRows t1, i1, t4, i4;
  Vec g1(33), b1(33), g4(33), b4(33);
  HashBagBackwardParams q1{f1, dy.data(), &t1, &i1, g1.data(), b1.data(), 1};
  HashBagBackwardParams q4{f4, dy.data(), &t4, &i4, g4.data(), b4.data(), 4};
  hash_bag_backward(q1);
  hash_bag_backward(q4);
  CHECK(t1.rows == t4.rows && t1.values == t4.values, "table grad differs between 1 and 4 threads");
  CHECK(i1.rows == i4.rows && i1.values == i4.values, "importance grad differs between 1 and 4 threads");
  CHECK(g1 == g4 && b1 == b4, "dgamma / dbeta differ between 1 and 4 threads");
}

TEST_CASE(bag_backward_central_differences) {
  for (int64_t D : {int64_t(1), int64_t(3), int64_t(17)}) {
    Bag bag(13, D, 7, 12);
    const Vec w = randv(static_cast<size_t>(bag.B * D));
    Vec ps, ms, rs, y;
    HashBagBackwardParams p;
    p.fwd = bag.params(&ps, &ms, &rs, &y);
    hash_bag_forward_reference(p.fwd);
    p.dy = w.data();
    SparseRows tg, ig;
    Vec dg(static_cast<size_t>(D)), db(static_cast<size_t>(D));
    p.table_grad = &tg;
    p.importance_grad = &ig;
    p.dgamma = dg.data();
    p.dbeta = db.data();
    hash_bag_backward_reference(p);
    for (size_t u = 0; u < tg.rows.size(); u += 3)
      for (int64_t i = 0; i < D; i += 5)
        check_fd(bag, w, &bag.table[tg.rows[u] * D + i], tg.values[u * D + i], "table", D);
    for (size_t u = 0; u < ig.rows.size(); ++u)
      for (int k = 0; k < 2; ++k)
        check_fd(bag, w, &bag.importance[ig.rows[u] * 2 + k], ig.values[u * 2 + k], "importance", D);
    for (int64_t i = 0; i < D; i += 4) {
      check_fd(bag, w, &bag.gamma[i], dg[i], "gamma", D);
      check_fd(bag, w, &bag.beta[i], db[i], "beta", D);
    }
  }
}

TEST_CASE(sparse_optimizers_update_only_listed_rows) {
  const int64_t R = 9, D = 17;
  const std::vector<int32_t> rows = {1, 4, 8};
  const Vec grad = randv(rows.size() * D);
  for (bool adam : {false, true}) {
    Vec table = randv(R * D), s1(R * D, 0.f), s2(R * D, 0.f);
    for (auto& x : s1) x = adam ? 0.01f : 0.5f;
    const Vec t0 = table, s10 = s1;
    SparseOptimParams p;
    p.table_rows = R;
    p.dim = D;
    p.table = table.data();
    p.count = 3;
    p.rows = rows.data();
    p.grad = grad.data();
    p.state1 = s1.data();
    p.state2 = adam ? s2.data() : nullptr;
    p.lr = 0.1f;
    p.eps = 1e-6f;
    p.step = 3;
    adam ? sparse_adam_step(p) : sparse_adagrad_step(p);
    for (int64_t r = 0; r < R; ++r) {
      int64_t u = -1;
      for (size_t k = 0; k < rows.size(); ++k)
        if (rows[k] == r) u = int64_t(k);
      for (int64_t i = 0; i < D; ++i) {
        const size_t at = size_t(r * D + i);
        if (u < 0) {
          CHECK(table[at] == t0[at] && s1[at] == s10[at], "row %lld changed", (long long)r);
          continue;
        }
        const double g = grad[size_t(u * D + i)];
        double want;
        if (adam) {
          const double m = 0.9 * 0.01 + 0.1 * g, v = 0.001 * g * g;
          want = t0[at] - 0.1 * (m / (1 - std::pow(0.9, 3))) / (std::sqrt(v / (1 - std::pow(0.999, 3))) + 1e-6);
        } else {
          want = t0[at] - 0.1 * g / (std::sqrt(0.5 + g * g) + 1e-6);
        }
        CHECK(std::fabs(table[at] - want) < 1e-5, "%s row %lld: %g vs %g", adam ? "adam" : "adagrad", (long long)r,
              table[at], want);
      }
    }
  }
}

TEST_CASE(bad_arguments) {
  Bag bag(11, 3, 5, 4);
  Vec ps, ms, rs, y;
  HashBagParams p = bag.params(&ps, &ms, &rs, &y);
  HashBagParams q = p;
  q.dim = 0;
  EXPECT_THROW_CODE(hash_bag_forward(q), ErrorCode::DimMismatch);
  q = p;
  q.tokens += 1;
  EXPECT_THROW_CODE(hash_bag_forward(q), ErrorCode::DimMismatch);
  q = p;
  q.table = nullptr;
  EXPECT_THROW_CODE(hash_bag_forward(q), ErrorCode::InvalidArgument);
  bag.importance[3] = NAN;
  EXPECT_THROW_CODE(hash_bag_forward(p), ErrorCode::NonFinite);
  std::vector<int32_t> bad_off = {0, 3, 2, 4, 4};
  q = p;
  q.offsets = bad_off.data();
  EXPECT_THROW_CODE(hash_bag_forward(q), ErrorCode::InvalidArgument);
  Vec table(20, 0.f), s1(20, 0.f), g(8, 0.f);
  const std::vector<int32_t> unsorted = {3, 1}, outside = {1, 5};
  SparseOptimParams o;
  o.table_rows = 5;
  o.dim = 4;
  o.table = table.data();
  o.state1 = s1.data();
  o.count = 2;
  o.rows = unsorted.data();
  o.grad = g.data();
  EXPECT_THROW_CODE(sparse_adagrad_step(o), ErrorCode::InvalidArgument);
  o.rows = outside.data();
  EXPECT_THROW_CODE(sparse_adagrad_step(o), ErrorCode::InvalidArgument);
  EXPECT_THROW_CODE(sparse_adam_step(o), ErrorCode::InvalidArgument);  // no v
  std::vector<int64_t> off = {0, 2, 1};
  std::vector<uint16_t> units = {'a', 'b'};
  TextFeaturizeParams fp;
  fp.count = 2;
  fp.units = units.data();
  fp.offsets = off.data();
  TextFeatures out;
  EXPECT_THROW_CODE(text_featurize(fp, &out), ErrorCode::InvalidArgument);
}

TEST_MAIN()
