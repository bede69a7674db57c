// The temporal family's CUDA conv twins (temporal/cuda/temporal_cuda.h) against the CPU: the causal
// conv forward and backward (host and device forms) against the double reference at awkward shapes
// (C 1, 3, 17, 129; K 1, 2, 3; d 1, 2, 5; T 1, 7, 100 including T below the receptive field; B 1, 3;
// an empty batch; a long sequence whose dW reduction spans many row splits; channels multiples of 4
// for the 16-byte load paths), every dx/dw/db combination and both accumulate flags; dispatch
// through the public entry points; the CPU's coded errors for bad input. (The streamer:
// test_cuda_temporal_stream.cpp.) Tolerance: |cuda - reference| <= 1e-4 * max(1, max |reference|)
// per output array (FP32 sums of at most a few thousand terms of N(0, 1) products).
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

#endif  // SIMSAGE_WITH_CUDA

SIMSAGE_CUDA_TEST_MAIN("temporal CUDA conv1d twins")
