// The per-ISA 2-D convolution kernels: conv2d_scalar.cpp, conv2d_avx2.cpp and conv2d_avx512.cpp
// instantiate conv2d.inl (over the register tile of nn/cpu/gemm.inl) with a SIMD trait of
// native/core/simd/ and return a table; conv2d_kernels_for() picks one by SimdLevel.
#pragma once
#include <cstdint>

#include "core/cpu_features.h"

namespace simsage {
namespace nn {
namespace cpu {

// Where the implicit im2col reads. The GEMM's columns are positions (b, u, v) of a u_h x u_w grid
// per image, column q = (b * u_h + u) * u_w + v; its reduction index is l = (c * kh + i) * kw + j
// over src_c channels and the kh x kw taps. Entry (l, q) is src[b, c, t / div_h, s / div_w] with
//   t = u * mul_h + add_h + i * step_h,   s = v * mul_w + add_w + j * step_w,
// and zero unless t, s >= 0, divisible by div and t / div_h < src_h, s / div_w < src_w.
// Forward: src = x, grid OH x OW, mul = stride, add = -pad, step = dilation, div = 1.
// dX: src = dy, grid H x W, mul = 1, add = pad, step = -dilation, div = stride.
struct Conv2dGeom {
  const float* src = nullptr;  // batch x src_c x src_h x src_w
  int64_t src_c = 0, src_h = 0, src_w = 0;
  int64_t u_h = 0, u_w = 0;
  int64_t kh = 1, kw = 1;
  int64_t mul_h = 1, add_h = 0, step_h = 1, div_h = 1;
  int64_t mul_w = 1, add_w = 0, step_w = 1, div_w = 1;
};

// out[b, r, u, v] (+)= sum_l A[r, l] * entry(l, q) over column groups [g0, g1) (a group is the 16 * np
// columns one register tile covers), all m rows. A is packed once per call: for the K block
// starting at k0 (kc = min(kKc, k - k0) long), MR-row tile t at apack + k0 * mpad + t * kc * mr,
// element (l, i) at l * mr + i (mpad = m rounded up to mr; zero rows past m).
struct Conv2dTask {
  Conv2dGeom g;
  const float* apack = nullptr;
  int64_t m = 0, k = 0, batch = 0;
  float* out = nullptr;  // batch x m x u_h x u_w
  const float* bias = nullptr;  // m or null: the initial value (0 when null) unless accumulate
  bool accumulate = false;
  int64_t g0 = 0, g1 = 0;
  float* bpack = nullptr;  // scratch: np * kKc * 16 floats
  float* acc = nullptr;    // scratch: mpad * 16 * np floats
};

// dW over columns [q0, q1) (one chunk) added into dw (m x k, row-major, or overwritten when
// `overwrite`): dw[r, l] += sum_q dy[b, r, u, v] * entry(l, q) with the forward geometry g.
struct Conv2dDwTask {
  Conv2dGeom g;
  const float* dy = nullptr;  // batch x m x u_h x u_w
  int64_t m = 0, k = 0;
  float* dw = nullptr;
  bool overwrite = false;
  int64_t q0 = 0, q1 = 0;
  float* apack = nullptr;  // scratch: mpad * (q1 - q0) floats
  float* bpack = nullptr;  // scratch: panels(k) * (q1 - q0) * 16 floats
};

struct Conv2dKernels {
  void (*run)(const Conv2dTask& t) = nullptr;
  void (*dw)(const Conv2dDwTask& t) = nullptr;
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
