// Mining family: every SIMD level against the scalar reference at awkward sizes, miners against
// brute-force definitions, loss gradients against central differences (double), distance-weighted
// sampling frequencies against its weights, and bad-input error codes.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <vector>

#include "core/cpu_features.h"
#include "core/error.h"
#include "core/random.h"
#include "fixtures.h"
#include "mining/mining.h"

using namespace simsage;
using namespace simsage_test;

namespace {

const DistanceMetric kMetrics[] = {DistanceMetric::SqEuclidean, DistanceMetric::Euclidean, DistanceMetric::Cosine,
                                   DistanceMetric::Dot};

std::vector<float> normal(int64_t n, uint64_t seed) {
  SplitMix64 r(seed);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) {
    double u1 = 1.0 - r.uniform(), u2 = r.uniform();
    x = static_cast<float>(std::sqrt(-2 * std::log(u1)) * std::cos(6.283185307179586 * u2));
  }
  return v;
}

// Small integers: many exact ties in distances.
std::vector<float> small_ints(int64_t n, uint64_t seed) {
  SplitMix64 r(seed);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = static_cast<float>(static_cast<int>(r.next() % 5) - 2);
  return v;
}

std::vector<int32_t> labels_for(int64_t b, int classes, uint64_t seed) {
  SplitMix64 r(seed);
  std::vector<int32_t> l(static_cast<size_t>(b));
  for (int64_t i = 0; i < b; ++i) l[i] = static_cast<int32_t>(i < classes ? i : r.next() % classes);
  return l;
}

std::vector<float> distances(const std::vector<float>& e, int64_t b, int64_t dim, DistanceMetric m, SimdLevel lv) {
  std::vector<float> d(static_cast<size_t>(b * b));
  PairwiseParams p;
  p.embeddings = e.data(), p.b = b, p.dim = dim, p.metric = m, p.out = d.data();
  pairwise_distances_at(lv, p);
  return d;
}

}  // namespace

TEST_CASE(pairwise_levels_match_reference) {
  const int64_t dims[] = {1, 3, 7, 16, 17, 33, 129};
  for (int64_t b = 1; b <= 33; b += (b < 5 ? 1 : 4)) {
    for (int64_t dim : dims) {
      std::vector<float> e = normal(b * dim, 100 + b * 7 + dim);
      if (b > 2) std::fill(e.begin() + dim, e.begin() + 2 * dim, 0.f);  // a zero row (cosine: distance 1)
      for (DistanceMetric m : kMetrics) {
        std::vector<float> ref(static_cast<size_t>(b * b));
        PairwiseParams rp;
        rp.embeddings = e.data(), rp.b = b, rp.dim = dim, rp.metric = m, rp.out = ref.data();
        pairwise_distances_reference(rp);
        for (SimdLevel lv : kLevels) {
          std::vector<float> got = distances(e, b, dim, m, lv);
          int bad = 0;
          for (int64_t i = 0; i < b; ++i) {
            double ni = 0, nj;
            for (int64_t d = 0; d < dim; ++d) ni += double(e[i * dim + d]) * e[i * dim + d];
            for (int64_t j = 0; j < b; ++j) {
              nj = 0;
              for (int64_t d = 0; d < dim; ++d) nj += double(e[j * dim + d]) * e[j * dim + d];
              const double scale = 1e-6 * (1 + std::sqrt(double(dim)));
              double tol = scale * (ni + nj) + 1e-6;
              if (m == DistanceMetric::Euclidean) tol = std::sqrt(tol);
              if (m == DistanceMetric::Cosine) tol = 10 * scale;
              const double r = ref[i * b + j], g = got[i * b + j];
              if (!(std::fabs(r - g) <= tol) && bad++ < 3)
                CHECK(false, "%s level %d b=%lld dim=%lld (%lld,%lld): got %g want %g", distance_metric_name(m),
                      int(lv), (long long)b, (long long)dim, (long long)i, (long long)j, g, r);
            }
          }
          CHECK(bad == 0, "%s level %d b=%lld dim=%lld: %d mismatches", distance_metric_name(m), int(lv), (long long)b,
                (long long)dim, bad);
          if (m == DistanceMetric::SqEuclidean || m == DistanceMetric::Euclidean)
            for (int64_t i = 0; i < b; ++i) CHECK(got[i * b + i] == 0.f, "diagonal not 0");
        }
      }
    }
  }
}

