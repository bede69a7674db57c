// The temporal family's CUDA twins (temporal/cuda/temporal_cuda.h) against the CPU: the causal conv
// forward and backward (host and device forms) against the double reference at awkward shapes
// (C 1, 3, 17, 129; K 1, 2, 3; d 1, 2, 5; T 1, 7, 100 including T below the receptive field; B 1, 3;
// an empty batch; a long sequence whose dW reduction spans many row splits), every dx/dw/db
// combination and both accumulate flags; dispatch through the public entry points; the CUDA
// streamer equal to the CPU streamer over steps with inactive streams and resets, states saved on
// one backend restored on the other; the CPU's coded errors for bad input; ERR_SIMSAGE_OUT_OF_MEMORY
// for an impossible allocation. Tolerance: |cuda - reference| <= 1e-4 * max(1, max |reference|) per
// output array (FP32 sums of at most a few thousand terms of N(0, 1) products).
#include <algorithm>
#include <cmath>
#include <cstdio>
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
constexpr int64_t kDims[] = {1, 3, 17, 129};
constexpr int64_t kTaps[] = {1, 2, 3};
constexpr int64_t kDils[] = {1, 2, 5};
struct Seq {
  int64_t batch, steps;
};
constexpr Seq kSeqs[] = {{1, 1}, {3, 7}, {1, 100}, {3, 100}};

struct Shape {
  int64_t B, T, I, O, K, d;
};

Conv1dParams fwd_params(const Shape& s, const Vec& x, const Vec& w, const Vec* b, Vec& y, bool relu) {
  Conv1dParams p;
  p.batch = s.B;
  p.steps = s.T;
  p.in_channels = s.I;
  p.out_channels = s.O;
  p.kernel_size = s.K;
  p.dilation = s.d;
  p.x = x.data();
  p.w = w.data();
  p.b = b ? b->data() : nullptr;
  p.y = y.data();
  p.relu = relu;
  return p;
}

void check_forward(const Shape& s, bool bias, bool relu) {
  Vec x = randv(s.B * s.T * s.I), w = randv(s.O * s.I * s.K), b = randv(s.O);
  Vec want(s.B * s.T * s.O), got(s.B * s.T * s.O, 12345.f);
  conv1d_reference(fwd_params(s, x, w, bias ? &b : nullptr, want, relu));
  tc::conv1d_forward(fwd_params(s, x, w, bias ? &b : nullptr, got, relu));
  const double e = rel_err(got, want);
  CHECK(e <= kTol, "forward B%lld T%lld I%lld O%lld K%lld d%lld bias %d relu %d: error %g", (long long)s.B,
        (long long)s.T, (long long)s.I, (long long)s.O, (long long)s.K, (long long)s.d, bias, relu, e);
}

// mask bits: 1 dx, 2 dw, 4 db.
void check_backward(const Shape& s, int mask, bool accumulate, bool accumulate_dx) {
  const int64_t rows = s.B * s.T;
  Vec x = randv(rows * s.I), w = randv(s.O * s.I * s.K), dy = randv(rows * s.O);
  Vec dx0 = randv(rows * s.I), dw0 = randv(s.O * s.I * s.K), db0 = randv(s.O);  // the values accumulated onto
  Vec dx[2] = {dx0, dx0}, dw[2] = {dw0, dw0}, db[2] = {db0, db0};
  for (int i = 0; i < 2; ++i) {
    Conv1dBackwardParams q;
    q.batch = s.B;
    q.steps = s.T;
    q.in_channels = s.I;
    q.out_channels = s.O;
    q.kernel_size = s.K;
    q.dilation = s.d;
    q.x = x.data();
    q.w = w.data();
    q.dy = dy.data();
    q.dx = mask & 1 ? dx[i].data() : nullptr;
    q.dw = mask & 2 ? dw[i].data() : nullptr;
    q.db = mask & 4 ? db[i].data() : nullptr;
    q.accumulate = accumulate;
    q.accumulate_dx = accumulate_dx;
    if (i == 0) {
      conv1d_backward_reference(q);
    } else {
      tc::conv1d_backward(q);
    }
  }
  const char* names[3] = {"dx", "dw", "db"};
  const Vec* pairs[3][2] = {{&dx[0], &dx[1]}, {&dw[0], &dw[1]}, {&db[0], &db[1]}};
  const Vec* before[3] = {&dx0, &dw0, &db0};
  for (int j = 0; j < 3; ++j) {
    if (mask & (1 << j)) {
      const double e = rel_err(*pairs[j][1], *pairs[j][0]);
      CHECK(e <= kTol, "backward %s B%lld T%lld I%lld O%lld K%lld d%lld acc %d acc_dx %d: error %g", names[j],
            (long long)s.B, (long long)s.T, (long long)s.I, (long long)s.O, (long long)s.K, (long long)s.d, accumulate,
            accumulate_dx, e);
    } else {
      CHECK(*pairs[j][1] == *before[j], "backward %s untouched when null", names[j]);
    }
  }
}

}  // namespace

