// CUDA twin of mining/cpu/distances.cpp: the b x b distance matrix of E (b x dim, row-major) as one
// tiled Gram kernel G = E E^T with the metric's transform fused into its epilogue (mining.h):
//   sqeuclidean  max(0, n_i + n_j - 2 g_ij), diagonal 0     (n_i = |x_i|^2)
//   euclidean    sqrt of the above, diagonal 0
//   cosine       min(2, max(0, 1 - g_ij (r_i r_j))), diagonal 0 (1 for a zero row)  (r_i = 1 / |x_i|, 0 for a zero row)
//   dot          -g_ij
// Tiles: 128 x 128 outputs per block of 256 threads (8 x 8 per thread: micro_offset),
// K in steps of 8 through shared memory (stored k-major, rows padded by 4 floats so the transposing
// stores hit 32 distinct banks). Only tiles on or above the diagonal run; a tile above it also writes
// its mirror, so the matrix is exactly symmetric (g_ij and g_ji are the same fma chain), as on the CPU.
#include <cuda_runtime.h>

#include <cstdint>

#include "core/cuda/check.cuh"
#include "mining/cpu/checks.h"
#include "mining/cuda/common.cuh"
#include "mining/cuda/mining_cuda.h"

namespace simsage::mining::cuda {

namespace {

constexpr int kTile = 128;     // output rows and columns per block
constexpr int kStep = 8;       // K per shared-memory stage
constexpr int kMicro = 8;      // outputs per thread along each side
constexpr int kThreads = 256;  // (kTile / kMicro)^2
constexpr int kPad = 4;

// Row norms (|x_i|^2) or inverse norms (cosine): one warp per row.
__global__ void norms_kernel(const float* __restrict__ e, int64_t b, int64_t dim, bool inverse,
                             float* __restrict__ aux) {
  const int64_t row = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) >> 5;
  const int lane = threadIdx.x & 31;
  if (row >= b) return;  // whole warps leave together
  const float* x = e + row * dim;
  float s = 0.f;
  for (int64_t d = lane; d < dim; d += 32) s = fmaf(x[d], x[d], s);
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(kFull, s, o);
  if (lane == 0) aux[row] = inverse ? (s > 0.f ? 1.f / sqrtf(s) : 0.f) : s;
}

__device__ __forceinline__ float transform(float g, float ai, float aj, bool diag, DistanceMetric m) {
  switch (m) {
    case DistanceMetric::SqEuclidean: {
      const float v = ai + aj - 2.f * g;
      return diag ? 0.f : (v > 0.f ? v : 0.f);
    }
    case DistanceMetric::Euclidean: {
      const float v = ai + aj - 2.f * g;
      return diag ? 0.f : sqrtf(v > 0.f ? v : 0.f);
    }
    case DistanceMetric::Cosine: {
      if (diag) return ai == 0.f ? 1.f : 0.f;
      float v = 1.f - g * (ai * aj);
      v = v > 0.f ? v : 0.f;
      return v < 2.f ? v : 2.f;
    }
    case DistanceMetric::Dot:
      break;
  }
  return -g;
}

// A thread's k-th row (or column) of its 8 within the tile: 4 at t*4 in the tile's first half and 4 at
// the same place in its second half, so the 16 threads along a side read 64 consecutive floats of
// shared memory per float4 phase (no bank conflicts) and store 64 consecutive floats per row.
__device__ __forceinline__ int micro_offset(int t, int k) { return (k < 4 ? 0 : kTile / 2) + t * 4 + (k & 3); }

// Grid (tiles, tiles): block (x = tj, y = ti) computes rows [ti*128, +128) x columns [tj*128, +128)
// when ti <= tj, and for ti < tj also stores that tile's transpose at columns x rows.
__global__ void __launch_bounds__(kThreads)
    distance_tile_kernel(const float* __restrict__ e, int64_t b, int64_t dim, const float* __restrict__ aux,
                         DistanceMetric m, float* __restrict__ out) {
  const int64_t ti = blockIdx.y, tj = blockIdx.x;
  if (ti > tj) return;
  const int64_t i0 = ti * kTile, j0 = tj * kTile;
  __shared__ __align__(16) float as[kStep][kTile + kPad];
  __shared__ __align__(16) float bs[kStep][kTile + kPad];
  const int tid = threadIdx.x, tx = tid % (kTile / kMicro), ty = tid / (kTile / kMicro);
  float acc[kMicro][kMicro];
#pragma unroll
  for (int ii = 0; ii < kMicro; ++ii)
#pragma unroll
    for (int jj = 0; jj < kMicro; ++jj) acc[ii][jj] = 0.f;

  for (int64_t k0 = 0; k0 < dim; k0 += kStep) {
    // kTile x kStep = 1024 elements of each operand, 4 per thread: element idx -> (row idx / 8, k idx % 8).
#pragma unroll
    for (int s = 0; s < kTile * kStep / kThreads; ++s) {
      const int idx = tid + s * kThreads;
      const int r = idx / kStep, kk = idx % kStep;
      const int64_t k = k0 + kk, gi = i0 + r, gj = j0 + r;
      as[kk][r] = (gi < b && k < dim) ? e[gi * dim + k] : 0.f;
      bs[kk][r] = (gj < b && k < dim) ? e[gj * dim + k] : 0.f;
    }
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < kStep; ++kk) {
      float a[kMicro], c[kMicro];
      const float4 a0 = *reinterpret_cast<const float4*>(&as[kk][ty * 4]);
      const float4 a1 = *reinterpret_cast<const float4*>(&as[kk][kTile / 2 + ty * 4]);
      const float4 c0 = *reinterpret_cast<const float4*>(&bs[kk][tx * 4]);
      const float4 c1 = *reinterpret_cast<const float4*>(&bs[kk][kTile / 2 + tx * 4]);
      a[0] = a0.x, a[1] = a0.y, a[2] = a0.z, a[3] = a0.w, a[4] = a1.x, a[5] = a1.y, a[6] = a1.z, a[7] = a1.w;
      c[0] = c0.x, c[1] = c0.y, c[2] = c0.z, c[3] = c0.w, c[4] = c1.x, c[5] = c1.y, c[6] = c1.z, c[7] = c1.w;
#pragma unroll
      for (int ii = 0; ii < kMicro; ++ii)
#pragma unroll
        for (int jj = 0; jj < kMicro; ++jj) acc[ii][jj] = fmaf(a[ii], c[jj], acc[ii][jj]);
    }
    __syncthreads();
  }

