// The temporal family's CUDA TcnStreamer (temporal/cuda/temporal_cuda.h) against the CPU streamer:
// equal outputs (tolerance) over steps with inactive streams, single and full resets, kernel sizes
// 1, 2, 3 with and without projections; states saved on one backend restored on the other (headers
// byte for byte, ring floats within tolerance, the continued streams equal); step_device equal to
// step; the CPU's coded errors for bad steps, bad blobs and bad constructor input;
// ERR_SIMSAGE_OUT_OF_MEMORY for an impossible allocation. Tolerance: |cuda - cpu| <= 1e-4 *
// max(1, max |cpu|) per step.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "core/error.h"
#include "cuda_fixtures.h"
#include "fixtures.h"
#include "temporal/temporal.h"

#if SIMSAGE_WITH_CUDA
#include "core/cuda/runtime.h"
#include "temporal/cuda/temporal_cuda.h"

using namespace simsage;
using namespace simsage_test;
namespace tc = simsage::temporal::cuda;

namespace {
constexpr double kTol = 1e-4;
}  // namespace

namespace {

// A random TCN's weights (scaled 1/sqrt(fan-in) so activations stay O(1) over blocks).
struct Tcn {
  int64_t K;
  std::vector<int64_t> chans, dils;
  std::vector<Vec> w1, b1, w2, b2, wd, bd;
  std::vector<TcnBlockWeights> weights() const {
    std::vector<TcnBlockWeights> out;
    for (size_t i = 0; i < dils.size(); ++i) {
      TcnBlockWeights b;
      b.in_channels = chans[i];
      b.out_channels = chans[i + 1];
      b.dilation = dils[i];
      b.w1 = w1[i].data();
      b.b1 = b1[i].data();
      b.w2 = w2[i].data();
      b.b2 = b2[i].data();
      b.wd = chans[i] != chans[i + 1] ? wd[i].data() : nullptr;
      b.bd = chans[i] != chans[i + 1] ? bd[i].data() : nullptr;
      out.push_back(b);
    }
    return out;
  }
};

Tcn make_tcn(int64_t K, std::vector<int64_t> chans, std::vector<int64_t> dils) {
  Tcn t{K, chans, dils, {}, {}, {}, {}, {}, {}};
  for (size_t i = 0; i < dils.size(); ++i) {
    const int64_t I = chans[i], O = chans[i + 1];
    t.w1.push_back(randv(O * I * K, 1.f / std::sqrt(float(I * K))));
    t.b1.push_back(randv(O, 0.1f));
    t.w2.push_back(randv(O * O * K, 1.f / std::sqrt(float(O * K))));
    t.b2.push_back(randv(O, 0.1f));
    t.wd.push_back(randv(O * I, 1.f / std::sqrt(float(I))));
    t.bd.push_back(randv(O, 0.1f));
  }
  return t;
}

double step_err(const Vec& got, const Vec& want) { return rel_err(got, want); }

}  // namespace

