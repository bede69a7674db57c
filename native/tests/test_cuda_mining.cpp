// CUDA twins of the mining family (mining/cuda/mining_cuda.h) against the CPU functions, at
// B = 1, 2, 7, 64, 257 and dims 1, 3, 17, 129, with random classes, singleton classes and all-distinct
// classes (one class only is an error on both). Distances: within the CPU test's tolerance of the
// double reference, exactly symmetric, exact diagonal. Triplets: exactly the CPU's, order included,
// (a) on the CPU's own matrix passed in `distances` (every metric, every filter, caps), and (b) with
// each side computing its own matrix from small-integer embeddings, where every distance is an exact
// integer (sqeuclidean, dot) or its correctly rounded sqrt (euclidean), so the matrices are equal
// bit for bit and full of exact ties. Loss within 1e-9 relative (double terms, summed in another
// order), gradient within 1e-5 of max(1, max |grad|) (float atomics). Bad input: the CPU's codes.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <vector>

#include "core/backend.h"
#include "core/error.h"
#include "core/random.h"
#include "cuda_fixtures.h"
#include "mining/mining.h"

#if SIMSAGE_WITH_CUDA
#include "core/cuda/runtime.h"
#include "mining/cuda/mining_cuda.h"

using namespace simsage;
namespace mc = simsage::mining::cuda;

namespace {

const int64_t kSizes[] = {1, 2, 7, 64, 257};
const int64_t kDims[] = {1, 3, 17, 129};
const DistanceMetric kMetrics[] = {DistanceMetric::SqEuclidean, DistanceMetric::Euclidean, DistanceMetric::Cosine,
                                   DistanceMetric::Dot};
const TripletFilter kFilters[] = {TripletFilter::Any, TripletFilter::All, TripletFilter::Hard, TripletFilter::SemiHard,
                                  TripletFilter::Easy};

std::vector<float> normal(int64_t n, uint64_t seed) {
  SplitMix64 r(seed);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) {
    const double u1 = 1.0 - r.uniform(), u2 = r.uniform();
    x = static_cast<float>(std::sqrt(-2 * std::log(u1)) * std::cos(6.283185307179586 * u2));
  }
  return v;
}

std::vector<float> small_ints(int64_t n, uint64_t seed) {
  SplitMix64 r(seed);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = static_cast<float>(static_cast<int>(r.next() % 5) - 2);
  return v;
}

// 0: random classes (about b / 8, at least 2); 1: half the rows in classes of 3, half singletons;
// 2: every row its own class; 3: two classes, alternating (many positives per anchor: the CPU's
// semi-hard takes its sorted search).
std::vector<int32_t> labels_of(int64_t b, int kind, uint64_t seed) {
  SplitMix64 r(seed);
  std::vector<int32_t> l(static_cast<size_t>(b));
  const int classes = static_cast<int>(std::max<int64_t>(2, b / 8));
  for (int64_t i = 0; i < b; ++i) {
    if (kind == 0) l[i] = static_cast<int32_t>(i < classes ? i : r.next() % classes);
    if (kind == 1) l[i] = static_cast<int32_t>(i < b / 2 ? i / 3 : 1000 + i);
    if (kind == 2) l[i] = static_cast<int32_t>(i);
    if (kind == 3) l[i] = static_cast<int32_t>(i % 2);
  }
  return l;
}

std::vector<float> cpu_distances(const std::vector<float>& e, int64_t b, int64_t dim, DistanceMetric m) {
  std::vector<float> d(static_cast<size_t>(b * b));
  PairwiseParams p;
  p.embeddings = e.data(), p.b = b, p.dim = dim, p.metric = m, p.out = d.data();
  pairwise_distances_at(SimdLevel::Scalar, p);
  return d;
}

// Every miner on both sides with the same params; triplets equal, order included.
void compare_miners(const MineParams& p, const char* what) {
  std::vector<int32_t> want, got;
  mine_batch_hard_at(SimdLevel::Scalar, p, &want);
  mc::mine_batch_hard(p, &got);
  CHECK(got == want, "%s: batch-hard (%zu vs %zu)", what, got.size() / 3, want.size() / 3);
  mine_semi_hard_at(SimdLevel::Scalar, p, &want);
  mc::mine_semi_hard(p, &got);
  CHECK(got == want, "%s: semi-hard (%zu vs %zu)", what, got.size() / 3, want.size() / 3);
  for (TripletFilter f : kFilters) {
    const int64_t tw = mine_filtered_at(SimdLevel::Scalar, p, f, -1, &want);
    const int64_t tg = mc::mine_filtered(p, f, -1, &got);
    CHECK(tg == tw && got == want, "%s: filter %d margin %g: %lld vs %lld", what, int(f), p.margin, (long long)tg,
          (long long)tw);
    for (int64_t cap : {int64_t(0), int64_t(1), tw / 2, tw + 5}) {
      const int64_t cw = mine_filtered_at(SimdLevel::Scalar, p, f, cap, &want);
      const int64_t cg = mc::mine_filtered(p, f, cap, &got);
      CHECK(cg == cw && got == want, "%s: filter %d cap %lld", what, int(f), (long long)cap);
    }
  }
}

}  // namespace

