// CUDA causal dilated conv1d, backward (temporal_cuda.h):
//   dx: the conv GEMM (conv.cu) over dy with the shifts reversed, W packed as [k][o][c];
//   dW: dW[o, c, k] = sum_r dy[r, o] * x[r - s_k, c] (s_k = (K-1-k)*d, rows whose time t < s_k
//       contribute zero), one GEMM of (K * C_in) x C_out (taps folded into the rows) with the
//       reduction over B*T rows cut into `splits` fixed chunks: each block writes its partial tile
//       to a workspace, a second kernel sums the partials in split order (deterministic, no
//       atomics) into W's C_out x C_in x K layout;
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
  float* part = nullptr;      // splits x (taps * cin) x cout
  int64_t rows = 0, steps = 1, dilation = 1, chunk = 0;
  int cin = 0, cout = 0, taps = 1, mtiles = 1;
};

// dW with the taps folded into the GEMM's rows: part[s][m][o] = sum_{r in chunk s} xs[r, m] * dy[r, o],
// m = k * cin + c, xs[r, m] = x[r - (K-1-k)*d, c] (zero when the row's time t < (K-1-k)*d), so
// C_in = C_out = 64, K = 3 is a 192 x 64 GEMM (not three half-empty 64 x 64 tiles of 128 x 128).
// Grid: (mtiles * ntiles, splits), block (mt, nt) covers m in [mt*kBM, +kBM), o in [nt*kBNt, +kBNt);
// 2 * kBNt threads as conv.cu's GEMM. A thread's A columns (so their taps and shifts) are fixed for
// the whole kernel; its rows advance kBK per step in order, so the time index needs no division.
// kVecX / kVecDy: 16-byte loads (C_in / C_out multiples of 4, 16-byte aligned bases; 4 columns of
// one load then share their tap). Double-buffered shared tiles.
template <int kBNt, bool kVecX, bool kVecDy>
__global__ void __launch_bounds__(2 * kBNt, 256 / kBNt) dw_kernel(DwArgs a) {
  constexpr int kThr = 2 * kBNt, kTx = kBNt / 8;
  constexpr int kPerA = kBK * kBM / kThr;  // A floats per thread and step: 4 or 8
  constexpr int kChunks = kPerA / 4;
  __shared__ __align__(16) float As[2][kBK][kAs];
  __shared__ __align__(16) float Bs[2][kBK][kBNt];
  const int tid = threadIdx.x, tx = tid % kTx, ty = tid / kTx;
  const int mt = blockIdx.x % a.mtiles, nt = blockIdx.x / a.mtiles;
  const int m0 = mt * kBM, n0 = nt * kBNt;
  const int mtot = a.taps * a.cin;
  const int64_t s = blockIdx.y;
  const int64_t r_begin = s * a.chunk, r_end = min(a.rows, r_begin + a.chunk);
  const int64_t ntiles = r_end > r_begin ? (r_end - r_begin + kBK - 1) / kBK : 0;
  // A loader (x): step row lk, tile columns lc .. lc + kPerA - 1.
  const int lk = tid / (kBM / kPerA), lc = (tid % (kBM / kPerA)) * kPerA;
  int cq[kChunks][4];
  int64_t shq[kChunks][4];
#pragma unroll
  for (int h = 0; h < kChunks; ++h)
#pragma unroll
    for (int q = 0; q < 4; ++q) {
      const int m = m0 + lc + 4 * h + q;
      const int k = m < mtot ? m / a.cin : 0;
      cq[h][q] = m < mtot ? m - k * a.cin : -1;  // -1: past the last column
      shq[h][q] = int64_t(a.taps - 1 - k) * a.dilation;
    }
  int64_t arow = r_begin + lk, at = arow % a.steps;
  // B loader (dy): step row bk, tile columns bc .. bc + 3.
  const int bk = tid / (kBNt / 4), bc = (tid % (kBNt / 4)) * 4, o = n0 + bc;
  int64_t brow = r_begin + bk;
  float4 ra[kChunks], rb;
  auto load = [&]() {
    const bool ok = arow < r_end;
#pragma unroll
    for (int h = 0; h < kChunks; ++h) {
      if (kVecX) {  // the 4 columns share a tap: cin % 4 == 0 and the chunk starts at c % 4 == 0
        const bool okx = ok && cq[h][0] >= 0 && at >= shq[h][0];
        ra[h] = load4<true>(a.x + ((okx ? arow - shq[h][0] : 0) * a.cin + (okx ? cq[h][0] : 0)), okx, 4);
      } else {
        float v[4];
#pragma unroll
        for (int q = 0; q < 4; ++q) {
          const bool okx = ok && cq[h][q] >= 0 && at >= shq[h][q];
          v[q] = okx ? a.x[(arow - shq[h][q]) * a.cin + cq[h][q]] : 0.f;
        }
        ra[h] = make_float4(v[0], v[1], v[2], v[3]);
      }
    }
    const bool okb = brow < r_end;
    rb = load4<kVecDy>(a.dy + ((okb ? brow : 0) * a.cout + o), okb && o < a.cout, a.cout - o);
    arow += kBK;
    brow += kBK;
    at += kBK;
    while (at >= a.steps) at -= a.steps;
  };
  auto store = [&](int buf) {
#pragma unroll
    for (int h = 0; h < kChunks; ++h) *reinterpret_cast<float4*>(&As[buf][lk][lc + 4 * h]) = ra[h];
    *reinterpret_cast<float4*>(&Bs[buf][bk][bc]) = rb;
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
    tile_fma<kBNt>(As[cur], Bs[cur], acc, tx, ty);
    if (tile + 1 < ntiles) store(cur ^ 1);
    __syncthreads();
  }
  float* part = a.part + s * int64_t(mtot) * a.cout;
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const int m = m0 + tile_index(i, ty);
    if (m >= mtot) continue;
#pragma unroll
    for (int j = 0; j < 8; ++j) {
      const int oj = n0 + tile_col<kBNt>(j, tx);
      if (oj < a.cout) part[int64_t(m) * a.cout + oj] = acc[i][j];
    }
  }
}