TEST_CASE(cuda_stream_equals_cpu_stream) {
  struct Config {
    int64_t K;
    std::vector<int64_t> chans, dils;
  };
  const Config configs[] = {{3, {5, 8, 8, 3}, {1, 2, 5}}, {2, {17, 17, 4}, {3, 1}}, {1, {3, 6}, {1}}};
  for (const Config& cf : configs) {
    Tcn tcn = make_tcn(cf.K, cf.chans, cf.dils);
    const int64_t S = 7, I = cf.chans.front(), O = cf.chans.back();
    simsage::TcnStreamer cpu(cf.K, tcn.weights(), S);
    tc::TcnStreamer gpu(cf.K, tcn.weights(), S);
    CHECK(gpu.state_size() == cpu.state_size() && gpu.fingerprint() == cpu.fingerprint(), "same shape");
    std::bernoulli_distribution coin(0.6);
    std::uniform_int_distribution<int> pick(0, int(S) - 1);
    double worst = 0;
    for (int round = 0; round < 60; ++round) {
      std::vector<int32_t> active;
      for (int32_t s = 0; s < S; ++s)
        if (coin(rng())) active.push_back(s);
      std::shuffle(active.begin(), active.end(), rng());
      const bool all = round % 10 == 0;
      if (!all && active.empty()) continue;  // (no indices and no rows: not "every stream")
      const int64_t rows = all ? S : static_cast<int64_t>(active.size());
      Vec x = randv(rows * I), ya(rows * O), yb(rows * O, 99.f);
      cpu.step(x.data(), rows, all ? nullptr : active.data(), ya.data());
      gpu.step(x.data(), rows, all ? nullptr : active.data(), yb.data());
      worst = std::max(worst, step_err(yb, ya));
      if (round % 17 == 16) {
        const int s = pick(rng());
        cpu.reset(s);
        gpu.reset(s);
      }
      if (round == 45) {
        cpu.reset_all();
        gpu.reset_all();
      }
    }
    CHECK(worst <= kTol, "K %lld: cuda streamer vs cpu streamer worst %g", (long long)cf.K, worst);
    for (int64_t s = 0; s < S; ++s) CHECK(gpu.position(s) == cpu.position(s), "position of stream %lld", (long long)s);
  }
}

TEST_CASE(cuda_stream_state_crosses_backends) {
  Tcn tcn = make_tcn(3, {4, 6, 6}, {1, 3});
  const int64_t S = 3, I = 4, O = 6;
  const size_t header = 36;
  simsage::TcnStreamer cpu(3, tcn.weights(), S), cpu2(3, tcn.weights(), S);
  tc::TcnStreamer gpu(3, tcn.weights(), S), gpu2(3, tcn.weights(), S);
  for (int t = 0; t < 9; ++t) {  // 9 steps: the rings (6 rows) have wrapped
    Vec x = randv(S * I), y(S * O);
    cpu.step(x.data(), S, nullptr, y.data());
    gpu.step(x.data(), S, nullptr, y.data());
  }
  const std::vector<uint8_t> from_gpu = gpu.save(1), from_cpu = cpu.save(1);
  CHECK(from_gpu.size() == from_cpu.size(), "blob sizes");
  CHECK(std::memcmp(from_gpu.data(), from_cpu.data(), header) == 0, "headers byte for byte");
  double worst = 0;
  for (size_t i = header; i + 4 < from_gpu.size(); i += 4) {
    float a, b;
    std::memcpy(&a, &from_gpu[i], 4);
    std::memcpy(&b, &from_cpu[i], 4);
    worst = std::max(worst, double(std::fabs(a - b)) / std::max(1.f, std::fabs(b)));
  }
  CHECK(worst <= kTol, "ring contents within tolerance: %g", worst);
  cpu2.restore(0, from_gpu.data(), from_gpu.size());  // cuda -> cpu
  gpu2.restore(2, from_cpu.data(), from_cpu.size());  // cpu -> cuda
  CHECK(cpu2.position(0) == 9 && gpu2.position(2) == 9, "positions restored");
  const int32_t one = 1, zero = 0, two = 2;
  worst = 0;
  for (int t = 0; t < 8; ++t) {
    Vec x = randv(I), ya(O), yb(O), yc(O);
    cpu.step(x.data(), 1, &one, ya.data());
    cpu2.step(x.data(), 1, &zero, yb.data());
    gpu2.step(x.data(), 1, &two, yc.data());
    worst = std::max({worst, step_err(yb, ya), step_err(yc, ya)});
  }
  CHECK(worst <= kTol, "restored streams continue as the original: %g", worst);
  // A state saved by the CUDA streamer restores on the CUDA streamer unchanged (exact).
  gpu2.restore(0, from_gpu.data(), from_gpu.size());
  CHECK(gpu2.save(0) == from_gpu, "cuda save -> restore -> save is exact");
}

