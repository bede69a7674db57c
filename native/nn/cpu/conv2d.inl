// 2-D convolution body over a SIMD trait V. The register tile is nn/cpu/gemm.inl's (MR rows
// broadcast x NP panels of 16 loaded, MR * NP * kSub FMAs per reduction step), written here with the
// NP panels of a row side by side and a vector store epilogue (conv_tile, dw_tile). Packers gather
// the patches from the phase-split canvas (implicit im2col, layout in conv2d_kernels.h): every tap
// of a 16-column panel is one contiguous run. Included inside an anonymous namespace of each
// per-ISA file after its trait. Requires <cstdint>, <cstring> and nn/cpu/conv2d_kernels.h.
//
// Forward / dX (run): per group of 16 * NP columns, per K block, the columns' patches are packed
// once (kc x 16 NP floats) and meet every MR-row tile of the packed weights; the sums land in a
// small accumulator and are written to NCHW with the bias (a group may straddle images; grid columns
// past the valid width are dropped). dW (dw): one chunk of columns is the reduction of
// dW^T = patches x dy^T, the taps' rows read in place from the canvas and dy packed transposed.

namespace conv2dk {

using simsage::nn::cpu::Conv2dDwTask;
using simsage::nn::cpu::Conv2dGrid;
using simsage::nn::cpu::Conv2dTask;
using simsage::nn::cpu::Run;  // grid columns [src, src + len) of one image, landing at column col

inline int64_t imin(int64_t a, int64_t b) { return a < b ? a : b; }

// Splits grid columns [q, q_end) into runs inside one image, cut at every multiple of `cut` columns
// from q_base. Returns the run count.
inline int64_t split_runs(const Conv2dGrid& g, int64_t q, int64_t q_end, int64_t q_base, int64_t cut, Run* runs) {
  const int64_t per_image = g.rows * g.wq;
  int64_t n = 0;
  while (q < q_end) {
    const int64_t b = q / per_image, s = q - b * per_image;
    const int64_t len = imin(imin(per_image - s, q_end - q), cut - (q - q_base) % cut);
    runs[n++] = Run{b * g.img + s, len, q - q_base};
    q += len;
  }
  return n;
}

// The B block of one column group: columns [q0, q0 + 16 NP) (zero past q_end), taps [k0, k0 + kc);
// element (l - k0, j) at (l - k0) * 16 NP + j (the NP panels of a tap side by side). A panel across
// one image boundary is a fixed 16-lane select of two runs; more runs (tiny images) copy each run.
template <int NP>
inline void pack_cols(const Conv2dGrid& g, int64_t q0, int64_t q_end, int64_t k0, int64_t kc, float* dst) {
  constexpr int GW = 16 * NP;
  Run runs[GW];
  const int64_t n = split_runs(g, q0, imin(q0 + GW, q_end), q0, 16, runs);
  if (q0 + GW > q_end) std::memset(dst, 0, sizeof(float) * kc * GW);
  // Per panel: runs [first, first + count) of the panel, split point j (columns of the first run).
  int64_t first[NP], count[NP] = {};
  for (int64_t r = n - 1; r >= 0; --r) {
    const int64_t p = runs[r].col / 16;
    first[p] = r;
    ++count[p];
  }
  for (int p = 0; p < NP; ++p) {
    if (count[p] == 0) continue;
    float* d0 = dst + p * 16;
    const Run& a = runs[first[p]];
    if (count[p] == 1 && a.len == 16) {
      for (int64_t l = 0; l < kc; ++l) std::memcpy(d0 + l * GW, g.xs + a.src + g.loff[k0 + l], 64);
    } else if (count[p] == 2 && a.len + runs[first[p] + 1].len == 16) {
      const int64_t j = a.len;
      const float* sa = g.xs + a.src;
      const float* sb = g.xs + runs[first[p] + 1].src - j;  // lane e >= j of sb is column e of the panel
      for (int64_t l = 0; l < kc; ++l) {
        const int64_t off = g.loff[k0 + l];
        float* d = d0 + l * GW;
        for (int e = 0; e < 16; ++e) d[e] = e < j ? sa[off + e] : sb[off + e];
      }
    } else {
      for (int64_t r = first[p]; r < first[p] + count[p]; ++r)
        for (int64_t l = 0; l < kc; ++l)
          std::memcpy(dst + l * GW + runs[r].col, g.xs + runs[r].src + g.loff[k0 + l], sizeof(float) * runs[r].len);
    }
  }
}

// Where a register tile reads B (16 NP columns of tap l, native vector v of 16 NP / W):
// PackedB from a pack_cols block, CanvasB straight from the canvas when the group is whole panels
// (panel p at base[p] + loff[l]; no copy, the canvas rows of a group stay in L1).
template <class V>
struct PackedB {
  const float* bp;
  typename V::nreg load(int64_t l, int v) const { return V::nload(bp + l * 16 * V::kNp + v * (16 / V::kSub)); }
};
template <class V>
struct CanvasB {
  const float* base[V::kNp];
  const int64_t* loff;
  typename V::nreg load(int64_t l, int v) const {
    return V::nload(base[v / V::kSub] + loff[l] + (v % V::kSub) * (16 / V::kSub));
  }
};

// One register tile: R <= MR rows of a packed A tile (kc x MR, rows past R unused) times the
// group's B (kc x 16 NP), stored to (or, with add, added to) c: R rows of 16 NP floats, row stride
// 16 NP.
template <class V, int R, class B>
inline void conv_tile(const float* ap, const B& src, int64_t kc, float* c, bool add) {
  using nreg = typename V::nreg;
  constexpr int MR = V::kMr, NV = V::kNp * V::kSub, W = 16 / V::kSub, GW = 16 * V::kNp;
  nreg acc[R][NV];
  for (int i = 0; i < R; ++i)
    for (int p = 0; p < NV; ++p) acc[i][p] = V::nzero();
  for (int64_t l = 0; l < kc; ++l) {
    nreg x[NV];
    for (int p = 0; p < NV; ++p) x[p] = src.load(l, p);
    for (int i = 0; i < R; ++i) {
      const nreg a = V::nbcast(ap[l * MR + i]);
      for (int p = 0; p < NV; ++p) acc[i][p] = V::nfma(a, x[p], acc[i][p]);
    }
  }
  for (int i = 0; i < R; ++i)
    for (int p = 0; p < NV; ++p) {
      float* d = c + i * GW + p * W;
      V::nstore(d, add ? V::nadd(V::nload(d), acc[i][p]) : acc[i][p]);
    }
}

// conv_tile with a run-time row count r in [1, MR] (the last tile of m rows): no work on pad rows.
template <class V, class B, int R = V::kMr>
inline void conv_tile_rows(int r, const float* ap, const B& src, int64_t kc, float* c, bool add) {
  if constexpr (R >= 1) {
    if (r == R) return conv_tile<V, R>(ap, src, kc, c, add);
    conv_tile_rows<V, B, R - 1>(r, ap, src, kc, c, add);
  }
}

template <class V>
void run(const Conv2dTask& t) {
  constexpr int MR = V::kMr, NP = V::kNp, GW = 16 * NP;
  const int64_t tiles = (t.m + MR - 1) / MR, mpad = tiles * MR;
  const int64_t per_image = t.g.rows * t.g.wq, q_end = t.g.batch * per_image;
  for (int64_t grp = t.g0; grp < t.g1; ++grp) {
    const int64_t q0 = grp * GW, q1 = imin(q0 + GW, q_end);
    Run runs[GW];
    const bool whole = q1 - q0 == GW && split_runs(t.g, q0, q1, q0, 16, runs) == NP;
    CanvasB<V> direct{};
    for (int p = 0; whole && p < NP; ++p) direct.base[p] = t.g.xs + runs[p].src;
    for (int64_t k0 = 0; k0 < t.k; k0 += t.kb) {
      const int64_t kc = imin(t.kb, t.k - k0);
      const float* ap = t.apack + k0 * mpad;
      if (whole) {
        direct.loff = t.g.loff + k0;
        for (int64_t rt = 0; rt < tiles; ++rt)
          conv_tile_rows<V>(static_cast<int>(imin(MR, t.m - rt * MR)), ap + rt * kc * MR, direct, kc,
                            t.acc + rt * MR * GW, k0 > 0);
      } else {
        pack_cols<NP>(t.g, q0, q_end, k0, kc, t.bpack);
        const PackedB<V> packed{t.bpack};
        for (int64_t rt = 0; rt < tiles; ++rt)
          conv_tile_rows<V>(static_cast<int>(imin(MR, t.m - rt * MR)), ap + rt * kc * MR, packed, kc,
                            t.acc + rt * MR * GW, k0 > 0);
      }
    }
    // acc row r, column q - q0 -> grid point (b, r, u, v) for v < valid_w: runs inside one grid row.
    for (int64_t q = q0; q < q1;) {
      const int64_t b = q / per_image, s = q - b * per_image, u = s / t.g.wq, v = s - u * t.g.wq;
      const int64_t len = imin(t.g.wq - v, q1 - q);
      const int64_t keep = imin(len, t.g.valid_w - v);
      const int64_t cs = t.out_col;
      for (int64_t r = 0; r < t.m && keep > 0; ++r) {
        float* dst = t.out + (b * t.m + r) * t.out_image + t.out_off + u * t.out_row + v * cs;
        const float* src = t.acc + r * GW + (q - q0);
        const float bias = t.bias ? t.bias[r] : 0.f;
        if (t.accumulate) {
          for (int64_t e = 0; e < keep; ++e) dst[e * cs] += src[e];
        } else if (cs == 1) {
          for (int64_t e = 0; e < keep; ++e) dst[e] = src[e] + bias;
        } else {
          for (int64_t e = 0; e < keep; ++e) dst[e * cs] = src[e] + bias;
        }
      }
      q += len;
    }
  }
}

// dW^T tile: R taps l0 .. l0 + R (rows, read straight from the canvas: row i of run r at
// xs + runs[r].src + loff[i], consecutive columns) times a dy^T block (columns q of the chunk, 16 NP
// output channels, element (q, j) at q * 16 NP + j), summed over the chunk's runs into c (R x 16 NP).
template <class V, int R>
inline void dw_tile(const Conv2dGrid& g, const int64_t* loff, const Run* runs, int64_t nr, const float* bp, float* c) {
  using nreg = typename V::nreg;
  constexpr int NV = V::kNp * V::kSub, W = 16 / V::kSub, GW = 16 * V::kNp;
  nreg acc[R][NV];
  for (int i = 0; i < R; ++i)
    for (int p = 0; p < NV; ++p) acc[i][p] = V::nzero();
  for (int64_t r = 0; r < nr; ++r) {
    const float* a[R];
    for (int i = 0; i < R; ++i) a[i] = g.xs + runs[r].src + loff[i];
    const float* b = bp + runs[r].col * GW;
    for (int64_t q = 0; q < runs[r].len; ++q) {
      nreg x[NV];
      for (int p = 0; p < NV; ++p) x[p] = V::nload(b + q * GW + p * W);
      for (int i = 0; i < R; ++i) {
        const nreg av = V::nbcast(a[i][q]);
        for (int p = 0; p < NV; ++p) acc[i][p] = V::nfma(av, x[p], acc[i][p]);
      }
    }
  }
  for (int i = 0; i < R; ++i)
    for (int p = 0; p < NV; ++p) V::nstore(c + i * GW + p * W, acc[i][p]);
}

template <class V, int R = V::kMr>
inline void dw_tile_rows(int r, const Conv2dGrid& g, const int64_t* loff, const Run* runs, int64_t nr, const float* bp,
                         float* c) {
  if constexpr (R >= 1) {
    if (r == R) return dw_tile<V, R>(g, loff, runs, nr, bp, c);
    dw_tile_rows<V, R - 1>(r, g, loff, runs, nr, bp, c);
  }
}

// dW over one chunk as dW^T = patches x dy^T: the patches are read in place from the canvas (no
// packing: each is used by every output channel of a group), dy is packed transposed per group of
// 16 NP output channels (zero past the valid width and past m).
template <class V>
void dw(const Conv2dDwTask& t) {
  constexpr int MR = V::kMr, GW = 16 * V::kNp;
  const int64_t n = t.q1 - t.q0, per_image = t.g.rows * t.g.wq, out_image = t.g.rows * t.g.valid_w;
  const int64_t groups = (t.m + GW - 1) / GW;
  std::memset(t.bpack, 0, sizeof(float) * groups * n * GW);
  for (int64_t q = t.q0; q < t.q1;) {
    const int64_t b = q / per_image, s = q - b * per_image, u = s / t.g.wq, v = s - u * t.g.wq;
    const int64_t len = imin(t.g.wq - v, t.q1 - q);
    const int64_t keep = imin(len, t.g.valid_w - v);
    for (int64_t o = 0; o < t.m && keep > 0; ++o) {
      const float* src = t.dy + (b * t.m + o) * out_image + u * t.g.valid_w + v;
      float* dst = t.bpack + (o / GW) * n * GW + (q - t.q0) * GW + o % GW;
      for (int64_t e = 0; e < keep; ++e) dst[e * GW] = src[e];
    }
    q += len;
  }
  const int64_t nr = split_runs(t.g, t.q0, t.q1, t.q0, int64_t(1) << 40, t.runs);
  alignas(64) float acc[MR * GW];
  for (int64_t gp = 0; gp < groups; ++gp) {
    const int64_t ncols = imin(GW, t.m - gp * GW);
    for (int64_t l0 = 0; l0 < t.k; l0 += MR) {
      const int rows = static_cast<int>(imin(MR, t.k - l0));
      dw_tile_rows<V>(rows, t.g, t.g.loff + l0, t.runs, nr, t.bpack + gp * n * GW, acc);
      for (int64_t j = 0; j < ncols; ++j) {
        float* d = t.dw + (gp * GW + j) * t.k + l0;
        for (int i = 0; i < rows; ++i) d[i] = t.overwrite ? acc[i * GW + j] : d[i] + acc[i * GW + j];
      }
    }
  }
}

// Whether p[0, n) holds no NaN / Inf: sums of v * 0 (NaN exactly when some v is not finite).
template <class V>
bool all_finite(const float* p, int64_t n) {
  constexpr int W = 16 / V::kSub;
  using nreg = typename V::nreg;
  const nreg zero = V::nzero();
  nreg acc = zero;
  int64_t i = 0;
  for (; i + W <= n; i += W) acc = V::nfma(V::nload(p + i), zero, acc);
  bool ok = V::nhsum(acc) == 0.f;
  for (; i < n; ++i) ok &= p[i] - p[i] == 0.f;
  return ok;
}

template <class V>
simsage::nn::cpu::Conv2dKernels make_kernels() {
  simsage::nn::cpu::Conv2dKernels tb;
  tb.run = &run<V>;
  tb.dw = &dw<V>;
  tb.all_finite = &all_finite<V>;
  tb.mr = V::kMr;
  tb.np = V::kNp;
  return tb;
}

}  // namespace conv2dk