  const bool dot = m == DistanceMetric::Dot;
  const bool mirror = ti < tj;
#pragma unroll
  for (int ii = 0; ii < kMicro; ++ii) {
    const int64_t gi = i0 + micro_offset(ty, ii);
    if (gi >= b) continue;
    const float ai = dot ? 0.f : aux[gi];
#pragma unroll
    for (int jj = 0; jj < kMicro; ++jj) {
      const int64_t gj = j0 + micro_offset(tx, jj);
      if (gj >= b) continue;
      const float v = transform(acc[ii][jj], ai, dot ? 0.f : aux[gj], gi == gj, m);
      out[gi * b + gj] = v;
      if (mirror) out[gj * b + gi] = v;
    }
  }
}

}  // namespace

void pairwise_distances_device(const PairwiseParams& p) {
  check_device_batch(p.embeddings, p.b, p.dim);
  if (!p.out) throw_error(ErrorCode::InvalidArgument, "null output matrix");
  const int64_t b = p.b, tiles = (b + kTile - 1) / kTile;
  need(tiles <= 65535, ErrorCode::InvalidArgument, "pairwise_distances", "batch too large for the CUDA tile grid");
  float* aux = nullptr;
  if (p.metric != DistanceMetric::Dot) {
    aux = device_scratch<float, DSlot::Aux>(static_cast<size_t>(b));
    const int threads = 256;
    SIMSAGE_CUDA_LAUNCH(simsage::cuda::blocks_for(b * 32, threads), threads, 0, norms_kernel)
    (p.embeddings, b, p.dim, p.metric == DistanceMetric::Cosine, aux);
    SIMSAGE_CUDA_LAUNCHED("norms_kernel");
  }
  const dim3 grid(static_cast<unsigned>(tiles), static_cast<unsigned>(tiles));
  SIMSAGE_CUDA_LAUNCH(grid, kThreads, 0, distance_tile_kernel)(p.embeddings, b, p.dim, aux, p.metric, p.out);
  SIMSAGE_CUDA_LAUNCHED("distance_tile_kernel");
}

void pairwise_distances(const PairwiseParams& p) {
  cpu::check_pairwise(p);
  const int64_t b = p.b, dim = p.dim;
  float* e = device_scratch<float, DSlot::Emb>(static_cast<size_t>(b * dim));
  float* d = device_scratch<float, DSlot::Dist>(static_cast<size_t>(b * b));
  simsage::cuda::copy_to_device(e, p.embeddings, static_cast<size_t>(b * dim) * sizeof(float));
  PairwiseParams q = p;
  q.embeddings = e;
  q.out = d;
  pairwise_distances_device(q);
  simsage::cuda::copy_to_host(p.out, d, static_cast<size_t>(b * b) * sizeof(float));
}

}  // namespace simsage::mining::cuda