TEST_CASE(cuda_conv_forward_vs_reference) {
  int i = 0;
  for (int64_t I : kDims)
    for (int64_t O : kDims)
      for (int64_t K : kTaps)
        for (int64_t d : kDils) {
          const Seq q = kSeqs[i % 4];
          check_forward({q.batch, q.steps, I, O, K, d}, i % 2 == 0, (i / 2) % 2 == 1);
          ++i;
        }
  check_forward({2, 1000, 40, 70, 3, 16}, true, true);  // many row tiles
  check_forward({2, 3, 5, 6, 3, 5}, true, false);       // T below the receptive field (11)
  check_forward({3, 100, 64, 32, 3, 4}, true, true);    // channels multiples of 4: 16-byte loads
  check_forward({2, 7, 8, 132, 2, 3}, false, false);
}

TEST_CASE(cuda_conv_backward_vs_reference) {
  int i = 0;
  for (int64_t I : kDims)
    for (int64_t O : kDims)
      for (int64_t K : kTaps)
        for (int64_t d : kDils) {
          const Seq q = kSeqs[(i / 3) % 4];
          check_backward({q.batch, q.steps, I, O, K, d}, 1 + i % 7, (i / 7) % 2 == 1, (i / 14) % 2 == 1);
          ++i;
        }
  for (int mask = 0; mask < 8; ++mask) check_backward({3, 7, 3, 17, 3, 2}, mask, mask % 2 == 0, mask % 3 == 0);
  check_backward({4, 1000, 40, 70, 3, 4}, 7, false, false);  // dW over many row splits
  check_backward({1, 5000, 129, 3, 2, 5}, 7, true, true);
  check_backward({3, 100, 64, 32, 3, 4}, 7, false, true);  // channels multiples of 4: 16-byte loads
  check_backward({2, 7, 132, 8, 2, 3}, 7, true, false);
}

TEST_CASE(cuda_conv_empty_batch) {
  const Shape s{0, 5, 3, 4, 2, 1};
  Vec x, w = randv(4 * 3 * 2), dy, dw(24, 7.f), db(4, 7.f);
  Vec y;
  Conv1dParams p = fwd_params(s, x, w, nullptr, y, false);
  tc::conv1d_forward(p);  // nothing to do
  Conv1dBackwardParams q;
  q.batch = 0;
  q.steps = 5;
  q.in_channels = 3;
  q.out_channels = 4;
  q.kernel_size = 2;
  q.w = w.data();
  q.dw = dw.data();
  q.db = db.data();
  q.accumulate = true;
  tc::conv1d_backward(q);
  CHECK(dw == Vec(24, 7.f) && db == Vec(4, 7.f), "accumulate over no rows leaves dw, db");
  q.accumulate = false;
  tc::conv1d_backward(q);
  CHECK(dw == Vec(24, 0.f) && db == Vec(4, 0.f), "no rows: dw, db zero");
}

