// libFuzzer target: triplet_loss with random shapes, triplets (out of range, negative, a == p,
// repeated), margins (negative, NaN, huge), distance, soft margin, with and without a gradient.
// Outcome: a coded simsage::Error, or a result with active in [0, T], loss >= 0 and finite for
// finite inputs, a zero gradient when T == 0, and a finite gradient for tame inputs.
#include <cmath>
#include <cstdint>
#include <vector>

#include "fuzz_common.h"
#include "mining/mining.h"

using namespace simsage;
using namespace simsage_fuzz;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  constexpr const char* kTarget = "fuzz_triplet_loss";
  FuzzedDataProvider in(data, size);
  const int64_t b = in.ConsumeIntegralInRange<int64_t>(-1, 30);
  const int64_t dim = in.ConsumeIntegralInRange<int64_t>(-1, 20);
  const int64_t nt = in.ConsumeIntegralInRange<int64_t>(-1, 60);
  const Values mode = pick_values(in);
  const int64_t rows = b > 0 ? b : 0;
  std::vector<float> emb = matrix(in, rows * (dim > 0 ? dim : 1), mode);
  std::vector<int32_t> trip((nt > 0 ? nt : 0) * 3);
  for (auto& v : trip) {
    const uint8_t c = in.ConsumeIntegral<uint8_t>();
    v = c < 248 ? static_cast<int32_t>(c % (rows + 1)) : (c & 1 ? -1 : INT32_MAX);
  }
  TripletLossParams p;
  p.embeddings = emb.data();
  p.b = b;
  p.dim = dim;
  p.triplets = trip.data();
  p.n_triplets = nt;
  p.margin = in.PickValueInArray<float>({0.f, 0.2f, 1.f, -0.5f, 1e30f, std::nanf(""), INFINITY});
  p.distance = in.ConsumeBool() ? TripletDistance::Squared : TripletDistance::Euclidean;
  p.soft_margin = in.ConsumeBool();
  p.threads = in.ConsumeIntegralInRange<int>(0, 3);
  std::vector<float> grad;
  if (in.ConsumeBool()) {
    grad.assign(rows * (dim > 0 ? dim : 1), 123.f);
    p.grad = grad.data();
  }
  TripletLossResult r;
  if (!accepted([&] { r = triplet_loss(p); })) return 0;
  FUZZ_CHECK(r.active >= 0 && r.active <= (nt > 0 ? nt : 0), kTarget);
  FUZZ_CHECK(!(r.loss < 0), kTarget);
  if (mode == Values::Tame) {
    FUZZ_CHECK(std::isfinite(r.loss), kTarget);
    for (float g : grad) FUZZ_CHECK(std::isfinite(g), kTarget);
  }
  if (nt == 0) {
    FUZZ_CHECK(r.loss == 0 && r.active == 0, kTarget);
    for (float g : grad) FUZZ_CHECK(g == 0.f, kTarget);
  }
  return 0;
}