// One thread per dW element e = (o * cin + c) * taps + k: the partials part[s][k * cin + c][o]
// summed in split order.
__global__ void dw_reduce_kernel(const float* __restrict__ part, float* __restrict__ dw, int64_t splits, int64_t taps,
                                 int64_t cout, int64_t cin, bool accumulate) {
  const int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (e >= cout * cin * taps) return;
  const int64_t o = e / (cin * taps), rem = e - o * cin * taps, c = rem / taps, k = rem - c * taps;
  const int64_t mtot = taps * cin;
  double sum = 0;
  for (int64_t s = 0; s < splits; ++s) sum += part[(s * mtot + k * cin + c) * cout + o];
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
  const int64_t bn = cout <= 64 ? 64 : kBN;
  const int64_t mtiles = (taps * cin + kBM - 1) / kBM, ntiles = (cout + bn - 1) / bn;
  const int64_t out_tiles = mtiles * ntiles, wsize = taps * cout * cin;
  const int64_t row_steps = (rows + kBK - 1) / kBK;
  // Enough blocks for two waves of the device, at most 64 chunks, at most 256 MiB of partials;
  // the split depends only on the shapes and the device, so results repeat exactly.
  int64_t splits = (2 * simsage::cuda::sm_count() + out_tiles - 1) / out_tiles;
  splits = std::max<int64_t>(1, std::min({splits, kMaxSplits, row_steps, std::max<int64_t>(1, kMaxWorkspace / wsize)}));
  const int64_t chunk = (row_steps + splits - 1) / splits * kBK;
  splits = (rows + chunk - 1) / chunk;
  need(out_tiles < (int64_t(1) << 31), ErrorCode::InvalidArgument, "conv1d_backward (cuda)", "dW grid too large");
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
  const dim3 grid(static_cast<unsigned>(out_tiles), static_cast<unsigned>(splits));
  const bool vx = cin % 4 == 0 && aligned16(p.x), vd = cout % 4 == 0 && aligned16(p.dy);
  if (bn == 64) {
    void (*kernel)(DwArgs) = vx ? (vd ? dw_kernel<64, true, true> : dw_kernel<64, true, false>)
                                : (vd ? dw_kernel<64, false, true> : dw_kernel<64, false, false>);
    SIMSAGE_CUDA_LAUNCH(grid, 128, 0, kernel)(a);
  } else {
    void (*kernel)(DwArgs) = vx ? (vd ? dw_kernel<kBN, true, true> : dw_kernel<kBN, true, false>)
                                : (vd ? dw_kernel<kBN, false, true> : dw_kernel<kBN, false, false>);
    SIMSAGE_CUDA_LAUNCH(grid, kThreads, 0, kernel)(a);
  }
  SIMSAGE_CUDA_LAUNCHED("dw_kernel");
  SIMSAGE_CUDA_LAUNCH(simsage::cuda::blocks_for(wsize, 256), 256, 0, dw_reduce_kernel)
  (sc.part.data(), p.dw, splits, taps, cout, cin, p.accumulate);
  SIMSAGE_CUDA_LAUNCHED("dw_reduce_kernel");
}

