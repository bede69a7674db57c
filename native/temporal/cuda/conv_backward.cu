// CUDA causal dilated conv1d, backward (temporal_cuda.h):
//   dx: the conv GEMM (conv.cu) over dy with the shifts reversed, W packed as [k][o][c];
//   dW: per tap k, dW_k[o, c] = sum_r dy[r, o] * x[r - s_k, c] (s_k = (K-1-k)*d, rows whose time
//       t < s_k contribute zero), a GEMM of C_out x C_in with the reduction over B*T rows cut into
//       `splits` fixed chunks: each block writes its partial tile to a workspace, a second kernel
//       sums the partials in split order (deterministic, no atomics) into W's C_out x C_in x K layout;
//   db: column sums of dy in the same kind of row chunks (double accumulators), then summed in order.
#include <algorithm>
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

constexpr int64_t kMaxSplits = 64;
constexpr int64_t kMaxWorkspace = int64_t(1) << 26;  // floats of dW partials (256 MiB)
constexpr int64_t kDbRowsPerSplit = 4096;

struct DwArgs {
  const float* dy = nullptr;  // rows x cout
  const float* x = nullptr;   // rows x cin
  float* part = nullptr;      // splits x taps x cout x cin
  int64_t rows = 0, steps = 1, dilation = 1, chunk = 0;
  int cin = 0, cout = 0, taps = 1, mtiles = 1;
};

// Grid: (mtiles * ntiles, taps, splits); block (mt, nt) covers o in [mt*kBM, +kBM), c in [nt*kBN, +kBN).
// kVecDy / kVecX: 16-byte loads of dy / x (C_out / C_in multiples of 4, 16-byte aligned bases).
// Double-buffered shared tiles as conv.cu's GEMM.
template <bool kVecDy, bool kVecX>
__global__ void __launch_bounds__(kThreads, 2) dw_kernel(DwArgs a) {
  __shared__ __align__(16) float As[2][kBK][kAs];
  __shared__ __align__(16) float Bs[2][kBK][kBN];
  const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
  const int mt = blockIdx.x % a.mtiles, nt = blockIdx.x / a.mtiles;
  const int o0 = mt * kBM, c0 = nt * kBN, k = blockIdx.y;
  const int64_t s = blockIdx.z;
  const int64_t shift = int64_t(a.taps - 1 - k) * a.dilation;
  const int64_t r_begin = s * a.chunk, r_end = min(a.rows, r_begin + a.chunk);
  const int64_t ntiles = r_end > r_begin ? (r_end - r_begin + kBK - 1) / kBK : 0;
  // Loader (both operands): reduction row lk of the step, columns lc .. lc + 3 of the tile. The
  // loads run in step order, so the row's time index advances by kBK per load (no division).
  const int lk = tid >> 5, lc = (tid & 31) * 4;
  const int o = o0 + lc, c = c0 + lc;
  int64_t lrow = r_begin + lk, lt = lrow % a.steps;
  float4 ra, rb;
  auto load = [&]() {
    const bool ok = lrow < r_end, okx = ok && lt >= shift;
    ra = load4<kVecDy>(a.dy + ((ok ? lrow : 0) * a.cout + o), ok && o < a.cout, a.cout - o);
    rb = load4<kVecX>(a.x + ((okx ? lrow - shift : 0) * a.cin + c), okx && c < a.cin, a.cin - c);
    lrow += kBK;
    lt += kBK;
    while (lt >= a.steps) lt -= a.steps;
  };
  auto store = [&](int buf) {
    *reinterpret_cast<float4*>(&As[buf][lk][lc]) = ra;
    *reinterpret_cast<float4*>(&Bs[buf][lk][lc]) = rb;
  };
  float acc[8][8];
#pragma unroll
  for (int i = 0; i < 8; ++i)
#pragma unroll
    for (int j = 0; j < 8; ++j) acc[i][j] = 0.f;
  if (ntiles > 0) {
    load();
    store(0);
  }
  __syncthreads();
  for (int64_t tile = 0; tile < ntiles; ++tile) {
    const int cur = int(tile & 1);
    if (tile + 1 < ntiles) load();
    tile_fma(As[cur], Bs[cur], acc, tx, ty);
    if (tile + 1 < ntiles) store(cur ^ 1);
    __syncthreads();
  }
  float* part = a.part + (s * a.taps + k) * int64_t(a.cout) * a.cin;
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const int oi = o0 + tile_index(i, ty);
    if (oi >= a.cout) continue;
#pragma unroll
    for (int j = 0; j < 8; ++j) {
      const int cj = c0 + tile_index(j, tx);
      if (cj < a.cin) part[int64_t(oi) * a.cin + cj] = acc[i][j];
    }
  }
}