TEST_CASE(cuda_pairwise_matches_reference) {
  for (int64_t b : kSizes)
    for (int64_t dim : kDims) {
      std::vector<float> e = normal(b * dim, 100 + b * 7 + dim);
      if (b > 2) std::fill(e.begin() + dim, e.begin() + 2 * dim, 0.f);  // a zero row (cosine: distance 1)
      std::vector<double> norm(static_cast<size_t>(b), 0.0);
      for (int64_t i = 0; i < b; ++i)
        for (int64_t d = 0; d < dim; ++d) norm[i] += double(e[i * dim + d]) * e[i * dim + d];
      for (DistanceMetric m : kMetrics) {
        std::vector<float> ref(static_cast<size_t>(b * b)), got(static_cast<size_t>(b * b), -7.f);
        PairwiseParams p;
        p.embeddings = e.data(), p.b = b, p.dim = dim, p.metric = m, p.out = ref.data();
        pairwise_distances_reference(p);
        p.out = got.data();
        mc::pairwise_distances(p);
        int bad = 0;
        for (int64_t i = 0; i < b; ++i)
          for (int64_t j = 0; j < b; ++j) {
            // The CPU test's tolerance (test_mining.cpp): the expansion n_i + n_j - 2 g_ij loses
            // about eps (n_i + n_j) sqrt(dim).
            const double scale = 1e-6 * (1 + std::sqrt(double(dim)));
            double tol = scale * (norm[i] + norm[j]) + 1e-6;
            if (m == DistanceMetric::Euclidean) tol = std::sqrt(tol);
            if (m == DistanceMetric::Cosine) tol = 10 * scale;
            const double r = ref[i * b + j], g = got[i * b + j];
            if (!(std::fabs(r - g) <= tol) && bad++ < 3)
              CHECK(false, "%s b=%lld dim=%lld (%lld,%lld): got %g want %g", distance_metric_name(m), (long long)b,
                    (long long)dim, (long long)i, (long long)j, g, r);
            if (got[i * b + j] != got[j * b + i] && bad++ < 3)
              CHECK(false, "not symmetric at (%lld,%lld)", (long long)i, (long long)j);
          }
        CHECK(bad == 0, "%s b=%lld dim=%lld: %d mismatches", distance_metric_name(m), (long long)b, (long long)dim,
              bad);
        if (m == DistanceMetric::SqEuclidean || m == DistanceMetric::Euclidean)
          for (int64_t i = 0; i < b; ++i) CHECK(got[i * b + i] == 0.f, "diagonal not 0");
        if (m == DistanceMetric::Cosine && b > 2) CHECK(got[1 * b + 1] == 1.f, "zero row: cosine diagonal 1");
      }
    }
}

TEST_CASE(cuda_pairwise_exact_on_small_integers) {
  for (int64_t dim : kDims) {
    const int64_t b = 64;
    std::vector<float> e = small_ints(b * dim, 5 + dim);
    for (DistanceMetric m : {DistanceMetric::SqEuclidean, DistanceMetric::Euclidean, DistanceMetric::Dot}) {
      std::vector<float> want = cpu_distances(e, b, dim, m), got(static_cast<size_t>(b * b));
      PairwiseParams p;
      p.embeddings = e.data(), p.b = b, p.dim = dim, p.metric = m, p.out = got.data();
      mc::pairwise_distances(p);
      CHECK(got == want, "%s dim=%lld: integer distances differ", distance_metric_name(m), (long long)dim);
    }
  }
}

TEST_CASE(cuda_miners_match_cpu_on_given_distances) {
  for (int64_t b : {int64_t(2), int64_t(7), int64_t(64), int64_t(257)})
    for (int kind = 0; kind < 3; ++kind) {
      const int64_t dim = b == 257 ? 17 : (b == 64 ? 129 : 3);
      std::vector<float> e = normal(b * dim, 31 + b + kind);
      std::vector<int32_t> lab = labels_of(b, kind, 7 + b);
      for (DistanceMetric m : kMetrics) {
        std::vector<float> D = cpu_distances(e, b, dim, m);
        MineParams p;
        p.embeddings = e.data(), p.labels = lab.data(), p.b = b, p.dim = dim, p.metric = m, p.distances = D.data();
        for (float margin : {0.f, 0.5f, 3.f}) {
          if (b == 257 && margin != 0.5f) continue;  // the large batch once: the filters dominate the test time
          p.margin = margin;
          char what[96];
          std::snprintf(what, sizeof(what), "given %s b=%lld labels %d", distance_metric_name(m), (long long)b, kind);
          compare_miners(p, what);
        }
      }
    }
}

