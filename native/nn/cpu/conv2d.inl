// 2-D convolution body over a SIMD trait V: the GEMM register tile of nn/cpu/gemm.inl (kern::tile)
// fed by packers that gather the patches straight from the image (implicit im2col, geometry in
// conv2d_kernels.h). Included inside an anonymous namespace of each per-ISA file after its trait
// and gemm.inl. Requires <cstdint>, <cstring> and nn/cpu/conv2d_kernels.h.
//
// Forward / dX (run): per group of 16 * NP columns, per K block, the columns' patches are packed
// once (kc x 16 floats per panel, L1) and meet every MR-row tile of the packed weights (L2); the
// sums land in a small accumulator and are written to NCHW with the bias (a group may straddle
// images). dW (dw): one chunk of columns is the reduction: dy rows packed as A tiles, the patches
// transposed (column q is a reduction row, l the panel column) as B panels.

namespace conv2dk {

using simsage::nn::cpu::Conv2dDwTask;
using simsage::nn::cpu::Conv2dGeom;
using simsage::nn::cpu::Conv2dTask;
using simsage::nn::cpu::kKc;

// A run of columns inside one grid row: image b, row u, columns v0 .. v0 + len.
struct Run {
  int64_t b, u, v0, len;
};

// Splits columns [q, q_end) into runs of at most `cap` columns inside one grid row; also cut at
// every multiple of `cut` columns from q_base (a panel edge). Returns the run count.
inline int64_t split_runs(const Conv2dGeom& g, int64_t q, int64_t q_end, int64_t q_base, int64_t cut, Run* runs) {
  const int64_t per_image = g.u_h * g.u_w;
  int64_t n = 0;
  while (q < q_end) {
    const int64_t b = q / per_image, rem = q - b * per_image;
    const int64_t u = rem / g.u_w, v = rem - u * g.u_w;
    const int64_t to_cut = cut - (q - q_base) % cut;
    const int64_t len = kern::imin(kern::imin(g.u_w - v, q_end - q), to_cut);
    runs[n++] = Run{b, u, v, len};
    q += len;
  }
  return n;
}

// dst[e * ds] = entry(l, run column e) for the tap row `row` (null: outside the image) and the
// horizontal offset s0 = v0 * mul_w + add_w + j * step_w of the run's first column.
inline void gather_run(const Conv2dGeom& g, const float* row, int64_t s0, int64_t len, float* dst, int64_t ds) {
  if (!row) {
    for (int64_t e = 0; e < len; ++e) dst[e * ds] = 0.f;
    return;
  }
  if (g.mul_w == 1 && g.div_w == 1) {  // a contiguous run of the source row, zero at the edges
    const int64_t lo = kern::imin(len, s0 < 0 ? -s0 : 0);
    const int64_t hi = s0 + len > g.src_w ? (g.src_w - s0 > lo ? g.src_w - s0 : lo) : len;
    int64_t e = 0;
    for (; e < lo; ++e) dst[e * ds] = 0.f;
    if (ds == 1) {
      std::memcpy(dst + lo, row + s0 + lo, sizeof(float) * (hi - lo));
      e = hi;
    } else {
      for (; e < hi; ++e) dst[e * ds] = row[s0 + e];
    }
    for (; e < len; ++e) dst[e * ds] = 0.f;
    return;
  }
  for (int64_t e = 0; e < len; ++e) {
    const int64_t s = s0 + e * g.mul_w;
    float v = 0.f;
    if (s >= 0 && s % g.div_w == 0 && s / g.div_w < g.src_w) v = row[s / g.div_w];
    dst[e * ds] = v;
  }
}

// The source row of tap (c, i) for grid row u of image b, or null when it falls outside.
inline const float* tap_row(const Conv2dGeom& g, int64_t b, int64_t c, int64_t u, int64_t i) {
  const int64_t t = u * g.mul_h + g.add_h + i * g.step_h;
  if (t < 0 || t % g.div_h != 0 || t / g.div_h >= g.src_h) return nullptr;
  return g.src + ((b * g.src_c + c) * g.src_h + t / g.div_h) * g.src_w;
}

// B panels of one column group: columns [q0, q0 + 16 NP) (zero past q_end), reduction rows
// [k0, k0 + kc); panel p at dst + p * kc * 16, element (l - k0, j) at (l - k0) * 16 + j.
template <int NP>
inline void pack_cols(const Conv2dGeom& g, int64_t q0, int64_t q_end, int64_t k0, int64_t kc, float* dst) {
  Run runs[16 * NP];
  const int64_t n = split_runs(g, q0, kern::imin(q0 + 16 * NP, q_end), q0, 16, runs);
  int64_t off[16 * NP];  // run r starts at panel p, column j: dst offset p * kc * 16 + j
  for (int64_t r = 0, j = 0; r < n; j += runs[r].len, ++r) off[r] = (j / 16) * kc * 16 + j % 16;
  if (q0 + 16 * NP > q_end) std::memset(dst, 0, sizeof(float) * NP * kc * 16);
  const int64_t taps = g.kh * g.kw;
  int64_t c = k0 / taps, i = (k0 % taps) / g.kw, j = k0 % g.kw;
  for (int64_t l = 0; l < kc; ++l) {
    const int64_t sw = g.add_w + j * g.step_w;
    for (int64_t r = 0; r < n; ++r) {
      const Run& run = runs[r];
      gather_run(g, tap_row(g, run.b, c, run.u, i), run.v0 * g.mul_w + sw, run.len, dst + off[r] + l * 16, 1);
    }
    if (++j == g.kw) {
      j = 0;
      if (++i == g.kh) i = 0, ++c;
    }
  }
}

template <class V>
void run(const Conv2dTask& t) {
  constexpr int MR = V::kMr, NP = V::kNp, GW = 16 * NP;
  const int64_t tiles = (t.m + MR - 1) / MR, mpad = tiles * MR;
  const int64_t per_image = t.g.u_h * t.g.u_w, q_end = t.batch * per_image;
  for (int64_t grp = t.g0; grp < t.g1; ++grp) {
    const int64_t q0 = grp * GW, ncols = kern::imin(GW, q_end - q0);
    for (int64_t k0 = 0; k0 < t.k; k0 += kKc) {
      const int64_t kc = kern::imin(kKc, t.k - k0);
      pack_cols<NP>(t.g, q0, q_end, k0, kc, t.bpack);
      const float beta = k0 == 0 ? 0.f : 1.f;
      for (int64_t rt = 0; rt < tiles; ++rt)
        kern::tile<V>(t.apack + k0 * mpad + rt * kc * MR, t.bpack, kc * 16, kc, t.acc + rt * MR * GW, GW, MR, GW, 1.f,
                      beta);
    }
    // acc row r, column e -> out[b, r, s]: runs of columns inside one image.
    for (int64_t q = q0; q < q0 + ncols;) {
      const int64_t b = q / per_image, s = q - b * per_image;
      const int64_t len = kern::imin(per_image - s, q0 + ncols - q);
      for (int64_t r = 0; r < t.m; ++r) {
        float* dst = t.out + (b * t.m + r) * per_image + s;
        const float* src = t.acc + r * GW + (q - q0);
        if (t.accumulate) {
          for (int64_t e = 0; e < len; ++e) dst[e] += src[e];
        } else {
          const float bias = t.bias ? t.bias[r] : 0.f;
          for (int64_t e = 0; e < len; ++e) dst[e] = src[e] + bias;
        }
      }
      q += len;
    }
  }
}

template <class V>
void dw(const Conv2dDwTask& t) {
  constexpr int MR = V::kMr, NP = V::kNp, GW = 16 * NP;
  const int64_t tiles = (t.m + MR - 1) / MR, mpad = tiles * MR;
  const int64_t n = t.q1 - t.q0, per_image = t.g.u_h * t.g.u_w;
  const int64_t groups = (t.k + GW - 1) / GW, pst = n * 16;
  // A: dy rows, K blocks of the chunk's columns; tile rt of block kb0 at kb0 * mpad + rt * kc * MR.
  for (int64_t kb0 = 0; kb0 < n; kb0 += kKc) {
    const int64_t kc = kern::imin(kKc, n - kb0);
    float* blk = t.apack + kb0 * mpad;
    if (mpad > t.m) std::memset(blk, 0, sizeof(float) * mpad * kc);
    for (int64_t q = t.q0 + kb0; q < t.q0 + kb0 + kc;) {
      const int64_t b = q / per_image, s = q - b * per_image;
      const int64_t len = kern::imin(per_image - s, t.q0 + kb0 + kc - q);
      const int64_t l0 = q - t.q0 - kb0;
      for (int64_t r = 0; r < t.m; ++r) {
        const float* src = t.dy + (b * t.m + r) * per_image + s;
        float* dst = blk + (r / MR) * kc * MR + l0 * MR + r % MR;
        for (int64_t e = 0; e < len; ++e) dst[e * MR] = src[e];
      }
      q += len;
    }
  }
  // B: panel p (reduction indices l = 16 p + j) at p * n * 16, element (q - q0, j); zero for l >= k.
  const int64_t panels = groups * NP;
  if (panels * 16 > t.k) {
    for (int64_t p = t.k / 16; p < panels; ++p) std::memset(t.bpack + p * pst, 0, sizeof(float) * pst);
  }
  Run runs_buf[64];
  const int64_t taps = t.g.kh * t.g.kw;
  for (int64_t q = t.q0; q < t.q1;) {
    const int64_t nr = split_runs(t.g, q, kern::imin(t.q1, q + 63 * t.g.u_w), q, int64_t(1) << 40, runs_buf);
    int64_t col = q - t.q0;
    for (int64_t r = 0; r < nr; ++r) {
      const Run& run = runs_buf[r];
      for (int64_t l = 0; l < t.k; ++l) {
        const int64_t c = l / taps, i = (l % taps) / t.g.kw, j = l % t.g.kw;
        float* dst = t.bpack + (l / 16) * pst + col * 16 + l % 16;
        gather_run(t.g, tap_row(t.g, run.b, c, run.u, i), run.v0 * t.g.mul_w + t.g.add_w + j * t.g.step_w, run.len,
                   dst, 16);
      }
      col += run.len;
      q += run.len;
    }
  }
  for (int64_t kb0 = 0; kb0 < n; kb0 += kKc) {
    const int64_t kc = kern::imin(kKc, n - kb0);
    const float beta = t.overwrite && kb0 == 0 ? 0.f : 1.f;
    for (int64_t gp = 0; gp < groups; ++gp) {
      const float* bp = t.bpack + gp * NP * pst + kb0 * 16;
      const int64_t ncols = kern::imin(GW, t.k - gp * GW);
      for (int64_t rt = 0; rt < tiles; ++rt)
        kern::tile<V>(t.apack + kb0 * mpad + rt * kc * MR, bp, pst, kc, t.dw + rt * MR * t.k + gp * GW, t.k,
                      static_cast<int>(kern::imin(MR, t.m - rt * MR)), ncols, 1.f, beta);
    }
  }
}

template <class V>
simsage::nn::cpu::Conv2dKernels make_kernels() {
  simsage::nn::cpu::Conv2dKernels tb;
  tb.run = &run<V>;
  tb.dw = &dw<V>;
  tb.mr = V::kMr;
  tb.np = V::kNp;
  return tb;
}

}  // namespace conv2dk