// One thread per dW element e = (o * cin + c) * taps + k: the partials summed in split order.
__global__ void dw_reduce_kernel(const float* __restrict__ part, float* __restrict__ dw, int64_t splits, int64_t taps,
                                 int64_t cout, int64_t cin, bool accumulate) {
  const int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (e >= cout * cin * taps) return;
  const int64_t o = e / (cin * taps), rem = e - o * cin * taps, c = rem / taps, k = rem - c * taps;
  double sum = 0;
  for (int64_t s = 0; s < splits; ++s) sum += part[((s * taps + k) * cout + o) * cin + c];
  const float g = static_cast<float>(sum);
  dw[e] = accumulate ? dw[e] + g : g;
}

// Block (32, 8), grid (ceil(cout / 32), splits): column sums of dy over rows [s*chunk, +chunk).
__global__ void db_kernel(const float* __restrict__ dy, double* __restrict__ part, int64_t rows, int64_t cout,
                          int64_t chunk) {
  __shared__ double sh[8][32];
  const int64_t o = int64_t(blockIdx.x) * 32 + threadIdx.x;
  const int64_t r_begin = int64_t(blockIdx.y) * chunk, r_end = min(rows, r_begin + chunk);
  double acc = 0;
  if (o < cout)
    for (int64_t r = r_begin + threadIdx.y; r < r_end; r += 8) acc += dy[r * cout + o];
  sh[threadIdx.y][threadIdx.x] = acc;
  __syncthreads();
  if (threadIdx.y == 0 && o < cout) {
    double s = 0;
    for (int i = 0; i < 8; ++i) s += sh[i][threadIdx.x];
    part[blockIdx.y * cout + o] = s;
  }
}

__global__ void db_reduce_kernel(const double* __restrict__ part, float* __restrict__ db, int64_t splits, int64_t cout,
                                 bool accumulate) {
  const int64_t o = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (o >= cout) return;
  double sum = accumulate ? db[o] : 0.0;
  for (int64_t s = 0; s < splits; ++s) sum += part[s * cout + o];
  db[o] = static_cast<float>(sum);
}

// Scratch of the calling thread's device-form calls (grown, never shrunk).
struct Scratch {
  DeviceArray<float> wk, part;
  DeviceArray<double> dbpart;
};
Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

void backward_dw(const Conv1dBackwardParams& p, int64_t rows, Scratch& sc) {
  const int64_t cin = p.in_channels, cout = p.out_channels, taps = p.kernel_size;
  const int64_t mtiles = (cout + kBM - 1) / kBM, ntiles = (cin + kBN - 1) / kBN;
  const int64_t out_tiles = mtiles * ntiles * taps, wsize = taps * cout * cin;
  const int64_t row_steps = (rows + kBK - 1) / kBK;
  // Enough blocks for two waves of the device, at most 64 chunks, at most 256 MiB of partials;
  // the split depends only on the shapes and the device, so results repeat exactly.
  int64_t splits = (2 * simsage::cuda::sm_count() + out_tiles - 1) / out_tiles;
  splits = std::max<int64_t>(1, std::min({splits, kMaxSplits, row_steps, std::max<int64_t>(1, kMaxWorkspace / wsize)}));
  const int64_t chunk = (row_steps + splits - 1) / splits * kBK;
  splits = (rows + chunk - 1) / chunk;
  need(mtiles * ntiles < (int64_t(1) << 31) && taps <= 65535, ErrorCode::InvalidArgument, "conv1d_backward (cuda)",
       "dW grid too large");
  sc.part.reserve(static_cast<size_t>(splits * wsize));
  DwArgs a;
  a.dy = p.dy;
  a.x = p.x;
  a.part = sc.part.data();
  a.rows = rows;
  a.steps = p.steps;
  a.dilation = p.dilation;
  a.chunk = chunk;
  a.cin = static_cast<int>(cin);
  a.cout = static_cast<int>(cout);
  a.taps = static_cast<int>(taps);
  a.mtiles = static_cast<int>(mtiles);
  const dim3 grid(unsigned(mtiles * ntiles), unsigned(taps), unsigned(splits));
  const bool vd = cout % 4 == 0 && aligned16(p.dy), vx = cin % 4 == 0 && aligned16(p.x);
  void (*kernel)(DwArgs) = vd ? (vx ? dw_kernel<true, true> : dw_kernel<true, false>)
                              : (vx ? dw_kernel<false, true> : dw_kernel<false, false>);
  TEMPORAL_CUDA_LAUNCH(kernel, grid, kThreads)(a);
  SIMSAGE_CUDA_LAUNCHED("dw_kernel");
  TEMPORAL_CUDA_LAUNCH(dw_reduce_kernel, simsage::cuda::blocks_for(wsize, 256), 256)
  (sc.part.data(), p.dw, splits, taps, cout, cin, p.accumulate);
  SIMSAGE_CUDA_LAUNCHED("dw_reduce_kernel");
}

