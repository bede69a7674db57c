// libFuzzer target: the mining family with random batch shapes, labels (singletons, one class,
// negative and huge label values), metrics, SIMD levels, threads, margins and values: pairwise
// distances and every miner. Outcome: a coded simsage::Error, or output that keeps the header's
// promises: distances finite-shaped (diagonal 0 for the Euclidean metrics, cosine in [0, 2] for
// finite inputs), every triplet in range and valid (a != p, same label, different negative), the
// filter miner's cap honoured.
#include <cmath>
#include <cstdint>
#include <vector>

#include "fuzz_common.h"
#include "mining/mining.h"

using namespace simsage;
using namespace simsage_fuzz;

namespace {
constexpr const char* kTarget = "fuzz_mining";

void check_triplets(const std::vector<int32_t>& t, const std::vector<int32_t>& labels) {
  FUZZ_CHECK(t.size() % 3 == 0, kTarget);
  const int64_t b = static_cast<int64_t>(labels.size());
  for (size_t i = 0; i < t.size(); i += 3) {
    const int32_t a = t[i], p = t[i + 1], n = t[i + 2];
    FUZZ_CHECK(a >= 0 && a < b && p >= 0 && p < b && n >= 0 && n < b, kTarget);
    FUZZ_CHECK(a != p && labels[a] == labels[p] && labels[n] != labels[a], kTarget);
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const int64_t b = in.ConsumeIntegralInRange<int64_t>(-1, 40);
  const int64_t dim = in.ConsumeIntegralInRange<int64_t>(-1, 20);
  const DistanceMetric metric = in.PickValueInArray(
      {DistanceMetric::SqEuclidean, DistanceMetric::Euclidean, DistanceMetric::Cosine, DistanceMetric::Dot});
  const SimdLevel level = pick_level(in);
  const int threads = in.ConsumeIntegralInRange<int>(0, 3);
  const Values mode = pick_values(in);
  const int64_t rows = b > 0 ? b : 0;
  std::vector<float> emb = matrix(in, rows * (dim > 0 ? dim : 1), mode);
  std::vector<int32_t> labels(rows);
  const int32_t classes = in.ConsumeIntegralInRange<int32_t>(1, 6);
  for (auto& l : labels) {
    const uint8_t c = in.ConsumeIntegral<uint8_t>();
    l = c < 250 ? c % classes : (c & 1 ? INT32_MIN : INT32_MAX);
  }
  const float margin = in.PickValueInArray<float>({0.f, 0.2f, 1.f, -0.5f, 1e30f, std::nanf("")});
  const uint8_t which = in.ConsumeIntegralInRange<uint8_t>(0, 5);

  std::vector<float> dist(rows * rows);
  PairwiseParams pp;
  pp.embeddings = emb.data();
  pp.b = b;
  pp.dim = dim;
  pp.metric = metric;
  pp.out = dist.data();
  pp.threads = threads;
  if (which == 0) {
    if (!accepted([&] { pairwise_distances_at(level, pp); })) return 0;
    for (int64_t i = 0; i < rows; ++i) {
      if (metric == DistanceMetric::SqEuclidean || metric == DistanceMetric::Euclidean)
        FUZZ_CHECK(dist[i * rows + i] == 0.f, kTarget);
      for (int64_t j = 0; j < rows; ++j) {
        const float v = dist[i * rows + j];
        if (metric == DistanceMetric::SqEuclidean || metric == DistanceMetric::Euclidean)
          FUZZ_CHECK(!(v < 0.f), kTarget);
        if (metric == DistanceMetric::Cosine && std::isfinite(v)) FUZZ_CHECK(v >= -1e-5f && v <= 2.f + 1e-5f, kTarget);
      }
    }
    return 0;
  }

  MineParams mp;
  mp.embeddings = emb.data();
  mp.labels = labels.data();
  mp.b = b;
  mp.dim = dim;
  mp.metric = metric;
  mp.margin = margin;
  mp.threads = threads;
  std::vector<int32_t> t;
  switch (which) {
    case 1: {
      const TripletFilter f = in.PickValueInArray(
          {TripletFilter::Any, TripletFilter::All, TripletFilter::Hard, TripletFilter::SemiHard, TripletFilter::Easy});
      const int64_t cap = in.ConsumeIntegralInRange<int64_t>(-1, 200);
      int64_t total = 0;
      if (!accepted([&] { total = mine_filtered_at(level, mp, f, cap, &t); })) return 0;
      FUZZ_CHECK(total >= static_cast<int64_t>(t.size() / 3), kTarget);
      if (cap >= 0) FUZZ_CHECK(static_cast<int64_t>(t.size() / 3) <= cap, kTarget);
      if (cap < 0) FUZZ_CHECK(total == static_cast<int64_t>(t.size() / 3), kTarget);
      break;
    }
    case 2:
      if (!accepted([&] { mine_batch_hard_at(level, mp, &t); })) return 0;
      break;
    case 3:
      if (!accepted([&] { mine_semi_hard_at(level, mp, &t); })) return 0;
      break;
    default: {
      DistanceWeightedParams dw;
      dw.cutoff = in.PickValueInArray<float>({0.5f, 0.f, -1.f, 2.f, std::nanf("")});
      dw.nonzero_loss_cutoff = in.PickValueInArray<float>({1.4f, 0.f, 0.1f, 5.f, std::nanf("")});
      dw.seed = in.ConsumeIntegral<uint64_t>();
      if (!accepted([&] { mine_distance_weighted(mp, dw, &t); })) return 0;
      check_triplets(t, labels);
      return 0;
    }
  }
  check_triplets(t, labels);
  return 0;
}