TEST_CASE(cuda_miners_match_cpu_on_own_integer_distances) {
  // Small-integer embeddings: both sides compute bit-identical matrices full of exact ties.
  for (int64_t b : {int64_t(2), int64_t(7), int64_t(64), int64_t(257)})
    for (int64_t dim : kDims) {
      if (b == 257 && dim != 17 && dim != 3) continue;
      std::vector<float> e = small_ints(b * dim, 300 + b + dim);
      std::vector<int32_t> lab = labels_of(b, b == 257 && dim == 3 ? 3 : int(dim % 3), 11 + b);
      for (DistanceMetric m : {DistanceMetric::SqEuclidean, DistanceMetric::Euclidean, DistanceMetric::Dot}) {
        MineParams p;
        p.embeddings = e.data(), p.labels = lab.data(), p.b = b, p.dim = dim, p.metric = m, p.margin = 2.f;
        char what[96];
        std::snprintf(what, sizeof(what), "own %s b=%lld dim=%lld", distance_metric_name(m), (long long)b,
                      (long long)dim);
        compare_miners(p, what);
      }
    }
}

TEST_CASE(cuda_miner_ties_by_hand) {
  // 1-D points 0, 2, -2, 2, 4 with labels 0 0 1 1 0: sqeuclidean distances from row 0 are 0 4 4 4 16.
  // Batch-hard anchor 0: farthest positive 4 (16), closest negative: rows 2 and 3 tie at 4 -> 2.
  // Semi-hard (0, 1): dp = 4, no negative is farther than 4 -> dropped; (0, 4): dp = 16 -> dropped.
  const std::vector<float> e = {0.f, 2.f, -2.f, 2.f, 4.f};
  const std::vector<int32_t> lab = {0, 0, 1, 1, 0};
  MineParams p;
  p.embeddings = e.data(), p.labels = lab.data(), p.b = 5, p.dim = 1, p.margin = 1.f;
  std::vector<int32_t> got;
  mc::mine_batch_hard(p, &got);
  CHECK(got.size() >= 3 && got[0] == 0 && got[1] == 4 && got[2] == 2, "batch-hard anchor 0 tie");
  compare_miners(p, "ties by hand");
}

TEST_CASE(cuda_device_forms_and_buffers) {
  const int64_t b = 64, dim = 17;
  std::vector<float> e = small_ints(b * dim, 41);
  std::vector<int32_t> lab = labels_of(b, 0, 42);
  auto de = simsage::cuda::to_device(e.data(), e.size());
  auto dl = simsage::cuda::to_device(lab.data(), lab.size());
  simsage::cuda::DeviceArray<float> buf(static_cast<size_t>(b * b));
  MineParams hp;
  hp.embeddings = e.data(), hp.labels = lab.data(), hp.b = b, hp.dim = dim, hp.margin = 2.f;
  MineParams dp = hp;
  dp.embeddings = de.data(), dp.labels = dl.data(), dp.distance_buffer = buf.data();
  simsage::cuda::DeviceArray<int32_t> out;
  std::vector<int32_t> want, got;
  mine_batch_hard_at(SimdLevel::Scalar, hp, &want);
  int64_t n = mc::mine_batch_hard_device(dp, &out);
  got.resize(static_cast<size_t>(3 * n));
  if (n) out.download(got.data(), got.size());
  CHECK(got == want, "batch-hard device form");
  // The buffer now holds the matrix: mining from it as `distances` gives the same triplets.
  std::vector<float> dist(static_cast<size_t>(b * b));
  buf.download(dist.data(), dist.size());
  CHECK(dist == cpu_distances(e, b, dim, DistanceMetric::SqEuclidean), "distance_buffer holds the matrix");
  MineParams gp = dp;
  gp.distances = buf.data(), gp.distance_buffer = nullptr;
  mine_semi_hard_at(SimdLevel::Scalar, hp, &want);
  n = mc::mine_semi_hard_device(gp, &out);
  got.resize(static_cast<size_t>(3 * n));
  if (n) out.download(got.data(), got.size());
  CHECK(got == want, "semi-hard device form on given distances");
  int64_t written = -1;
  const int64_t total = mc::mine_filtered_device(gp, TripletFilter::All, 10, &out, &written);
  const int64_t tw = mine_filtered_at(SimdLevel::Scalar, hp, TripletFilter::All, 10, &want);
  got.resize(static_cast<size_t>(3 * written));
  if (written) out.download(got.data(), got.size());
  CHECK(total == tw && written == std::min<int64_t>(10, tw) && got == want, "filtered device form");
}