void backward_db(const Conv1dBackwardParams& p, int64_t rows, Scratch& sc) {
  const int64_t cout = p.out_channels;
  const int64_t splits = std::min(kMaxSplits, (rows + kDbRowsPerSplit - 1) / kDbRowsPerSplit);
  const int64_t chunk = (rows + splits - 1) / splits;
  sc.dbpart.reserve(static_cast<size_t>(splits * cout));
  TEMPORAL_CUDA_LAUNCH(db_kernel, dim3(unsigned((cout + 31) / 32), unsigned(splits)), dim3(32, 8))
  (p.dy, sc.dbpart.data(), rows, cout, chunk);
  SIMSAGE_CUDA_LAUNCHED("db_kernel");
  TEMPORAL_CUDA_LAUNCH(db_reduce_kernel, simsage::cuda::blocks_for(cout, 256), 256)
  (sc.dbpart.data(), p.db, splits, cout, p.accumulate);
  SIMSAGE_CUDA_LAUNCHED("db_reduce_kernel");
}

}  // namespace

void conv1d_backward_device(const Conv1dBackwardParams& p) {
  conv1d_backward_check(p);
  const int64_t rows = p.batch * p.steps;
  const int64_t cin = p.in_channels, cout = p.out_channels, taps = p.kernel_size;
  need(conv1d_supported(p.batch, p.steps, cin, cout, taps), ErrorCode::InvalidArgument, "conv1d_backward (cuda)",
       "channels or rows beyond the CUDA kernel's limits");
  if (rows == 0) {  // the sums over no rows: zero, or unchanged with accumulate
    if (!p.accumulate && p.dw) simsage::cuda::fill_zero(p.dw, sizeof(float) * cout * cin * taps);
    if (!p.accumulate && p.db) simsage::cuda::fill_zero(p.db, sizeof(float) * cout);
    return;
  }
  Scratch& sc = scratch();
  if (p.db) backward_db(p, rows, sc);
  if (p.dx) {
    sc.wk.reserve(static_cast<size_t>(cout * cin * taps));
    launch_pack_w(p.w, sc.wk.data(), cin, cout, taps, true);
    ConvGemmArgs a;
    a.in = p.dy;
    a.wk = sc.wk.data();
    a.out = p.dx;
    a.rows = rows;
    a.steps = p.steps;
    a.dilation = p.dilation;
    a.J = static_cast<int>(cout);
    a.N = static_cast<int>(cin);
    a.taps = static_cast<int>(taps);
    a.sign = +1;
    a.accumulate = p.accumulate_dx;
    launch_conv_gemm(a);
  }
  if (p.dw) backward_dw(p, rows, sc);
}

void conv1d_backward(const Conv1dBackwardParams& p) {
  conv1d_backward_check(p);
  const int64_t rows = p.batch * p.steps;
  const int64_t cin = p.in_channels, cout = p.out_channels, taps = p.kernel_size;
  need(conv1d_supported(p.batch, p.steps, cin, cout, taps), ErrorCode::InvalidArgument, "conv1d_backward (cuda)",
       "channels or rows beyond the CUDA kernel's limits");
  using simsage::cuda::to_device;
  const size_t nx = static_cast<size_t>(rows * cin), ny = static_cast<size_t>(rows * cout);
  const size_t nw = static_cast<size_t>(cout * cin * taps), nb = static_cast<size_t>(cout);
  // Inputs that are read: x for dW, W for dx, dy always; outputs uploaded only when added to.
  DeviceArray<float> x, w, dy, dx, dw, db;
  if (p.dw && rows > 0) x = to_device(p.x, nx);
  if (p.dx) w = to_device(p.w, nw);
  if (rows > 0) dy = to_device(p.dy, ny);
  if (p.dx) dx = p.accumulate_dx ? to_device(p.dx, nx) : DeviceArray<float>(nx);
  if (p.dw) dw = p.accumulate ? to_device(p.dw, nw) : DeviceArray<float>(nw);
  if (p.db) db = p.accumulate ? to_device(p.db, nb) : DeviceArray<float>(nb);
  Conv1dBackwardParams q = p;
  q.x = p.dw && rows > 0 ? x.data() : nullptr;
  q.w = p.dx ? w.data() : nullptr;
  q.dy = rows > 0 ? dy.data() : nullptr;
  q.dx = p.dx ? dx.data() : nullptr;
  q.dw = p.dw ? dw.data() : nullptr;
  q.db = p.db ? db.data() : nullptr;
  conv1d_backward_device(q);
  if (p.dx) dx.download(p.dx, nx);
  if (p.dw) dw.download(p.dw, nw);
  if (p.db) db.download(p.db, nb);
}

}  // namespace cuda
}  // namespace temporal
}  // namespace simsage
