// The temporal family's CUDA GEMM tile (device code, included by conv.cu, conv_backward.cu and
// stream.cu; the conv GEMM kernel itself is in conv.cu): a 128 x 128 output tile per block of 256 threads, reduction
// steps of 8, each thread an 8 x 8 register tile split as rows {ty*4 + 0..3, 64 + ty*4 + 0..3} and columns {tx*4 +
// 0..3, 64 + tx*4 + 0..3} (16 x 16 threads), so the shared-memory float4 reads of a quarter warp hit distinct banks.
// Operands are staged in shared memory reduction-major: As[kk][m], Bs[kk][n]. The next step's global loads are issued
// into registers before the current step's FMAs.
#pragma once
#include <cstdint>

#include "core/cuda/check.cuh"
#include "core/cuda/runtime.h"

namespace simsage {
namespace temporal {
namespace cuda {

constexpr int kBM = 128;       // output rows per block
constexpr int kBN = 128;       // output columns per block
constexpr int kBK = 8;         // reduction step
constexpr int kThreads = 256;  // 16 x 16 threads, 8 x 8 outputs each
constexpr int kAs = kBM + 4;   // As row stride: the transposed scalar stores of conv.cu's A loader
                               // (2 threads per row, 4 steps apart) land in distinct banks

// Local row (or column, in a tile kBN wide) of register i (0..7) of thread coordinate t.
__device__ __forceinline__ int tile_index(int i, int t) { return i < 4 ? t * 4 + i : 64 + t * 4 + (i - 4); }
// Local column of register j of thread column tx in a tile kBNt wide (kBNt / 8 thread columns).
template <int kBNt>
__device__ __forceinline__ int tile_col(int j, int tx) {
  return j < 4 ? tx * 4 + j : kBNt / 2 + tx * 4 + (j - 4);
}

// acc[i][j] += sum_kk As[kk][tile_index(i, ty)] * Bs[kk][tile_col<kBNt>(j, tx)].
template <int kBNt = kBN>
__device__ __forceinline__ void tile_fma(const float (*As)[kAs], const float (*Bs)[kBNt], float (&acc)[8][8], int tx,
                                         int ty) {
#pragma unroll
  for (int kk = 0; kk < kBK; ++kk) {
    const float4 a0 = *reinterpret_cast<const float4*>(&As[kk][ty * 4]);
    const float4 a1 = *reinterpret_cast<const float4*>(&As[kk][64 + ty * 4]);
    const float4 b0 = *reinterpret_cast<const float4*>(&Bs[kk][tx * 4]);
    const float4 b1 = *reinterpret_cast<const float4*>(&Bs[kk][kBNt / 2 + tx * 4]);
    const float a[8] = {a0.x, a0.y, a0.z, a0.w, a1.x, a1.y, a1.z, a1.w};
    const float b[8] = {b0.x, b0.y, b0.z, b0.w, b1.x, b1.y, b1.z, b1.w};
#pragma unroll
    for (int i = 0; i < 8; ++i)
#pragma unroll
      for (int j = 0; j < 8; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
  }
}

// The host forms' device copy number `slot` (0..7) on the calling thread: grown, never shrunk, so a
// call does not pay cudaMalloc / cudaFree (which synchronises the device). Uploads n floats of host
// when upload is set; returns the device pointer.
inline float* staged(simsage::cuda::DeviceArray<float>* slots, int slot, const float* host, size_t n, bool upload) {
  simsage::cuda::DeviceArray<float>& a = slots[slot];
  a.reserve(n);
  if (upload && n > 0) a.upload(host, n);
  return a.data();
}

inline bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

// Four consecutive floats p[0..3] when ok, else zeros: one 16-byte load when kVec (p 16-byte
// aligned: the caller checked the base pointer and that the row length is a multiple of 4).
template <bool kVec>
__device__ __forceinline__ float4 load4(const float* p, bool ok, int valid) {
  float4 v = make_float4(0.f, 0.f, 0.f, 0.f);
  if (!ok) return v;
  if (kVec) return *reinterpret_cast<const float4*>(p);
  if (valid > 0) v.x = p[0];
  if (valid > 1) v.y = p[1];
  if (valid > 2) v.z = p[2];
  if (valid > 3) v.w = p[3];
  return v;
}

// The implicit GEMM of a causal conv and of its dx:
//   out[r, n] = epilogue( sum_k sum_j in[r + shift_k, j] * wk[(k * J + j) * N + n] )
// over rows r of sequences of `steps` rows each (r = b * steps + t), shift_k = sign * (taps-1-k) *
// dilation; an in row whose time t + shift_k leaves [0, steps) reads as zero (the causal padding;
// never a row of the neighbouring sequence). Epilogue: + bias[n] (if any), relu (v > 0 ? v : 0, so
// NaN -> 0 as the CPU), then stored or added to out (accumulate).
//   forward: in = x (J = C_in), N = C_out, sign = -1, wk[k][c][o] = W[o, c, k]
//   dx:      in = dy (J = C_out), N = C_in, sign = +1, wk[k][o][c] = W[o, c, k]
struct ConvGemmArgs {
  const float* in = nullptr;    // rows x J
  const float* wk = nullptr;    // taps x J x N
  const float* bias = nullptr;  // N, or null
  float* out = nullptr;         // rows x N
  int64_t rows = 0, steps = 1, dilation = 1;
  int J = 0, N = 0, taps = 1, sign = -1;
  bool relu = false, accumulate = false;
};

// Launches the conv GEMM (conv.cu) on this thread's stream; rows >= 1, N <= 65535 * kBN. N <= 64
// runs a 128 x 64 tile on 128 threads (same 8 x 8 per thread), so no half-empty 128-wide tiles.
void launch_conv_gemm(const ConvGemmArgs& a);

// Device W (C_out x C_in x K, PyTorch) packed as the conv GEMM's wk: for the forward
// wk[(k * C_in + c) * C_out + o] = W[o, c, k]; for dx (for_dx) wk[(k * C_out + o) * C_in + c].
void launch_pack_w(const float* w, float* wk, int64_t cin, int64_t cout, int64_t taps, bool for_dx);

}  // namespace cuda
}  // namespace temporal
}  // namespace simsage
