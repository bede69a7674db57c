// CUDA causal dilated conv1d, forward (temporal_cuda.h): W packed per call into the GEMM's tap-major
// layout, then one implicit-GEMM launch over B*T rows x C_out (conv_gemm.cuh). Also the GEMM kernel
// and W packer that conv_backward.cu (dx) and stream.cu (the streamer's per-conv GEMMs) launch.
#include <cstdint>

#include "core/cuda/check.cuh"
#include "core/cuda/runtime.h"
#include "core/error.h"
#include "temporal/cuda/conv_gemm.cuh"
#include "temporal/cuda/temporal_cuda.h"

namespace simsage {
namespace temporal {
namespace cuda {

namespace {

using simsage::cuda::DeviceArray;

// Grid: (ceil(rows / kBM), ceil(N / kBNt)); 2 * kBNt threads (16 thread rows x kBNt / 8 thread
// columns, 8 x 8 outputs each). kVecA / kVecB: 16-byte loads of in / wk (J / N multiples of 4,
// 16-byte aligned bases). Shared tiles are double-buffered: step s+1 is stored into the other
// buffer while step s is multiplied, one barrier per step.
template <int kBNt, bool kVecA, bool kVecB>
__global__ void __launch_bounds__(2 * kBNt, 256 / kBNt) conv_gemm_kernel(ConvGemmArgs a) {
  constexpr int kThr = 2 * kBNt, kTx = kBNt / 8;
  constexpr int kPerA = kBK * kBM / kThr;  // A floats per thread and step: 4 (kBNt 128) or 8 (64)
  constexpr int kSplitA = kBK / kPerA;     // threads per A row
  __shared__ __align__(16) float As[2][kBK][kAs];
  __shared__ __align__(16) float Bs[2][kBK][kBNt];
  const int tid = threadIdx.x, tx = tid % kTx, ty = tid / kTx;
  const int64_t m0 = int64_t(blockIdx.x) * kBM;
  const int n0 = blockIdx.y * kBNt;
  // A loader: row lr of the tile, reduction columns lc0 .. lc0 + kPerA - 1 of the step.
  const int lr = tid / kSplitA, lc0 = (tid % kSplitA) * kPerA;
  const int64_t r = m0 + lr;
  const bool row_ok = r < a.rows;
  const int64_t t = row_ok ? r % a.steps : 0;
  // B loader: reduction row bk of the step, columns bc0 .. bc0 + 3 of the tile.
  const int bk = tid / (kBNt / 4), bc0 = (tid % (kBNt / 4)) * 4;
  const int jt = (a.J + kBK - 1) / kBK;  // steps per tap
  const int ntiles = a.taps * jt;
  float4 ra[kPerA / 4], rb;
  auto load = [&](int tile) {
    const int k = tile / jt, j0 = (tile - k * jt) * kBK;
    const int64_t shift = int64_t(a.sign) * (a.taps - 1 - k) * a.dilation;
    const bool ok = row_ok && t + shift >= 0 && t + shift < a.steps;
#pragma unroll
    for (int h = 0; h < kPerA / 4; ++h) {
      const int j = j0 + lc0 + 4 * h;
      ra[h] = load4<kVecA>(a.in + ((ok ? r + shift : 0) * a.J + j), ok && j < a.J, a.J - j);
    }
    const int jb = j0 + bk, n = n0 + bc0;
    rb = load4<kVecB>(a.wk + ((int64_t(k) * a.J + (jb < a.J ? jb : 0)) * a.N + n), jb < a.J && n < a.N, a.N - n);
  };
  auto store = [&](int buf) {
#pragma unroll
    for (int h = 0; h < kPerA / 4; ++h) {
      As[buf][lc0 + 4 * h + 0][lr] = ra[h].x;
      As[buf][lc0 + 4 * h + 1][lr] = ra[h].y;
      As[buf][lc0 + 4 * h + 2][lr] = ra[h].z;
      As[buf][lc0 + 4 * h + 3][lr] = ra[h].w;
    }
    *reinterpret_cast<float4*>(&Bs[buf][bk][bc0]) = rb;
  };
  float acc[8][8];
#pragma unroll
  for (int i = 0; i < 8; ++i)
#pragma unroll
    for (int j = 0; j < 8; ++j) acc[i][j] = 0.f;
  if (ntiles > 0) {
    load(0);
    store(0);
  }
  __syncthreads();
  for (int tile = 0; tile < ntiles; ++tile) {
    const int cur = tile & 1;
    if (tile + 1 < ntiles) load(tile + 1);
    tile_fma<kBNt>(As[cur], Bs[cur], acc, tx, ty);
    if (tile + 1 < ntiles) store(cur ^ 1);  // (last read before the previous barrier)
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const int64_t row = m0 + tile_index(i, ty);
    if (row >= a.rows) continue;
#pragma unroll
    for (int j = 0; j < 8; ++j) {
      const int n = n0 + tile_col<kBNt>(j, tx);
      if (n >= a.N) continue;
      float v = acc[i][j];
      if (a.bias) v += a.bias[n];
      if (a.relu) v = v > 0.f ? v : 0.f;
      float* o = a.out + row * a.N + n;
      *o = a.accumulate ? *o + v : v;
    }
  }
}

// One thread per element of W (C_out x C_in x K).
__global__ void pack_w_kernel(const float* __restrict__ w, float* __restrict__ wk, int64_t cin, int64_t cout,
                              int64_t taps, bool for_dx) {
  const int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (e >= cout * cin * taps) return;
  const int64_t o = e / (cin * taps), rem = e - o * cin * taps, c = rem / taps, k = rem - c * taps;
  if (for_dx) {
    wk[(k * cout + o) * cin + c] = w[e];
  } else {
    wk[(k * cin + c) * cout + o] = w[e];
  }
}

// The packed W of the calling thread's last device-form call (grown, never shrunk).
DeviceArray<float>& wk_scratch() {
  thread_local DeviceArray<float> v;
  return v;
}

constexpr int64_t kMaxChannels = int64_t(1) << 22;  // ceil(N / kBN) stays within gridDim.y (65535)
constexpr int64_t kMaxReduction = int64_t(1) << 30;

}  // namespace

void launch_conv_gemm(const ConvGemmArgs& a) {
  const bool va = a.J % 4 == 0 && aligned16(a.in), vb = a.N % 4 == 0 && aligned16(a.wk);
  const unsigned row_blocks = unsigned((a.rows + kBM - 1) / kBM);
  if (a.N <= 64) {
    void (*kernel)(ConvGemmArgs) = va ? (vb ? conv_gemm_kernel<64, true, true> : conv_gemm_kernel<64, true, false>)
                                      : (vb ? conv_gemm_kernel<64, false, true> : conv_gemm_kernel<64, false, false>);
    SIMSAGE_CUDA_LAUNCH(dim3(row_blocks, 1), 128, 0, kernel)(a);
  } else {
    void (*kernel)(ConvGemmArgs) = va ? (vb ? conv_gemm_kernel<kBN, true, true> : conv_gemm_kernel<kBN, true, false>)
                                      : (vb ? conv_gemm_kernel<kBN, false, true> : conv_gemm_kernel<kBN, false, false>);
    SIMSAGE_CUDA_LAUNCH(dim3(row_blocks, unsigned((a.N + kBN - 1) / kBN)), kThreads, 0, kernel)(a);
  }
  SIMSAGE_CUDA_LAUNCHED("conv_gemm_kernel");
}

void launch_pack_w(const float* w, float* wk, int64_t cin, int64_t cout, int64_t taps, bool for_dx) {
  const int64_t n = cout * cin * taps;
  if (n == 0) return;
  SIMSAGE_CUDA_LAUNCH(simsage::cuda::blocks_for(n, 256), 256, 0, pack_w_kernel)(w, wk, cin, cout, taps, for_dx);
  SIMSAGE_CUDA_LAUNCHED("pack_w_kernel");
}

bool conv1d_supported(int64_t batch, int64_t steps, int64_t in_channels, int64_t out_channels, int64_t kernel_size) {
  const int64_t rows = batch * steps;  // conv1d_check bounds it by 2^40
  // K * C <= 2^30 keeps the kernels' int tile counts (K * ceil(C / kBK)) in range.
  return in_channels <= kMaxChannels && out_channels <= kMaxChannels && in_channels * kernel_size <= kMaxReduction &&
         out_channels * kernel_size <= kMaxReduction && (rows + kBM - 1) / kBM < (int64_t(1) << 31);
}

void conv1d_forward_device(const Conv1dParams& p) {
  conv1d_check(p);
  const int64_t rows = p.batch * p.steps;
  if (rows == 0) return;
  need(conv1d_supported(p.batch, p.steps, p.in_channels, p.out_channels, p.kernel_size), ErrorCode::InvalidArgument,
       "conv1d_forward (cuda)", "channels or rows beyond the CUDA kernel's limits");
  const int64_t cin = p.in_channels, cout = p.out_channels, taps = p.kernel_size;
  DeviceArray<float>& wk = wk_scratch();
  wk.reserve(static_cast<size_t>(cout * cin * taps));
  launch_pack_w(p.w, wk.data(), cin, cout, taps, false);
  ConvGemmArgs a;
  a.in = p.x;
  a.wk = wk.data();
  a.bias = p.b;
  a.out = p.y;
  a.rows = rows;
  a.steps = p.steps;
  a.dilation = p.dilation;
  a.J = static_cast<int>(cin);
  a.N = static_cast<int>(cout);
  a.taps = static_cast<int>(taps);
  a.sign = -1;
  a.relu = p.relu;
  launch_conv_gemm(a);
}

void conv1d_forward(const Conv1dParams& p) {
  conv1d_check(p);
  const int64_t rows = p.batch * p.steps;
  if (rows == 0) return;
  need(conv1d_supported(p.batch, p.steps, p.in_channels, p.out_channels, p.kernel_size), ErrorCode::InvalidArgument,
       "conv1d_forward (cuda)", "channels or rows beyond the CUDA kernel's limits");
  const size_t nx = static_cast<size_t>(rows * p.in_channels), ny = static_cast<size_t>(rows * p.out_channels);
  const size_t nw = static_cast<size_t>(p.out_channels * p.in_channels * p.kernel_size);
  thread_local DeviceArray<float> slots[4];
  Conv1dParams q = p;
  q.x = staged(slots, 0, p.x, nx, true);
  q.w = staged(slots, 1, p.w, nw, true);
  q.b = p.b ? staged(slots, 2, p.b, static_cast<size_t>(p.out_channels), true) : nullptr;
  q.y = staged(slots, 3, nullptr, ny, false);
  conv1d_forward_device(q);
  simsage::cuda::copy_to_host(p.y, q.y, sizeof(float) * ny);
}

}  // namespace cuda
}  // namespace temporal
}  // namespace simsage