TEST_CASE(cuda_stream_device_form_and_bad_input) {
  Tcn tcn = make_tcn(2, {4, 6, 6}, {1, 3});
  const int64_t S = 4, I = 4, O = 6;
  tc::TcnStreamer a(2, tcn.weights(), S), b(2, tcn.weights(), S);
  const std::vector<int32_t> active = {3, 0};
  auto A = simsage::cuda::to_device(active.data(), active.size());
  simsage::cuda::DeviceArray<float> X(2 * I), Y(2 * O);
  for (int t = 0; t < 5; ++t) {
    Vec x = randv(2 * I), ya(2 * O), yb(2 * O);
    a.step(x.data(), 2, active.data(), ya.data());
    X.upload(x.data(), x.size());
    b.step_device(X.data(), 2, A.data(), Y.data());
    Y.download(yb.data(), yb.size());
    CHECK(ya == yb, "step_device == step at %d", t);
  }
  Vec x(S * I), y(S * O);
  const int32_t dup[2] = {1, 1}, out_of_range[1] = {4};
  EXPECT_THROW_CODE(a.step(x.data(), S + 1, nullptr, y.data()), ErrorCode::DimMismatch);
  EXPECT_THROW_CODE(a.step(x.data(), 2, nullptr, y.data()), ErrorCode::DimMismatch);
  EXPECT_THROW_CODE(a.step(x.data(), 2, dup, y.data()), ErrorCode::InvalidArgument);
  EXPECT_THROW_CODE(a.step(x.data(), 1, out_of_range, y.data()), ErrorCode::InvalidArgument);
  EXPECT_THROW_CODE(a.step(nullptr, S, nullptr, y.data()), ErrorCode::InvalidArgument);
  EXPECT_THROW_CODE(a.position(-1), ErrorCode::InvalidArgument);
  EXPECT_THROW_CODE(a.reset(S), ErrorCode::InvalidArgument);
  std::vector<uint8_t> blob = a.save(0);
  EXPECT_THROW_CODE(b.restore(0, blob.data(), blob.size() - 1), ErrorCode::CorruptFile);
  EXPECT_THROW_CODE(b.restore(0, blob.data(), 10), ErrorCode::CorruptFile);
  std::vector<uint8_t> bad = blob;
  bad[bad.size() / 2] ^= 0x10;
  EXPECT_THROW_CODE(b.restore(0, bad.data(), bad.size()), ErrorCode::CorruptFile);
  Tcn other = make_tcn(2, {4, 6, 6}, {1, 4});
  const std::vector<uint8_t> foreign = simsage::TcnStreamer(2, other.weights(), 1).save(0);
  EXPECT_THROW_CODE(b.restore(0, foreign.data(), foreign.size()), ErrorCode::StateMismatch);
  EXPECT_THROW_CODE(b.restore(S, blob.data(), blob.size()), ErrorCode::InvalidArgument);
  EXPECT_THROW_CODE(tc::TcnStreamer(0, tcn.weights(), 2), ErrorCode::InvalidArgument);
  EXPECT_THROW_CODE(tc::TcnStreamer(2, tcn.weights(), 0), ErrorCode::InvalidArgument);
  std::vector<TcnBlockWeights> broken = tcn.weights();
  broken[1].in_channels = 5;
  EXPECT_THROW_CODE(tc::TcnStreamer(2, broken, 2), ErrorCode::DimMismatch);
}

TEST_CASE(cuda_impossible_allocation_is_coded) {
  // 400,000 streams x 131,072 floats of history (two rings of 1,024 rows x 64 channels): 210 GB.
  Tcn tcn = make_tcn(2, {64, 64}, {1024});
  EXPECT_THROW_CODE(tc::TcnStreamer(2, tcn.weights(), 400000), ErrorCode::OutOfMemory);
  tc::TcnStreamer ok(2, tcn.weights(), 2);  // the device still works afterwards
  Vec x = randv(2 * 64), y(2 * 64);
  ok.step(x.data(), 2, nullptr, y.data());
  CHECK(ok.position(1) == 1, "a streamer after the failed allocation steps");
}

#endif  // SIMSAGE_WITH_CUDA

SIMSAGE_CUDA_TEST_MAIN("temporal CUDA TcnStreamer twin")