TEST_CASE(cuda_conv_device_form_equals_host_form) {
  const Shape s{3, 50, 17, 33, 3, 2};
  const int64_t rows = s.B * s.T;
  Vec x = randv(rows * s.I), w = randv(s.O * s.I * s.K), b = randv(s.O), dy = randv(rows * s.O);
  Vec y(rows * s.O), yd(rows * s.O), dx(rows * s.I), dxd(rows * s.I), dw(w.size()), dwd(w.size());
  tc::conv1d_forward(fwd_params(s, x, w, &b, y, true));
  auto X = simsage::cuda::to_device(x.data(), x.size()), W = simsage::cuda::to_device(w.data(), w.size());
  auto Bi = simsage::cuda::to_device(b.data(), b.size()), DY = simsage::cuda::to_device(dy.data(), dy.size());
  simsage::cuda::DeviceArray<float> Y(yd.size()), DX(dxd.size()), DW(dwd.size());
  Conv1dParams p = fwd_params(s, x, w, &b, yd, true);
  p.x = X.data();
  p.w = W.data();
  p.b = Bi.data();
  p.y = Y.data();
  tc::conv1d_forward_device(p);
  Y.download(yd.data(), yd.size());
  CHECK(y == yd, "forward: device form == host form");
  Conv1dBackwardParams q;
  q.batch = s.B;
  q.steps = s.T;
  q.in_channels = s.I;
  q.out_channels = s.O;
  q.kernel_size = s.K;
  q.dilation = s.d;
  q.x = x.data();
  q.w = w.data();
  q.dy = dy.data();
  q.dx = dx.data();
  q.dw = dw.data();
  tc::conv1d_backward(q);
  q.x = X.data();
  q.w = W.data();
  q.dy = DY.data();
  q.dx = DX.data();
  q.dw = DW.data();
  tc::conv1d_backward_device(q);
  DX.download(dxd.data(), dxd.size());
  DW.download(dwd.data(), dwd.size());
  CHECK(dx == dxd && dw == dwd, "backward: device form == host form (deterministic)");
}

TEST_CASE(cuda_conv_dispatch_reports_backend) {
  if (!backend_status().cuda_available) {  // (the CPU emulation of native/tests/cuda_emu)
    std::printf("  dispatch not checked: no device registered\n");
    return;
  }
  const Shape s{2, 9, 3, 5, 3, 2};
  Vec x = randv(s.B * s.T * s.I), w = randv(s.O * s.I * s.K), y(s.B * s.T * s.O), yc(y.size()), dy = randv(y.size());
  Vec dx(x.size());
  set_preferred_backend(Backend::Cuda);
  CHECK(conv1d_forward(fwd_params(s, x, w, nullptr, y, false)) == Backend::Cuda, "forward ran on cuda");
  tc::conv1d_forward(fwd_params(s, x, w, nullptr, yc, false));
  CHECK(y == yc, "dispatched forward == CUDA twin");
  Conv1dBackwardParams q;
  q.batch = s.B;
  q.steps = s.T;
  q.in_channels = s.I;
  q.out_channels = s.O;
  q.kernel_size = s.K;
  q.dilation = s.d;
  q.w = w.data();
  q.dy = dy.data();
  q.dx = dx.data();
  CHECK(conv1d_backward(q) == Backend::Cuda, "backward ran on cuda");
  set_preferred_backend(Backend::Cpu);
  CHECK(conv1d_forward(fwd_params(s, x, w, nullptr, y, false)) == Backend::Cpu, "forced cpu");
  CHECK(conv1d_backward(q) == Backend::Cpu, "forced cpu (backward)");
  CHECK(rel_err(yc, y) <= kTol, "cpu and cuda agree");
  set_preferred_backend(Backend::Cuda);
}

TEST_CASE(cuda_conv_bad_input_gets_cpu_codes) {
  Vec x(64, 1.f), w(64, 1.f), y(64);
  Conv1dParams p = fwd_params({1, 2, 2, 2, 0, 1}, x, w, nullptr, y, false);
  EXPECT_THROW_CODE(tc::conv1d_forward(p), ErrorCode::InvalidArgument);
  p.kernel_size = 2;
  p.dilation = 0;
  EXPECT_THROW_CODE(tc::conv1d_forward(p), ErrorCode::InvalidArgument);
  p.dilation = 1;
  p.in_channels = 0;
  EXPECT_THROW_CODE(tc::conv1d_forward(p), ErrorCode::DimMismatch);
  p.in_channels = 2;
  p.batch = -1;
  EXPECT_THROW_CODE(tc::conv1d_forward_device(p), ErrorCode::DimMismatch);
  p.batch = 1;
  p.x = nullptr;
  EXPECT_THROW_CODE(tc::conv1d_forward(p), ErrorCode::InvalidArgument);
  Conv1dBackwardParams q;
  q.batch = 1;
  q.steps = 2;
  q.in_channels = 2;
  q.out_channels = 2;
  q.kernel_size = 2;
  q.dy = y.data();
  q.dx = x.data();  // dx without w
  EXPECT_THROW_CODE(tc::conv1d_backward(q), ErrorCode::InvalidArgument);
  q.dx = nullptr;
  q.dw = w.data();  // dw without x
  EXPECT_THROW_CODE(tc::conv1d_backward_device(q), ErrorCode::InvalidArgument);
}

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

SIMSAGE_CUDA_TEST_MAIN("temporal CUDA twins (conv1d, TCN streamer)")