TEST_CASE(cuda_loss_matches_cpu) {
  for (int64_t b : kSizes)
    for (int64_t dim : kDims) {
      std::vector<float> e = normal(b * dim, 900 + b * 3 + dim);
      SplitMix64 r(b * 131 + dim);
      const int64_t nt = b == 1 ? 3 : 4 * b;
      std::vector<int32_t> trip(static_cast<size_t>(3 * nt));
      for (auto& x : trip) x = static_cast<int32_t>(r.next() % uint64_t(b));
      if (nt > 0) trip[0] = trip[1] = 0;  // a == p: the Euclidean subgradient 0
      for (TripletDistance dist : {TripletDistance::Squared, TripletDistance::Euclidean})
        for (bool soft : {false, true})
          for (float margin : {0.f, 0.7f}) {
            TripletLossParams p;
            std::vector<float> gw(static_cast<size_t>(b * dim)), gg(static_cast<size_t>(b * dim), 5.f);
            p.embeddings = e.data(), p.b = b, p.dim = dim, p.triplets = trip.data(), p.n_triplets = nt;
            p.distance = dist, p.soft_margin = soft, p.margin = margin, p.grad = gw.data();
            const TripletLossResult want = [&] {
              const Backend keep = preferred_backend();
              set_preferred_backend(Backend::Cpu);
              TripletLossResult w = triplet_loss(p);
              set_preferred_backend(keep);
              return w;
            }();
            p.grad = gg.data();
            const TripletLossResult got = mc::triplet_loss(p);
            CHECK(std::fabs(got.loss - want.loss) <= 1e-9 * (1 + std::fabs(want.loss)) && got.active == want.active &&
                      got.backend == Backend::Cuda && want.backend == Backend::Cpu,
                  "b=%lld dim=%lld dist %d soft %d margin %g: loss %.12g vs %.12g, active %lld vs %lld", (long long)b,
                  (long long)dim, int(dist), int(soft), margin, got.loss, want.loss, (long long)got.active,
                  (long long)want.active);
            float gmax = 1.f, err = 0.f;
            for (size_t i = 0; i < gw.size(); ++i) gmax = std::max(gmax, std::fabs(gw[i]));
            for (size_t i = 0; i < gw.size(); ++i) err = std::max(err, std::fabs(gg[i] - gw[i]));
            CHECK(err <= 1e-5f * gmax, "b=%lld dim=%lld dist %d soft %d: gradient error %g (max %g)", (long long)b,
                  (long long)dim, int(dist), int(soft), err, gmax);
          }
    }
  // No triplets: loss 0, zero gradient.
  std::vector<float> e = normal(6, 1), g(6, 3.f);
  TripletLossParams p;
  p.embeddings = e.data(), p.b = 3, p.dim = 2, p.grad = g.data();
  const TripletLossResult r = mc::triplet_loss(p);
  CHECK(r.loss == 0 && r.active == 0 && std::all_of(g.begin(), g.end(), [](float x) { return x == 0.f; }), "T = 0");
}

