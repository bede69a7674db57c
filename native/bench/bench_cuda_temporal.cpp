// bench_cuda's temporal section: the causal dilated conv1d (forward; forward + backward with dx, dW
// and db) at B = 32, T = 1024, C_in = C_out in {256, 64}, K = 3, d in {1, 4, 16}, and one TCN
// streaming step of 100,000 streams (4 blocks, C = 64, K = 3, d = 1, 2, 4, 8; the cell's time is
// one step, so events/s = 100,000 / seconds). Device pointers, data resident; the PyTorch peer is
// native/bench/torch_peer/temporal.py with the same case strings.
//   flops: 2 * B*T * C_out * C_in * K per pass; forward + backward = 3 passes (y, dx, dW).
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "bench_cuda.h"
#include "core/cuda/runtime.h"
#include "temporal/cuda/temporal_cuda.h"

namespace {

using simsage::cuda::DeviceArray;
using namespace simsage_bench;

DeviceArray<float> random_device(size_t n, float scale, uint32_t seed) {
  std::mt19937 g(seed);
  std::normal_distribution<float> nd(0.f, scale);
  std::vector<float> h(n);
  for (float& v : h) v = nd(g);
  return simsage::cuda::to_device(h.data(), n);
}

std::string conv_case(const char* what, int64_t B, int64_t T, int64_t C, int64_t K, int64_t d) {
  return std::string("conv1d ") + what + " b=" + std::to_string(B) + " t=" + std::to_string(T) +
         " c=" + std::to_string(C) + " k=" + std::to_string(K) + " d=" + std::to_string(d);
}

void conv_cells(const BenchArgs& args) {
  const int64_t B = args.quick ? 2 : 32, T = args.quick ? 64 : 1024, K = 3;
  const std::vector<int64_t> chans = args.quick ? std::vector<int64_t>{16} : std::vector<int64_t>{256, 64};
  for (int64_t C : chans) {
    const int64_t rows = B * T;
    DeviceArray<float> x = random_device(rows * C, 1.f, 1), w = random_device(C * C * K, 0.05f, 2);
    DeviceArray<float> b = random_device(C, 0.1f, 3), dy = random_device(rows * C, 1.f, 4);
    DeviceArray<float> y(rows * C), dx(rows * C), dw(C * C * K), db(C);
    for (int64_t d : {1, 4, 16}) {
      simsage::Conv1dParams p;
      p.batch = B;
      p.steps = T;
      p.in_channels = C;
      p.out_channels = C;
      p.kernel_size = K;
      p.dilation = d;
      p.x = x.data();
      p.w = w.data();
      p.b = b.data();
      p.y = y.data();
      simsage::Conv1dBackwardParams q;
      q.batch = B;
      q.steps = T;
      q.in_channels = C;
      q.out_channels = C;
      q.kernel_size = K;
      q.dilation = d;
      q.x = x.data();
      q.w = w.data();
      q.dy = dy.data();
      q.dx = dx.data();
      q.dw = dw.data();
      q.db = db.data();
      const double pass = 2.0 * rows * C * C * K;
      const double io = 4.0 * (2 * rows * C + C * C * K);  // x in, y out, W
      const double fwd = time_device(args, [&] { simsage::temporal::cuda::conv1d_forward_device(p); });
      emit("temporal", conv_case("fwd", B, T, C, K, d), fwd, pass, io);
      const double both = time_device(args, [&] {
        simsage::temporal::cuda::conv1d_forward_device(p);
        simsage::temporal::cuda::conv1d_backward_device(q);
      });
      emit("temporal", conv_case("fwd+bwd", B, T, C, K, d), both, 3 * pass, 0);
    }
  }
}

void stream_cell(const BenchArgs& args) {
  const int64_t S = args.quick ? 1000 : 100000, C = 64, K = 3;
  const int64_t dils[4] = {1, 2, 4, 8};
  std::vector<std::vector<float>> host;  // the weights' host copies (the streamer uploads them)
  std::mt19937 g(5);
  std::normal_distribution<float> nd(0.f, 1.f / std::sqrt(float(C * K)));
  host.reserve(16);  // (pointers into it stay valid)
  auto tensor = [&](int64_t n) {
    host.emplace_back(static_cast<size_t>(n));
    for (float& v : host.back()) v = nd(g);
    return host.back().data();
  };
  std::vector<simsage::TcnBlockWeights> blocks;
  for (int64_t d : dils) {
    simsage::TcnBlockWeights bw;
    bw.in_channels = C;
    bw.out_channels = C;
    bw.dilation = d;
    bw.w1 = tensor(C * C * K);
    bw.b1 = tensor(C);
    bw.w2 = tensor(C * C * K);
    bw.b2 = tensor(C);
    blocks.push_back(bw);
  }
  simsage::temporal::cuda::TcnStreamer st(K, blocks, S);
  DeviceArray<float> x = random_device(S * C, 1.f, 6), y(S * C);
  for (int i = 0; i < 20; ++i) st.step_device(x.data(), S, nullptr, y.data());  // fill the rings
  const double s = time_device(args, [&] { st.step_device(x.data(), S, nullptr, y.data()); });
  const double flops = 4 * 2 * 2.0 * S * C * C * K;
  emit("temporal",
       "tcn stream step streams=" + std::to_string(S) + " c=" + std::to_string(C) + " blocks=4 k=" + std::to_string(K),
       s, flops, 0);
  std::fprintf(stderr, "temporal    tcn stream: %.3g events/s\n", double(S) / s);
}

RegisterSection reg("temporal", [](const BenchArgs& a) {
  conv_cells(a);
  stream_cell(a);
});

}  // namespace