TEST_CASE(pairwise_thread_count_does_not_change_results) {
  const int64_t b = 70, dim = 33;
  std::vector<float> e = normal(b * dim, 5);
  std::vector<float> d1(b * b), d2(b * b);
  PairwiseParams p;
  p.embeddings = e.data(), p.b = b, p.dim = dim, p.out = d1.data(), p.threads = 1;
  pairwise_distances(p);
  p.out = d2.data(), p.threads = 2;
  pairwise_distances(p);
  CHECK(d1 == d2, "threads 1 vs 2 differ");
}

// ---- miners vs brute force ---------------------------------------------------------------------

namespace {

std::vector<int32_t> brute_filtered(const std::vector<float>& D, const std::vector<int32_t>& lab, int64_t b,
                                    TripletFilter f, float m) {
  std::vector<int32_t> out;
  for (int64_t a = 0; a < b; ++a)
    for (int64_t q = 0; q < b; ++q) {
      if (q == a || lab[q] != lab[a]) continue;
      for (int64_t n = 0; n < b; ++n) {
        if (lab[n] == lab[a]) continue;
        const float dp = D[a * b + q], dn = D[a * b + n];
        bool keep = true;
        switch (f) {
          case TripletFilter::Any:
            keep = true;
            break;
          case TripletFilter::All:
            keep = dn < dp + m;
            break;
          case TripletFilter::Hard:
            keep = dn < dp;
            break;
          case TripletFilter::SemiHard:
            keep = dp <= dn && dn < dp + m;
            break;
          case TripletFilter::Easy:
            keep = dn >= dp + m;
            break;
        }
        if (keep) out.insert(out.end(), {int32_t(a), int32_t(q), int32_t(n)});
      }
    }
  return out;
}

std::vector<int32_t> brute_hard(const std::vector<float>& D, const std::vector<int32_t>& lab, int64_t b) {
  std::vector<int32_t> out;
  for (int64_t a = 0; a < b; ++a) {
    int64_t bp = -1, bn = -1;
    for (int64_t j = 0; j < b; ++j) {
      if (lab[j] == lab[a] && j != a && (bp < 0 || D[a * b + j] > D[a * b + bp])) bp = j;
      if (lab[j] != lab[a] && (bn < 0 || D[a * b + j] < D[a * b + bn])) bn = j;
    }
    if (bp >= 0 && bn >= 0) out.insert(out.end(), {int32_t(a), int32_t(bp), int32_t(bn)});
  }
  return out;
}

std::vector<int32_t> brute_semi(const std::vector<float>& D, const std::vector<int32_t>& lab, int64_t b) {
  std::vector<int32_t> out;
  for (int64_t a = 0; a < b; ++a)
    for (int64_t q = 0; q < b; ++q) {
      if (q == a || lab[q] != lab[a]) continue;
      int64_t bn = -1;
      for (int64_t n = 0; n < b; ++n)
        if (lab[n] != lab[a] && D[a * b + n] > D[a * b + q] && (bn < 0 || D[a * b + n] < D[a * b + bn])) bn = n;
      if (bn >= 0) out.insert(out.end(), {int32_t(a), int32_t(q), int32_t(bn)});
    }
  return out;
}

void check_miners(int64_t b, int64_t dim, int classes, bool ints, uint64_t seed) {
  std::vector<float> e = ints ? small_ints(b * dim, seed) : normal(b * dim, seed);
  std::vector<int32_t> lab = labels_for(b, classes, seed + 1);
  for (DistanceMetric metric : {DistanceMetric::SqEuclidean, DistanceMetric::Cosine}) {
    std::vector<float> D = distances(e, b, dim, metric, SimdLevel::Scalar);
    for (SimdLevel lv : kLevels) {
      MineParams p;
      p.embeddings = e.data(), p.labels = lab.data(), p.b = b, p.dim = dim, p.metric = metric;
      p.distances = D.data();
      std::vector<int32_t> got;
      mine_batch_hard_at(lv, p, &got);
      CHECK(got == brute_hard(D, lab, b), "batch-hard b=%lld level %d", (long long)b, int(lv));
      mine_semi_hard_at(lv, p, &got);
      CHECK(got == brute_semi(D, lab, b), "semi-hard b=%lld level %d", (long long)b, int(lv));
      for (float m : {0.f, 0.5f, 3.f}) {
        p.margin = m;
        int64_t sum = 0, any = 0;
        for (TripletFilter f : {TripletFilter::Any, TripletFilter::All, TripletFilter::Hard, TripletFilter::SemiHard,
                                TripletFilter::Easy}) {
          int64_t total = mine_filtered_at(lv, p, f, -1, &got);
          std::vector<int32_t> want = brute_filtered(D, lab, b, f, m);
          CHECK(got == want && total * 3 == int64_t(want.size()), "filter %d m=%g b=%lld level %d: %lld vs %zu", int(f),
                m, (long long)b, int(lv), (long long)total, want.size() / 3);
          if (f == TripletFilter::Any) any = total;
          if (f == TripletFilter::Hard || f == TripletFilter::SemiHard || f == TripletFilter::Easy) sum += total;
          if (total > 1) {  // the cap keeps the first triplets and still reports the full count
            std::vector<int32_t> capped;
            int64_t t2 = mine_filtered_at(lv, p, f, total / 2, &capped);
            CHECK(t2 == total && capped.size() == size_t(total / 2) * 3 &&
                      std::equal(capped.begin(), capped.end(), want.begin()),
                  "cap");
          }
        }
        CHECK(sum == any, "easy + semihard + hard != all valid triplets");
      }
    }
    // The miner's own distance computation agrees with the precomputed matrix.
    MineParams p;
    p.embeddings = e.data(), p.labels = lab.data(), p.b = b, p.dim = dim, p.metric = metric;
    std::vector<int32_t> own, given;
    mine_batch_hard_at(SimdLevel::Scalar, p, &own);
    p.distances = D.data();
    mine_batch_hard_at(SimdLevel::Scalar, p, &given);
    CHECK(own == given, "own distances");
  }
}

}  // namespace

