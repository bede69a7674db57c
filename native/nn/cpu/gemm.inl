// GEMM body over a SIMD trait V (native/core/simd/): the register tile of the similarity kernel
// (MR rows broadcast x NP panels of 16 columns loaded, MR * NP * kSub FMAs per k) with a store
// epilogue C = alpha * acc + beta * C instead of a top-k. Included inside an anonymous namespace of
// each per-ISA file, after its trait. Requires <cstdint>, <cstring> and nn/cpu/gemm_kernels.h.
//
// Loop order per task (BLIS): K in blocks of kKc; the task's rows of op(A) are packed into tiles
// (element (l, i) of a tile at l * MR + i, so one k's broadcasts share a cache line); then each
// panel group (kKc x 16 * NP floats, L1) meets every row tile (L2).

namespace kern {

using simsage::nn::cpu::kKc;
using simsage::nn::cpu::Task;

inline int64_t imin(int64_t a, int64_t b) { return a < b ? a : b; }

// Packs rows [i0, i0 + rows) x columns [k0, k0 + kc) of op(A) into MR-row tiles, zero-padding
// the last tile's missing rows.
template <int MR>
inline void pack_a(const Task& t, int64_t i0, int64_t rows, int64_t k0, int64_t kc, float* dst) {
  for (int64_t r0 = 0; r0 < rows; r0 += MR) {
    float* tile = dst + (r0 / MR) * kc * MR;
    const int mr = static_cast<int>(imin(MR, rows - r0));
    if (mr < MR) std::memset(tile, 0, sizeof(float) * kc * MR);
    for (int i = 0; i < mr; ++i) {
      const int64_t row = i0 + r0 + i;
      if (t.trans_a) {
        for (int64_t l = 0; l < kc; ++l) tile[l * MR + i] = t.a[(k0 + l) * t.lda + row];
      } else {
        const float* src = t.a + row * t.lda + k0;
        for (int64_t l = 0; l < kc; ++l) tile[l * MR + i] = src[l];
      }
    }
  }
}

// One register tile: rows of `ap` (kc x MR) times NP panels starting at bp (panel stride pst),
// written to C at c (row stride ldc): the first mr rows and ncols columns only.
template <class V>
inline void tile(const float* ap, const float* bp, int64_t pst, int64_t kc, float* c, int64_t ldc, int mr,
                 int64_t ncols, float alpha, float beta) {
  using nreg = typename V::nreg;
  constexpr int MR = V::kMr, NP = V::kNp, S = V::kSub, W = 16 / S;
  nreg acc[MR][NP * S];
  for (int i = 0; i < MR; ++i)
    for (int p = 0; p < NP * S; ++p) acc[i][p] = V::nzero();
  for (int64_t l = 0; l < kc; ++l) {
    nreg x[NP * S];
    for (int p = 0; p < NP; ++p)
      for (int h = 0; h < S; ++h) x[p * S + h] = V::nload(bp + p * pst + l * 16 + h * W);
    for (int i = 0; i < MR; ++i) {
      nreg b = V::nbcast(ap[l * MR + i]);
      for (int p = 0; p < NP * S; ++p) acc[i][p] = V::nfma(b, x[p], acc[i][p]);
    }
  }
  alignas(64) float out[16];
  for (int i = 0; i < mr; ++i) {
    float* crow = c + i * ldc;
    for (int p = 0; p < NP; ++p) {
      const int64_t c0 = p * 16;
      if (c0 >= ncols) break;
      V::store(out, V::join(&acc[i][p * S]));
      const int64_t lim = imin(16, ncols - c0);
      if (beta == 0.f) {
        for (int64_t j = 0; j < lim; ++j) crow[c0 + j] = alpha * out[j];
      } else {
        for (int64_t j = 0; j < lim; ++j) crow[c0 + j] = alpha * out[j] + beta * crow[c0 + j];
      }
    }
  }
}

// One output row times P panels (P * 16 columns, the first ncols written): the short-row path (a
// task of a few rows, a streaming step), where the register tile would compute MR rows for one.
// Each output is one FMA chain over l in order, with the same operands as tile's, so a row's result
// is bit-identical whichever path computes it (a row alone equals that row inside a batch); the P
// panels are the independent chains that keep the FMA pipes busy. `a` holds the row's kc reduction
// values at stride `as` (MR inside a packed tile, 1 for a row read in place). C = alpha * acc + beta * C.
template <class V, int P>
inline void row_tile(const float* a, int64_t as, const float* bp, int64_t pst, int64_t kc, float* c, int64_t ncols,
                     float alpha, float beta) {
  using nreg = typename V::nreg;
  constexpr int S = V::kSub, W = 16 / S;
  nreg acc[P * S];
  for (int q = 0; q < P * S; ++q) acc[q] = V::nzero();
  for (int64_t l = 0; l < kc; ++l) {
    const nreg av = V::nbcast(a[l * as]);
    for (int p = 0; p < P; ++p)
      for (int h = 0; h < S; ++h) acc[p * S + h] = V::nfma(av, V::nload(bp + p * pst + l * 16 + h * W), acc[p * S + h]);
  }
  alignas(64) float out[16];
  for (int p = 0; p < P; ++p) {
    const int64_t c0 = p * 16;
    if (c0 >= ncols) break;
    V::store(out, V::join(&acc[p * S]));
    const int64_t lim = imin(16, ncols - c0);
    if (beta == 0.f) {
      for (int64_t j = 0; j < lim; ++j) c[c0 + j] = alpha * out[j];
    } else {
      for (int64_t j = 0; j < lim; ++j) c[c0 + j] = alpha * out[j] + beta * c[c0 + j];
    }
  }
}

// Panels per row_tile call: eight native-register chains.
template <class V>
constexpr int kRowPanels = V::kSub >= 8 ? 1 : 8 / V::kSub;

template <class V, int P = kRowPanels<V>>
inline void row_tile_n(int np, const float* a, int64_t as, const float* bp, int64_t pst, int64_t kc, float* c,
                       int64_t ncols, float alpha, float beta) {
  if constexpr (P > 1) {
    if (np < P) return row_tile_n<V, P - 1>(np, a, as, bp, pst, kc, c, ncols, alpha, beta);
  }
  row_tile<V, P>(a, as, bp, pst, kc, c, ncols, alpha, beta);
}

// One row (reduction values at a, stride as) times panels [p0, p1) of a packing whose K block starts
// at bp (panel stride pst), into the row's outputs crow[0, n): the short-row path of a whole task.
template <class V>
inline void row_panels(const float* a, int64_t as, const float* bp, int64_t pst, int64_t kc, int64_t p0, int64_t p1,
                       int64_t n, float* crow, float alpha, float beta) {
  constexpr int PW = kRowPanels<V>;
  for (int64_t p = p0; p < p1; p += PW) {
    const int64_t ncols = imin(16 * imin(PW, p1 - p), n - p * 16);
    if (ncols <= 0) break;
    row_tile_n<V>(static_cast<int>(imin(PW, p1 - p)), a, as, bp + p * pst, pst, kc, crow + p * 16, ncols, alpha, beta);
  }
}

template <class V>
void run(const Task& t) {
  constexpr int MR = V::kMr, NP = V::kNp;
  const int64_t rows = t.i1 - t.i0;
  const int64_t pst = t.k * 16;
  for (int64_t k0 = 0; k0 < t.k; k0 += kKc) {
    const int64_t kc = imin(kKc, t.k - k0);
    const float beta = k0 == 0 ? t.beta : 1.f;  // later K blocks accumulate onto the first
    pack_a<MR>(t, t.i0, rows, k0, kc, t.apack);
    if (3 * rows <= MR) {  // a short task: row by row, not MR rows of work for a few
      for (int64_t i = 0; i < rows; ++i)
        row_panels<V>(t.apack + i, MR, t.bpack + k0 * 16, pst, kc, t.p0, t.p1, t.n, t.c + (t.i0 + i) * t.ldc, t.alpha,
                      beta);
      continue;
    }
    for (int64_t p = t.p0; p < t.p1; p += NP) {
      const float* bp = t.bpack + p * pst + k0 * 16;
      const int64_t ncols = imin(16 * NP, t.n - p * 16);
      for (int64_t r0 = 0; r0 < rows; r0 += MR) {
        tile<V>(t.apack + (r0 / MR) * kc * MR, bp, pst, kc, t.c + (t.i0 + r0) * t.ldc + p * 16, t.ldc,
                static_cast<int>(imin(MR, rows - r0)), ncols, t.alpha, beta);
      }
    }
  }
}

template <class V>
simsage::nn::cpu::GemmKernels make_kernels() {
  simsage::nn::cpu::GemmKernels tb;
  tb.run = &run<V>;
  tb.mr = V::kMr;
  tb.np = V::kNp;
  return tb;
}

}  // namespace kern
