// The per-ISA 2-D convolution kernels: conv2d_scalar.cpp, conv2d_avx2.cpp and conv2d_avx512.cpp
// instantiate conv2d.inl (nn/cpu/gemm.inl's register tile shape) with a SIMD trait of
// native/core/simd/ and return a table; conv2d_kernels_for() picks one by SimdLevel.
#pragma once
#include <cstdint>

#include "core/cpu_features.h"

namespace simsage {
namespace nn {
namespace cpu {

// Where the implicit im2col reads. The source (x, or dy for dX) is first laid out per image as a
// zero-padded "canvas" split into stride phases (the driver's prepare step): plane (c, a, e) holds
// canvas[c][y * sh + a][x * sw + e] at y * wq + x, planes of hq x wq floats, `img` floats per image.
// A tap l = (c, i, j) of the reduction then reads one plane at a fixed offset loff[l], so the entry
// for grid column (b, u, v) is xs[b * img + loff[l] + u * wq + v]: a contiguous run along the grid.
// The grid has `rows` x wq columns per image (column q = (b * rows + u) * wq + v); columns with
// v >= valid_w are computed on canvas slack and dropped (the output row is valid_w wide).
struct Conv2dGrid {
  const float* xs = nullptr;  // batch * img floats + slack (zeroed)
  int64_t img = 0;
  const int64_t* loff = nullptr;  // k offsets
  int64_t rows = 0, wq = 0, valid_w = 0;
  int64_t batch = 0;
};

// out[b, r, u, v] (+)= sum_l A[r, l] * entry(l, q) over column groups [g0, g1) (a group is the 16 * np
// columns one register tile covers), all m rows. A is packed once per call: for the K block
// starting at k0 (min(kb, k - k0) long), MR-row tile t at apack + k0 * mpad + t * kc * mr,
// element (l, i) at l * mr + i (mpad = m rounded up to mr; zero rows past m).
struct Conv2dTask {
  Conv2dGrid g;
  const float* apack = nullptr;
  int64_t m = 0, k = 0;
  int64_t kb = 0;  // K block length (conv2d_k_block)
  // Grid point (b, r, u, v), v < valid_w, lands at out[(b m + r) out_image + out_off + u out_row +
  // v out_col]: the forward's NCHW output (out_image = rows valid_w, out_row = valid_w, out_col = 1),
  // or one stride phase of dX.
  float* out = nullptr;
  int64_t out_image = 0, out_off = 0, out_row = 0, out_col = 1;
  const float* bias = nullptr;  // m or null: the initial value (0 when null) unless accumulate
  bool accumulate = false;
  int64_t g0 = 0, g1 = 0;
  float* bpack = nullptr;  // scratch: np * kb * 16 floats
  float* acc = nullptr;    // scratch: mpad * 16 * np floats
};

// Grid columns per dW reduction chunk (fixed: results do not depend on the thread count).
constexpr int64_t kConv2dDwChunk = 512;

// dW over grid columns [q0, q1) (one chunk, at most kConv2dDwChunk) added into dw (m x k,
// row-major, or overwritten when `overwrite`): dw[r, l] += sum_q dy[b, r, u, v] * entry(l, q), dy
// read as zero for v >= valid_w.
struct Run {
  int64_t src, len, col;  // a run of grid columns inside one image (conv2d.inl)
};
struct Conv2dDwTask {
  Conv2dGrid g;
  const float* dy = nullptr;  // batch x m x rows x valid_w
  int64_t m = 0, k = 0;
  float* dw = nullptr;
  bool overwrite = false;
  int64_t q0 = 0, q1 = 0;
  float* bpack = nullptr;  // scratch: ceil(m / 16 np) * (q1 - q0) * 16 np floats
  Run* runs = nullptr;     // scratch: q1 - q0 runs
};

// K block of the forward / dX GEMM: the whole reduction up to 1024 taps (every block costs a pass
// over the accumulators, and a panel read in order streams well from L2), else equal blocks.
inline int64_t conv2d_k_block(int64_t k) {
  const int64_t blocks = (k + 1023) / 1024;
  return (k + blocks - 1) / blocks;
}

struct Conv2dKernels {
  void (*run)(const Conv2dTask& t) = nullptr;
  void (*dw)(const Conv2dDwTask& t) = nullptr;
  bool (*all_finite)(const float* p, int64_t n) = nullptr;  // no NaN / Inf in p[0, n)
  int mr = 1;
  int np = 1;
};

Conv2dKernels conv2d_kernels_scalar();
#if defined(SIMSAGE_X86)
Conv2dKernels conv2d_kernels_avx2();
Conv2dKernels conv2d_kernels_avx512();
#endif

const Conv2dKernels& conv2d_kernels_for(SimdLevel level, SimdLevel* used = nullptr);

}  // namespace cpu
}  // namespace nn
}  // namespace simsage