TEST_CASE(miners_match_brute_force) {
  for (int64_t b = 2; b <= 33; b += (b < 8 ? 1 : 5))
    for (int64_t dim : {1, 3, 7, 17})
      for (bool ints : {false, true}) check_miners(b, dim, std::min<int>(int(b), 2 + int(b % 4)), ints, 1000 + b * dim);
  // Anchors with many positives take the sorted semi-hard search.
  check_miners(130, 5, 2, true, 77);
  check_miners(120, 16, 2, false, 78);
}

TEST_CASE(miners_thread_count_does_not_change_results) {
  const int64_t b = 97, dim = 16;
  std::vector<float> e = normal(b * dim, 9);
  std::vector<int32_t> lab = labels_for(b, 6, 10);
  MineParams p;
  p.embeddings = e.data(), p.labels = lab.data(), p.b = b, p.dim = dim, p.margin = 1.f;
  std::vector<int32_t> r1, r2;
  for (int which = 0; which < 3; ++which) {
    p.threads = 1;
    if (which == 0) mine_semi_hard(p, &r1);
    if (which == 1) mine_filtered(p, TripletFilter::SemiHard, -1, &r1);
    if (which == 2) mine_distance_weighted(p, DistanceWeightedParams{}, &r1);
    p.threads = 2;
    if (which == 0) mine_semi_hard(p, &r2);
    if (which == 1) mine_filtered(p, TripletFilter::SemiHard, -1, &r2);
    if (which == 2) mine_distance_weighted(p, DistanceWeightedParams{}, &r2);
    CHECK(r1 == r2 && !r1.empty(), "miner %d: threads 1 vs 2 differ", which);
  }
}