void backward_db(const Conv1dBackwardParams& p, int64_t rows, Scratch& sc) {
  const int64_t cout = p.out_channels;
  const int64_t splits = std::min(kMaxSplits, (rows + kDbRowsPerSplit - 1) / kDbRowsPerSplit);
  const int64_t chunk = (rows + splits - 1) / splits;
  sc.dbpart.reserve(static_cast<size_t>(splits * cout));
  SIMSAGE_CUDA_LAUNCH(dim3(unsigned((cout + 31) / 32), unsigned(splits)), dim3(32, 8), 0, db_kernel)
  (p.dy, sc.dbpart.data(), rows, cout, chunk);
  SIMSAGE_CUDA_LAUNCHED("db_kernel");
  SIMSAGE_CUDA_LAUNCH(simsage::cuda::blocks_for(cout, 256), 256, 0, db_reduce_kernel)
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
  const size_t nx = static_cast<size_t>(rows * cin), ny = static_cast<size_t>(rows * cout);
  const size_t nw = static_cast<size_t>(cout * cin * taps), nb = static_cast<size_t>(cout);
  // Inputs that are read: x for dW, W for dx, dy always; outputs uploaded only when added to.
  thread_local DeviceArray<float> slots[6];
  Conv1dBackwardParams q = p;
  q.x = p.dw && rows > 0 ? staged(slots, 0, p.x, nx, true) : nullptr;
  q.w = p.dx ? staged(slots, 1, p.w, nw, true) : nullptr;
  q.dy = rows > 0 ? staged(slots, 2, p.dy, ny, true) : nullptr;
  q.dx = p.dx ? staged(slots, 3, p.dx, nx, p.accumulate_dx) : nullptr;
  q.dw = p.dw ? staged(slots, 4, p.dw, nw, p.accumulate) : nullptr;
  q.db = p.db ? staged(slots, 5, p.db, nb, p.accumulate) : nullptr;
  conv1d_backward_device(q);
  if (p.dx) simsage::cuda::copy_to_host(p.dx, q.dx, sizeof(float) * nx);
  if (p.dw) simsage::cuda::copy_to_host(p.dw, q.dw, sizeof(float) * nw);
  if (p.db) simsage::cuda::copy_to_host(p.db, q.db, sizeof(float) * nb);
}

}  // namespace cuda
}  // namespace temporal
}  // namespace simsage
