// Max and average pooling over NCHW planes (nn.h, part `spatial`), written once and included by
// each per-ISA file (spatial_scalar.cpp, spatial_avx2.cpp, spatial_avx512.cpp) inside an anonymous
// namespace, so each copy has internal linkage and is compiled with that file's flags only.
//
// Why plain loops and not core/simd: max pooling carries an int32 argmax lane beside every float
// lane with a select on a compare (the float-only traits model neither, as mining's row kernels
// say), and both poolings read the input at a stride of stride_w floats. So each output row is
// kept as independent lanes (one per output column) and the window is swept tap by tap: for tap
// (h, j) the inner loop over output columns ow reads x[h][ow * sw + j - pw], branch-free, which
// GCC and Clang vectorise under the ISA file's flags (contiguous for stride 1, strided otherwise).
// The visit order per output, taps in row-major window order with a strict '>', keeps the first
// maximum on ties at every level. Pooling is memory-bound and small next to the conv GEMMs.
//
// Requires <cstdint> and nn/cpu/spatial_kernels.h, included by the ISA file first.

namespace kern {

using simsage::nn::cpu::PoolShape;

inline int64_t imin(int64_t a, int64_t b) { return a < b ? a : b; }
inline int64_t imax(int64_t a, int64_t b) { return a > b ? a : b; }

// Output columns [lo, hi) whose tap j lands inside [0, W): 0 <= ow * sw + j - pw < W.
inline void tap_cols(const PoolShape& s, int64_t j, int64_t* lo, int64_t* hi) {
  const int64_t off = j - s.pw;  // column of tap j in window 0
  *lo = off >= 0 ? 0 : (-off + s.sw - 1) / s.sw;
  *hi = s.w - off <= 0 ? 0 : imin(s.ow, (s.w - 1 - off) / s.sw + 1);
  if (*hi < *lo) *hi = *lo;
}

// Real pixels in window (oh, ow) along one axis: [start, start + k) clipped to [0, n).
inline int64_t clip_count(int64_t start, int64_t k, int64_t n) { return imin(start + k, n) - imax(start, 0); }

inline void max_fwd(const PoolShape& s, int64_t p0, int64_t p1, const float* x, float* y, int32_t* argmax) {
  const int64_t in = s.h * s.w, out = s.oh * s.ow;
  for (int64_t p = p0; p < p1; ++p) {
    const float* xp = x + p * in;
    for (int64_t oh = 0; oh < s.oh; ++oh) {
      float* yr = y + p * out + oh * s.ow;
      int32_t* ar = argmax + p * out + oh * s.ow;
      for (int64_t ow = 0; ow < s.ow; ++ow) {
        yr[ow] = 0.f;
        ar[ow] = -1;  // no tap yet: the first real tap always wins
      }
      const int64_t h0 = oh * s.sh - s.ph;
      for (int64_t h = imax(h0, 0); h < imin(h0 + s.kh, s.h); ++h) {
        const float* xr = xp + h * s.w;
        for (int64_t j = 0; j < s.kw; ++j) {
          int64_t lo, hi;
          tap_cols(s, j, &lo, &hi);
          const int64_t off = j - s.pw;
          for (int64_t ow = lo; ow < hi; ++ow) {
            const int64_t w = ow * s.sw + off;
            const float v = xr[w];
            const bool take = (v > yr[ow]) | (ar[ow] < 0);
            yr[ow] = take ? v : yr[ow];
            ar[ow] = take ? static_cast<int32_t>(h * s.w + w) : ar[ow];
          }
        }
      }
    }
  }
}

inline void avg_fwd(const PoolShape& s, int64_t p0, int64_t p1, const float* x, float* y) {
  const int64_t in = s.h * s.w, out = s.oh * s.ow;
  for (int64_t p = p0; p < p1; ++p) {
    const float* xp = x + p * in;
    for (int64_t oh = 0; oh < s.oh; ++oh) {
      float* yr = y + p * out + oh * s.ow;
      for (int64_t ow = 0; ow < s.ow; ++ow) yr[ow] = 0.f;
      const int64_t h0 = oh * s.sh - s.ph;
      for (int64_t h = imax(h0, 0); h < imin(h0 + s.kh, s.h); ++h) {
        const float* xr = xp + h * s.w;
        for (int64_t j = 0; j < s.kw; ++j) {
          int64_t lo, hi;
          tap_cols(s, j, &lo, &hi);
          const int64_t off = j - s.pw;
          for (int64_t ow = lo; ow < hi; ++ow) yr[ow] += xr[ow * s.sw + off];
        }
      }
      const int64_t hc = clip_count(h0, s.kh, s.h);  // count_include_pad = false
      for (int64_t ow = 0; ow < s.ow; ++ow) yr[ow] /= static_cast<float>(hc * clip_count(ow * s.sw - s.pw, s.kw, s.w));
    }
  }
}

inline void max_bwd(const PoolShape& s, int64_t p0, int64_t p1, const int32_t* argmax, const float* dy, float* dx) {
  const int64_t in = s.h * s.w, out = s.oh * s.ow;
  for (int64_t p = p0; p < p1; ++p) {
    float* dp = dx + p * in;
    for (int64_t i = 0; i < in; ++i) dp[i] = 0.f;
    const int32_t* ap = argmax + p * out;
    const float* gp = dy + p * out;
    for (int64_t o = 0; o < out; ++o)  // scatter: overlapping windows add up
      if (ap[o] >= 0) dp[ap[o]] += gp[o];
  }
}

inline void avg_bwd(const PoolShape& s, int64_t p0, int64_t p1, const float* dy, float* dx) {
  const int64_t in = s.h * s.w, out = s.oh * s.ow;
  for (int64_t p = p0; p < p1; ++p) {
    float* dp = dx + p * in;
    for (int64_t i = 0; i < in; ++i) dp[i] = 0.f;
    for (int64_t oh = 0; oh < s.oh; ++oh) {
      const float* gr = dy + p * out + oh * s.ow;
      const int64_t h0 = oh * s.sh - s.ph, hc = clip_count(h0, s.kh, s.h);
      for (int64_t h = imax(h0, 0); h < imin(h0 + s.kh, s.h); ++h) {
        float* dr = dp + h * s.w;
        for (int64_t j = 0; j < s.kw; ++j) {
          int64_t lo, hi;
          tap_cols(s, j, &lo, &hi);
          const int64_t off = j - s.pw;
          for (int64_t ow = lo; ow < hi; ++ow)
            dr[ow * s.sw + off] += gr[ow] / static_cast<float>(hc * clip_count(ow * s.sw - s.pw, s.kw, s.w));
        }
      }
    }
  }
}

}  // namespace kern