// ---- losses --------------------------------------------------------------------------------------

namespace {
double loss_only(const std::vector<double>& e, int64_t b, int64_t dim, const std::vector<int32_t>& t,
                 TripletDistance dist, bool soft, double margin) {
  TripletLossParamsT<double> p;
  p.embeddings = e.data(), p.b = b, p.dim = dim, p.triplets = t.data(), p.n_triplets = int64_t(t.size() / 3);
  p.distance = dist, p.soft_margin = soft, p.margin = margin;
  return triplet_loss(p).loss;
}
}  // namespace

TEST_CASE(loss_gradients_match_central_differences) {
  const int64_t b = 9, dim = 5;
  std::vector<float> ef = normal(b * dim, 3);
  std::vector<double> e(ef.begin(), ef.end());
  std::vector<int32_t> lab = labels_for(b, 3, 4);
  std::vector<int32_t> trip;
  for (int64_t a = 0; a < b; ++a)
    for (int64_t q = 0; q < b; ++q)
      for (int64_t n = 0; n < b; ++n)
        if (q != a && lab[q] == lab[a] && lab[n] != lab[a])
          trip.insert(trip.end(), {int32_t(a), int32_t(q), int32_t(n)});
  trip.insert(trip.end(), {0, 0, 1});  // a == p: Euclidean subgradient 0, no NaN
  for (TripletDistance dist : {TripletDistance::Squared, TripletDistance::Euclidean})
    for (bool soft : {false, true})
      for (double margin : {0.0, 0.5, 2.0}) {
        TripletLossParamsT<double> p;
        std::vector<double> grad(b * dim);
        p.embeddings = e.data(), p.b = b, p.dim = dim, p.triplets = trip.data();
        p.n_triplets = int64_t(trip.size() / 3), p.distance = dist, p.soft_margin = soft, p.margin = margin;
        p.grad = grad.data();
        TripletLossResult r = triplet_loss(p);
        // Direct forward.
        double direct = 0;
        int64_t active = 0;
        for (size_t t = 0; t < trip.size(); t += 3) {
          double dp = 0, dn = 0;
          for (int64_t d = 0; d < dim; ++d) {
            dp += std::pow(e[trip[t] * dim + d] - e[trip[t + 1] * dim + d], 2);
            dn += std::pow(e[trip[t] * dim + d] - e[trip[t + 2] * dim + d], 2);
          }
          if (dist == TripletDistance::Euclidean) dp = std::sqrt(dp), dn = std::sqrt(dn);
          double l = soft ? std::log(1 + std::exp(dp - dn)) : std::max(0.0, margin + dp - dn);
          direct += l;
          active += l > 0;
        }
        direct /= double(trip.size() / 3);
        CHECK(std::fabs(r.loss - direct) < 1e-12 * (1 + direct) && r.active == active, "forward");
        double worst = 0;
        const double h = 1e-6;
        for (int64_t i = 0; i < b * dim; ++i) {
          std::vector<double> ep = e, em = e;
          ep[i] += h, em[i] -= h;
          const double num =
              (loss_only(ep, b, dim, trip, dist, soft, margin) - loss_only(em, b, dim, trip, dist, soft, margin)) /
              (2 * h);
          CHECK(std::isfinite(grad[i]), "non-finite gradient");
          worst = std::max(worst, std::fabs(num - grad[i]) / (1e-6 + std::fabs(num)));
        }
        CHECK(worst < 1e-5, "dist %d soft %d margin %g: worst relative gradient error %g", int(dist), int(soft), margin,
              worst);
        // The float entry point agrees with the double one.
        TripletLossParams pf;
        std::vector<float> gf(b * dim);
        pf.embeddings = ef.data(), pf.b = b, pf.dim = dim, pf.triplets = trip.data();
        pf.n_triplets = p.n_triplets, pf.distance = dist, pf.soft_margin = soft, pf.margin = float(margin);
        pf.grad = gf.data(), pf.threads = 2;
        TripletLossResult rf = triplet_loss(pf);
        CHECK(std::fabs(rf.loss - r.loss) < 1e-5 * (1 + r.loss), "float loss");
        for (int64_t i = 0; i < b * dim; ++i) CHECK(std::fabs(gf[i] - grad[i]) < 1e-5, "float grad %lld", (long long)i);
      }
  TripletLossParams empty;
  std::vector<float> g(b * dim, 1.f);
  empty.embeddings = ef.data(), empty.b = b, empty.dim = dim, empty.grad = g.data();
  TripletLossResult r0 = triplet_loss(empty);
  CHECK(r0.loss == 0 && r0.active == 0 && std::all_of(g.begin(), g.end(), [](float x) { return x == 0.f; }),
        "no triplets: loss 0, zero gradient");
}

