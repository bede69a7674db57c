// libFuzzer target: the temporal family with random shapes, values and SIMD levels, and the two
// streaming state formats with damaged bytes. conv1d forward (compared with conv1d_reference on
// tame values) and backward; TcnStreamer and gru_state_restore fed a valid saved state that the
// fuzzer truncates, extends or flips bits in (restore must either reject it with a code, leaving
// the state as it was, or accept it when the bytes are unchanged); gru_stream_step with random
// shapes and active sets. Buffers are sized from the declared shapes, as the addon sizes them, so
// a shape check that lets a bad shape through shows up as an ASan report.
#include <cmath>
#include <cstdint>
#include <vector>

#include "fuzz_common.h"
#include "temporal/temporal.h"

using namespace simsage;
using namespace simsage_fuzz;

namespace {
constexpr const char* kTarget = "fuzz_temporal";

int64_t dim(FuzzedDataProvider& in, int64_t lo, int64_t hi) { return in.ConsumeIntegralInRange<int64_t>(lo, hi); }
size_t pos(int64_t v) { return static_cast<size_t>(v > 0 ? v : 0); }

void fuzz_conv(FuzzedDataProvider& in, SimdLevel level, Values mode) {
  Conv1dParams p;
  p.batch = dim(in, -1, 4);
  p.steps = dim(in, -1, 12);
  p.in_channels = dim(in, -1, 20);
  p.out_channels = dim(in, -1, 20);
  p.kernel_size = dim(in, -1, 5);
  p.dilation = dim(in, -1, 16);
  p.relu = in.ConsumeBool();
  p.threads = in.ConsumeIntegralInRange<int>(0, 3);
  const size_t bt = pos(p.batch) * pos(p.steps);
  std::vector<float> x = matrix(in, static_cast<int64_t>(bt * pos(p.in_channels)), mode);
  std::vector<float> w =
      matrix(in, static_cast<int64_t>(pos(p.out_channels) * pos(p.in_channels) * pos(p.kernel_size)), mode);
  std::vector<float> b = matrix(in, static_cast<int64_t>(pos(p.out_channels)), mode);
  std::vector<float> y(bt * pos(p.out_channels)), y_ref(y.size());
  p.x = x.data();
  p.w = w.data();
  p.b = in.ConsumeBool() ? b.data() : nullptr;
  p.y = y.data();
  if (!accepted([&] { conv1d_forward_at(level, p); })) return;
  if (mode == Values::Tame) {
    Conv1dParams r = p;
    r.y = y_ref.data();
    conv1d_reference(r);
    // Error bound: float rounding of sum |w x| + |b| over the C_in * K terms.
    for (int64_t bi = 0; bi < p.batch; ++bi)
      for (int64_t t = 0; t < p.steps; ++t)
        for (int64_t o = 0; o < p.out_channels; ++o) {
          double scale = p.b ? std::fabs(double(p.b[o])) : 0.0;
          for (int64_t k = 0; k < p.kernel_size; ++k) {
            const int64_t u = t - (p.kernel_size - 1 - k) * p.dilation;
            if (u < 0) continue;
            for (int64_t c = 0; c < p.in_channels; ++c)
              scale += std::fabs(double(w[(o * p.in_channels + c) * p.kernel_size + k]) *
                                 x[(bi * p.steps + u) * p.in_channels + c]);
          }
          const size_t i = (bi * p.steps + t) * p.out_channels + o;
          FUZZ_CHECK(std::fabs(double(y[i]) - y_ref[i]) <= 2e-7 * double(p.in_channels * p.kernel_size + 4) * scale,
                     kTarget);
        }
  }
  Conv1dBackwardParams g;
  g.batch = p.batch;
  g.steps = p.steps;
  g.in_channels = p.in_channels;
  g.out_channels = p.out_channels;
  g.kernel_size = p.kernel_size;
  g.dilation = p.dilation;
  std::vector<float> dy = matrix(in, static_cast<int64_t>(y.size()), mode);
  std::vector<float> dx(x.size()), dw(w.size()), db(b.size());
  g.x = x.data();
  g.w = w.data();
  g.dy = dy.data();
  g.dx = in.ConsumeBool() ? dx.data() : nullptr;
  g.dw = in.ConsumeBool() ? dw.data() : nullptr;
  g.db = in.ConsumeBool() ? db.data() : nullptr;
  g.accumulate = in.ConsumeBool();
  g.accumulate_dx = in.ConsumeBool();
  g.threads = p.threads;
  accepted([&] { conv1d_backward_at(level, g); });
}

// A valid blob, then damage chosen by the fuzzer: truncate, extend, or flip a bit; `intact` says
// whether the bytes are still the saved ones.
std::vector<uint8_t> damaged(FuzzedDataProvider& in, const std::vector<uint8_t>& saved, bool& intact) {
  std::vector<uint8_t> blob = saved;
  switch (in.ConsumeIntegralInRange<int>(0, 3)) {
    case 1:
      blob.resize(in.ConsumeIntegralInRange<size_t>(0, blob.size()));
      break;
    case 2:
      blob.push_back(in.ConsumeIntegral<uint8_t>());
      break;
    case 3:
      if (!blob.empty()) {
        blob[in.ConsumeIntegralInRange<size_t>(0, blob.size() - 1)] ^= uint8_t(1u << in.ConsumeIntegralInRange(0, 7));
      }
      break;
    default:
      break;
  }
  intact = blob == saved;
  return blob;
}

void fuzz_tcn_stream(FuzzedDataProvider& in, SimdLevel level) {
  const int64_t kernel = dim(in, 1, 3), blocks = dim(in, 1, 2), input = dim(in, 1, 6), streams = dim(in, 1, 4);
  std::vector<std::vector<float>> store;
  std::vector<TcnBlockWeights> spec;
  int64_t c_in = input;
  for (int64_t i = 0; i < blocks; ++i) {
    TcnBlockWeights bw;
    bw.in_channels = c_in;
    bw.out_channels = dim(in, 1, 6);
    bw.dilation = int64_t{1} << i;
    auto add = [&](int64_t n) {
      store.push_back(matrix(in, n, Values::Tame));
      return store.back().data();
    };
    bw.w1 = add(bw.out_channels * c_in * kernel);
    bw.b1 = add(bw.out_channels);
    bw.w2 = add(bw.out_channels * bw.out_channels * kernel);
    bw.b2 = add(bw.out_channels);
    if (c_in != bw.out_channels) {
      bw.wd = add(bw.out_channels * c_in);
      bw.bd = add(bw.out_channels);
    }
    spec.push_back(bw);
    c_in = bw.out_channels;
  }
  TcnStreamer s(kernel, spec, streams);
  const int64_t steps = dim(in, 0, 6);
  std::vector<float> x(pos(streams * input)), y(pos(streams * s.output_size()));
  for (int64_t t = 0; t < steps; ++t) {
    x = matrix(in, streams * input, Values::Tame);
    s.step_at(level, x.data(), streams, nullptr, y.data(), in.ConsumeIntegralInRange<int>(0, 2));
  }
  const int64_t from = dim(in, 0, streams - 1), to = dim(in, 0, streams - 1);
  const std::vector<uint8_t> saved = s.save(from), before = s.save(to);
  bool intact = true;
  const std::vector<uint8_t> blob = damaged(in, saved, intact);
  const bool ok = accepted([&] { s.restore(to, blob.data(), blob.size()); });
  FUZZ_CHECK(ok == intact, kTarget);
  FUZZ_CHECK(s.save(to) == (ok ? saved : before), kTarget);
}

void fuzz_gru(FuzzedDataProvider& in, SimdLevel level, Values mode) {
  GruWeights w;
  w.layers = dim(in, 1, 2);
  w.input_size = dim(in, 1, 7);
  w.hidden_size = dim(in, 1, 9);
  std::vector<std::vector<float>> tensors;
  std::vector<const float*> ptrs;
  for (int64_t i = 0; i < 4 * w.layers; ++i) {
    w.tensors = nullptr;
    tensors.push_back(matrix(in, gru_tensor_size(w, i), Values::Tame));
  }
  for (auto& t : tensors) ptrs.push_back(t.data());
  w.tensors = ptrs.data();
  GruStreamStepParams p;
  p.w = w;
  p.streams = dim(in, -1, 5);
  p.rows = dim(in, -1, 5);
  std::vector<float> state = matrix(in, pos(p.streams) * w.layers * w.hidden_size, Values::Tame);
  std::vector<int32_t> active(pos(p.rows));
  for (auto& a : active) a = in.ConsumeIntegralInRange<int32_t>(-1, 5);
  std::vector<float> x = matrix(in, static_cast<int64_t>(pos(p.rows) * w.input_size), mode);
  std::vector<float> carry = matrix(in, static_cast<int64_t>(pos(p.rows)), mode);
  std::vector<float> y(pos(p.rows) * w.hidden_size);
  p.state = state.data();
  p.active = in.ConsumeBool() ? active.data() : nullptr;
  p.x = x.data();
  p.carry = in.ConsumeBool() ? carry.data() : nullptr;
  p.y = y.data();
  p.threads = in.ConsumeIntegralInRange<int>(0, 2);
  accepted([&] { gru_stream_step_at(level, p); });

  // State blobs: save one stream's state, damage it, restore into another buffer.
  const std::vector<float> one = matrix(in, w.layers * w.hidden_size, Values::Tame);
  std::vector<uint8_t> saved(gru_state_bytes(w));
  gru_state_save(w, one.data(), saved.data());
  bool intact = true;
  const std::vector<uint8_t> blob = damaged(in, saved, intact);
  std::vector<float> restored(one.size(), -7.f);
  const bool ok = accepted([&] { gru_state_restore(w, blob.data(), blob.size(), restored.data()); });
  FUZZ_CHECK(ok == intact, kTarget);
  for (size_t i = 0; i < one.size(); ++i) {
    const float want = ok ? one[i] : -7.f;
    FUZZ_CHECK(std::memcmp(&restored[i], &want, 4) == 0, kTarget);
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const SimdLevel level = pick_level(in);
  switch (in.ConsumeIntegralInRange<int>(0, 2)) {
    case 0:
      fuzz_conv(in, level, pick_values(in));
      break;
    case 1:
      accepted([&] { fuzz_tcn_stream(in, level); });
      break;
    default:
      fuzz_gru(in, level, pick_values(in));
      break;
  }
  return 0;
}
