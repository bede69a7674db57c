// bench_cuda section "mining": the mining family's CUDA twins on device-resident data, B = 4096 rows of
// d = 128 floats (N(0, 1/d), seeded), labels i % 64 (64 classes of 64); --quick: B = 512. Case
// strings match native/bench/torch_peer/mining.py. Every miner cell includes its distance matrix
// (computed into a kept device buffer, as a training loop would), and each ends with the one
// device-to-host read of its triplet count, as the host forms do.
//   pairwise sqeuclidean   the b x b matrix; flops 2 B^2 d (the full Gram matrix, though only its
//                          upper half is computed), bytes the matrix written
//   batch_hard             farthest positive / closest negative per anchor
//   semi_hard              per positive pair, the closest farther negative (margin recorded only)
//   batch_all_count        how many valid triplets violate the margin (filter All, no triplets written)
//   triplet_loss+grad      hinge, squared distance, margin 0.2, over the triplets (a, q, (q + 1) % B)
//                          for every positive pair (a, q): B * 63 of them at B = 4096
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "bench_cuda.h"
#include "core/cuda/runtime.h"
#include "core/random.h"
#include "mining/cuda/mining_cuda.h"
#include "mining/mining.h"

namespace {

using simsage::cuda::DeviceArray;
namespace mc = simsage::mining::cuda;

void run_mining(const simsage_bench::BenchArgs& args) {
  using simsage_bench::emit;
  using simsage_bench::time_device;
  const int64_t b = args.quick ? 512 : 4096, d = 128, classes = 64;
  simsage::SplitMix64 r(2024);
  std::vector<float> e(static_cast<size_t>(b * d));
  const double scale = 1.0 / std::sqrt(double(d));
  for (auto& x : e) {
    const double u1 = 1.0 - r.uniform(), u2 = r.uniform();
    x = static_cast<float>(scale * std::sqrt(-2 * std::log(u1)) * std::cos(6.283185307179586 * u2));
  }
  std::vector<int32_t> lab(static_cast<size_t>(b));
  for (int64_t i = 0; i < b; ++i) lab[i] = static_cast<int32_t>(i % classes);
  DeviceArray<float> de = simsage::cuda::to_device(e.data(), e.size());
  DeviceArray<int32_t> dl = simsage::cuda::to_device(lab.data(), lab.size());
  DeviceArray<float> dist(static_cast<size_t>(b * b));
  DeviceArray<int32_t> trip;
  const std::string shape = "b=" + std::to_string(b) + " d=" + std::to_string(d);

  simsage::PairwiseParams pp;
  pp.embeddings = de.data(), pp.b = b, pp.dim = d, pp.out = dist.data();
  double s = time_device(args, [&] { mc::pairwise_distances_device(pp); });
  emit("mining", "pairwise sqeuclidean " + shape, s, 2.0 * b * b * d, 4.0 * b * b);

  simsage::MineParams mp;
  mp.embeddings = de.data(), mp.labels = dl.data(), mp.b = b, mp.dim = d, mp.margin = 0.2f;
  mp.distance_buffer = dist.data();
  s = time_device(args, [&] { mc::mine_batch_hard_device(mp, &trip); });
  emit("mining", "batch_hard " + shape, s, 0, 0);
  s = time_device(args, [&] { mc::mine_semi_hard_device(mp, &trip); });
  emit("mining", "semi_hard " + shape + " margin=0.2", s, 0, 0);
  int64_t written = 0;
  s = time_device(args, [&] { mc::mine_filtered_device(mp, simsage::TripletFilter::All, 0, &trip, &written); });
  emit("mining", "batch_all_count " + shape + " margin=0.2", s, 0, 0);

  std::vector<int32_t> t;
  for (int64_t a = 0; a < b; ++a)
    for (int64_t q = a % classes; q < b; q += classes)
      if (q != a) t.insert(t.end(), {int32_t(a), int32_t(q), int32_t((q + 1) % b)});
  const int64_t nt = static_cast<int64_t>(t.size() / 3);
  DeviceArray<int32_t> dt = simsage::cuda::to_device(t.data(), t.size());
  DeviceArray<float> grad(static_cast<size_t>(b * d));
  simsage::TripletLossParams lp;
  lp.embeddings = de.data(), lp.b = b, lp.dim = d, lp.triplets = dt.data(), lp.n_triplets = nt;
  lp.margin = 0.2f, lp.grad = grad.data();
  s = time_device(args, [&] { mc::triplet_loss_device(lp); });
  emit("mining", "triplet_loss+grad " + shape + " triplets=" + std::to_string(nt), s, 0, 0);
}

simsage_bench::RegisterSection reg("mining", run_mining);

}  // namespace