// ---- distance-weighted sampling ----------------------------------------------------------------

TEST_CASE(distance_weighted_frequencies_follow_weights) {
  const int64_t b = 12, dim = 4;
  std::vector<float> e = normal(b * dim, 21);
  std::vector<int32_t> lab = labels_for(b, 3, 22);
  // Unit rows and their distances, as the miner computes them.
  std::vector<float> unit(e);
  for (int64_t i = 0; i < b; ++i) {
    double s = 0;
    for (int64_t d = 0; d < dim; ++d) s += double(e[i * dim + d]) * e[i * dim + d];
    for (int64_t d = 0; d < dim; ++d) unit[i * dim + d] = float(e[i * dim + d] / std::sqrt(s));
  }
  std::vector<float> D(b * b);
  PairwiseParams pp;
  pp.embeddings = unit.data(), pp.b = b, pp.dim = dim, pp.metric = DistanceMetric::Euclidean, pp.out = D.data();
  pairwise_distances(pp);
  DistanceWeightedParams dw;
  dw.nonzero_loss_cutoff = 1.9f;  // dim 4: most pairs count
  // Weights from the paper's formula, written out independently.
  std::vector<std::vector<double>> probs(b, std::vector<double>(b));
  for (int64_t a = 0; a < b; ++a) {
    distance_weighted_probs(D.data() + a * b, lab.data(), b, a, dim, dw, probs[a].data());
    std::vector<double> w(b, 0.0);
    double tot = 0;
    for (int64_t j = 0; j < b; ++j) {
      if (lab[j] == lab[a] || D[a * b + j] >= dw.nonzero_loss_cutoff) continue;
      const double d = std::max<double>(D[a * b + j], dw.cutoff);
      w[j] = 1.0 / (std::pow(d, dim - 2) * std::pow(1 - d * d / 4, (dim - 3) / 2.0));
      tot += w[j];
    }
    for (int64_t j = 0; j < b; ++j) CHECK(std::fabs(w[j] / tot - probs[a][j]) < 1e-9, "weights a=%lld", (long long)a);
  }
  MineParams p;
  p.embeddings = e.data(), p.labels = lab.data(), p.b = b, p.dim = dim;
  std::vector<std::vector<int64_t>> counts(b, std::vector<int64_t>(b, 0));
  std::vector<int64_t> draws(b, 0);
  std::vector<int32_t> out, again;
  for (uint64_t seed = 0; seed < 3000; ++seed) {
    dw.seed = seed;
    mine_distance_weighted(p, dw, &out);
    for (size_t t = 0; t < out.size(); t += 3) {
      CHECK(lab[out[t]] == lab[out[t + 1]] && lab[out[t + 2]] != lab[out[t]] && out[t] != out[t + 1], "invalid");
      ++counts[out[t]][out[t + 2]];
      ++draws[out[t]];
    }
    if (seed == 7) {
      mine_distance_weighted(p, dw, &again);
      CHECK(again == out, "same seed, same triplets");
    }
  }
  // Each frequency within 5 binomial standard deviations (+0.002) of its probability.
  for (int64_t a = 0; a < b; ++a)
    for (int64_t j = 0; j < b; ++j) {
      const double pr = probs[a][j], f = double(counts[a][j]) / double(draws[a]);
      const double tol = 5 * std::sqrt(pr * (1 - pr) / double(draws[a])) + 0.002;
      CHECK(std::fabs(f - pr) <= tol, "a=%lld n=%lld: frequency %g, probability %g (%lld draws)", (long long)a,
            (long long)j, f, pr, (long long)draws[a]);
    }
}