TEST_CASE(cuda_bad_input_gets_cpu_codes) {
  const auto code_of = [](const std::function<void()>& f) -> int {
    try {
      f();
    } catch (const Error& e) {
      return int(e.code());
    }
    return -1;
  };
  std::vector<float> e = normal(4 * 3, 2);
  std::vector<int32_t> lab = {0, 1, 0, 1}, one = {5, 5, 5, 5};
  std::vector<MineParams> bad(7);
  for (auto& p : bad) p.embeddings = e.data(), p.labels = lab.data(), p.b = 4, p.dim = 3;
  bad[0].dim = 0;
  bad[1].b = 0;
  bad[2].labels = one.data();  // one class only
  bad[3].labels = nullptr;
  bad[4].margin = -1.f;
  bad[5].embeddings = nullptr;
  std::vector<float> nan = e;
  nan[5] = std::nanf("");
  bad[6].embeddings = nan.data();
  std::vector<int32_t> out;
  for (size_t i = 0; i < bad.size(); ++i) {
    const MineParams& p = bad[i];
    const int want = code_of([&] { mine_batch_hard_at(SimdLevel::Scalar, p, &out); });
    CHECK(want >= 0, "case %zu: the CPU accepts it", i);
    CHECK(code_of([&] { mc::mine_batch_hard(p, &out); }) == want, "batch-hard case %zu", i);
    CHECK(code_of([&] { mc::mine_semi_hard(p, &out); }) == want, "semi-hard case %zu", i);
    CHECK(code_of([&] { mc::mine_filtered(p, TripletFilter::All, -1, &out); }) == want, "filter case %zu", i);
  }
  std::vector<float> d(16);
  PairwiseParams pp;
  pp.embeddings = nan.data(), pp.b = 4, pp.dim = 3, pp.out = d.data();
  EXPECT_THROW_CODE(mc::pairwise_distances(pp), ErrorCode::NonFinite);
  pp.embeddings = e.data(), pp.out = nullptr;
  EXPECT_THROW_CODE(mc::pairwise_distances(pp), ErrorCode::InvalidArgument);
  pp.out = d.data(), pp.dim = 0;
  EXPECT_THROW_CODE(mc::pairwise_distances(pp), ErrorCode::DimMismatch);
  std::vector<int32_t> trip = {0, 1, 4};
  TripletLossParams lp;
  lp.embeddings = e.data(), lp.b = 4, lp.dim = 3, lp.triplets = trip.data(), lp.n_triplets = 1;
  EXPECT_THROW_CODE(mc::triplet_loss(lp), ErrorCode::InvalidArgument);  // index 4 out of [0, 4)
  trip[2] = 2, lp.embeddings = nan.data();
  EXPECT_THROW_CODE(mc::triplet_loss(lp), ErrorCode::NonFinite);
  lp.embeddings = e.data(), lp.margin = -0.5f;
  EXPECT_THROW_CODE(mc::triplet_loss(lp), ErrorCode::InvalidArgument);
}

TEST_CASE(cuda_impossible_allocation_is_coded) {
  // 300,000 rows: a 360 GB distance matrix, more than any device holds.
  const int64_t b = 300000;
  std::vector<float> e(static_cast<size_t>(b), 1.f);
  std::vector<int32_t> lab(static_cast<size_t>(b));
  for (int64_t i = 0; i < b; ++i) lab[i] = static_cast<int32_t>(i % 7);
  MineParams p;
  p.embeddings = e.data(), p.labels = lab.data(), p.b = b, p.dim = 1;
  std::vector<int32_t> out;
  EXPECT_THROW_CODE(mc::mine_batch_hard(p, &out), ErrorCode::OutOfMemory);
  // The device is usable afterwards.
  std::vector<float> small = {0.f, 1.f, 3.f};
  std::vector<int32_t> sl = {0, 1, 0};
  MineParams q;
  q.embeddings = small.data(), q.labels = sl.data(), q.b = 3, q.dim = 1;
  mc::mine_batch_hard(q, &out);
  CHECK((out == std::vector<int32_t>{0, 2, 1, 2, 0, 1}), "after the failed allocation");
}

TEST_CASE(cuda_dispatch_reports_backend) {
  const Backend keep = preferred_backend();
  const int64_t b = 64, dim = 17;
  std::vector<float> e = small_ints(b * dim, 77);
  std::vector<int32_t> lab = labels_of(b, 0, 78);
  MineParams p;
  p.embeddings = e.data(), p.labels = lab.data(), p.b = b, p.dim = dim, p.margin = 1.f;
  std::vector<int32_t> c, g;
  set_preferred_backend(Backend::Cpu);
  CHECK(mine_batch_hard(p, &c) == Backend::Cpu, "cpu preferred: cpu ran");
  Backend ran = Backend::Cuda;
  mine_filtered(p, TripletFilter::All, -1, &c, &ran);
  CHECK(ran == Backend::Cpu, "filter: cpu ran");
  set_preferred_backend(Backend::Cuda);
  CHECK(mine_semi_hard(p, &g) == Backend::Cuda, "cuda preferred: cuda ran");
  mine_filtered(p, TripletFilter::All, -1, &g, &ran);
  CHECK(ran == Backend::Cuda && g == c, "filter: cuda ran, same triplets");
  std::vector<float> d(static_cast<size_t>(b * b));
  PairwiseParams pp;
  pp.embeddings = e.data(), pp.b = b, pp.dim = dim, pp.out = d.data();
  CHECK(pairwise_distances(pp) == Backend::Cuda, "pairwise: cuda ran");
  set_preferred_backend(keep);
}

#endif  // SIMSAGE_WITH_CUDA

SIMSAGE_CUDA_TEST_MAIN("mining CUDA twins vs the CPU")
