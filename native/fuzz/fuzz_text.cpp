// libFuzzer target: the text family with fuzzer-chosen UTF-16 strings (lone and paired surrogates,
// separators, '#'), CSR offsets (decreasing, past the end), hashes, table sizes, importance weights
// (NaN, Inf) and SIMD levels: the featuriser (equal to its reference whenever it accepts), the hash
// bag forward and backward, sparse Adagrad / Adam with fuzzer row lists. Buffers are sized from
// the declared shapes (as the addon sizes them), so a check that lets a bad shape through shows up
// as an ASan report. Outcome: a coded simsage::Error or a clean return.
#include <cstdint>
#include <vector>

#include "fuzz_common.h"
#include "text/text.h"

using namespace simsage;
using namespace simsage_fuzz;

namespace {
constexpr const char* kTarget = "fuzz_text";

void fuzz_featurize(FuzzedDataProvider& in) {
  const int64_t n = in.ConsumeIntegralInRange<int64_t>(0, 12);
  std::vector<uint16_t> units;
  std::vector<int64_t> offsets{0};
  for (int64_t i = 0; i < n; ++i) {
    const int64_t len = in.ConsumeIntegralInRange<int64_t>(0, 30);
    for (int64_t k = 0; k < len; ++k)
      units.push_back(in.PickValueInArray<uint16_t>(
          {'a', 'Z', '7', ' ', '#', '_', 0xE9, 0x4E2D, 0xD83D, 0xDE00, 0xDC00, in.ConsumeIntegral<uint16_t>()}));
    offsets.push_back(static_cast<int64_t>(units.size()));
  }
  if (n > 0 && in.ConsumeIntegralInRange<int>(0, 7) == 0)
    offsets[in.ConsumeIntegralInRange<size_t>(1, offsets.size() - 1)] -= in.ConsumeIntegralInRange<int64_t>(1, 3);
  TextFeaturizeParams p;
  p.count = n;
  p.units = units.empty() ? nullptr : units.data();
  p.offsets = offsets.data();
  p.seed = in.ConsumeIntegral<uint64_t>();
  p.trigrams = in.ConsumeBool();
  p.bigrams = in.ConsumeBool();
  p.threads = in.ConsumeIntegralInRange<int>(0, 3);
  TextFeatures f, r;
  if (!accepted([&] { text_featurize(p, &f); })) return;
  text_featurize_reference(p, &r);
  FUZZ_CHECK(f.offsets == r.offsets && f.hashes == r.hashes && f.kinds == r.kinds, kTarget);
}

void fuzz_bag(FuzzedDataProvider& in, SimdLevel level, Values mode) {
  HashBagParams p;
  p.segments = in.ConsumeIntegralInRange<int64_t>(0, 8);
  std::vector<int32_t> offsets{0};
  for (int64_t j = 0; j < p.segments; ++j)
    offsets.push_back(offsets.back() + in.ConsumeIntegralInRange<int32_t>(-1, 6));
  p.tokens = in.ConsumeBool() ? offsets.back() : in.ConsumeIntegralInRange<int64_t>(0, 40);
  std::vector<uint64_t> hashes(static_cast<size_t>(p.tokens > 0 ? p.tokens : 0));
  for (auto& h : hashes) h = in.ConsumeIntegral<uint64_t>();
  p.rows = in.ConsumeIntegralInRange<int64_t>(-1, 50);
  p.dim = in.ConsumeIntegralInRange<int64_t>(-1, 40);
  p.importance_rows = in.ConsumeIntegralInRange<int64_t>(-1, 20);
  auto size = [](int64_t a, int64_t b) { return a > 0 && b > 0 ? a * b : 0; };
  std::vector<float> table = matrix(in, size(p.rows, p.dim), mode);
  std::vector<float> imp = matrix(in, size(p.importance_rows, 2), mode);
  std::vector<float> gamma = matrix(in, size(p.dim, 1), mode), beta = matrix(in, size(p.dim, 1), Values::Tame);
  std::vector<float> pooled(size(p.segments, p.dim)), mean(size(p.segments, 1)), rstd(mean.size()), y(pooled.size());
  p.offsets = offsets.data();
  p.hashes = hashes.empty() ? nullptr : hashes.data();
  p.table = table.empty() ? nullptr : table.data();
  p.importance = imp.empty() ? nullptr : imp.data();
  p.gamma = gamma.empty() ? nullptr : gamma.data();
  p.beta = beta.empty() ? nullptr : beta.data();
  p.pooled = pooled.data();
  p.mean = mean.data();
  p.rstd = rstd.data();
  p.y = y.data();
  p.threads = in.ConsumeIntegralInRange<int>(0, 3);
  if (!accepted([&] { hash_bag_forward_at(level, p); })) return;
  std::vector<float> dy = matrix(in, size(p.segments, p.dim), mode);
  HashBagBackwardParams b;
  b.fwd = p;
  b.dy = dy.empty() ? nullptr : dy.data();
  SparseRows tg, ig;
  std::vector<float> dg(static_cast<size_t>(p.dim)), db(static_cast<size_t>(p.dim));
  b.table_grad = &tg;
  b.importance_grad = &ig;
  b.dgamma = dg.data();
  b.dbeta = db.data();
  if (!accepted([&] { hash_bag_backward_at(level, b); })) return;
  SparseOptimParams o;
  o.table_rows = p.rows;
  o.dim = p.dim;
  o.table = table.data();
  o.count = static_cast<int64_t>(tg.rows.size());
  o.rows = tg.rows.data();
  o.grad = tg.values.data();
  std::vector<float> s1(table.size()), s2(table.size());
  o.state1 = s1.data();
  o.state2 = s2.data();
  o.step = in.ConsumeIntegralInRange<int64_t>(0, 3);
  if (in.ConsumeBool()) {
    accepted([&] { sparse_adam_step(o); });
  } else {
    accepted([&] { sparse_adagrad_step(o); });
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const SimdLevel level = pick_level(in);
  const Values mode = pick_values(in);
  if (in.ConsumeBool()) {
    fuzz_featurize(in);
  } else {
    fuzz_bag(in, level, mode);
  }
  return 0;
}