// ---- bad input ---------------------------------------------------------------------------------

TEST_CASE(bad_input_errors) {
  std::vector<float> e = normal(6 * 4, 1);
  std::vector<int32_t> lab = {0, 0, 1, 1, 2, 2}, one = {3, 3, 3, 3, 3, 3};
  std::vector<int32_t> out;
  MineParams p;
  p.embeddings = e.data(), p.labels = lab.data(), p.b = 6, p.dim = 4;
  MineParams q = p;
  q.b = 0;
  EXPECT_THROW_CODE(mine_batch_hard(q, &out), ErrorCode::InvalidArgument);
  q = p, q.labels = one.data();
  EXPECT_THROW_CODE(mine_semi_hard(q, &out), ErrorCode::InvalidArgument);
  EXPECT_THROW_CODE(mine_distance_weighted(q, DistanceWeightedParams{}, &out), ErrorCode::InvalidArgument);
  q = p, q.margin = -0.1f;
  EXPECT_THROW_CODE(mine_filtered(q, TripletFilter::All, -1, &out), ErrorCode::InvalidArgument);
  q = p, q.dim = 0;
  EXPECT_THROW_CODE(mine_batch_hard(q, &out), ErrorCode::DimMismatch);
  std::vector<float> bad = e;
  bad[7] = std::nanf("");
  q = p, q.embeddings = bad.data();
  EXPECT_THROW_CODE(mine_batch_hard(q, &out), ErrorCode::NonFinite);
  std::vector<float> d(36);
  PairwiseParams pp;
  pp.embeddings = bad.data(), pp.b = 6, pp.dim = 4, pp.out = d.data();
  EXPECT_THROW_CODE(pairwise_distances(pp), ErrorCode::NonFinite);
  pp.b = 0;
  EXPECT_THROW_CODE(pairwise_distances(pp), ErrorCode::InvalidArgument);
  EXPECT_THROW_CODE(parse_distance_metric("l1"), ErrorCode::UnknownMetric);
  EXPECT_THROW_CODE(parse_triplet_filter("medium"), ErrorCode::InvalidArgument);
  std::vector<int32_t> trip = {0, 1, 6};
  TripletLossParams lp;
  lp.embeddings = e.data(), lp.b = 6, lp.dim = 4, lp.triplets = trip.data(), lp.n_triplets = 1;
  EXPECT_THROW_CODE(triplet_loss(lp), ErrorCode::InvalidArgument);
  trip[2] = 2;
  lp.margin = -1.f;
  EXPECT_THROW_CODE(triplet_loss(lp), ErrorCode::InvalidArgument);
  lp.margin = 0.f, lp.embeddings = bad.data();
  EXPECT_THROW_CODE(triplet_loss(lp), ErrorCode::NonFinite);
}

TEST_MAIN()
