// The fast coded search paths (similarity.h): bf16 through vdpbf16ps (AVX512_BF16) and i8 through
// vpdpbusd (AVX512_VNNI). Compiled with the avx512 flags of sources.json; the two extensions are
// enabled per function (SIMSAGE_X512 below), so nothing else in this file uses them and no extra
// flags group is needed. Called only when the CPU has the extension and the level is AVX-512.
//
// Shapes: the coded panel layout of similarity.h. One zmm of a group is 16 rows x G dimensions
// (G = 2 bf16, 4 i8: 64 bytes), row r's G values in 32-bit lane r, which is exactly the operand
// layout of both instructions: lane r += dot(query group, row r's group). The query group (a bf16
// pair or four u8 codes in 32 bits) is broadcast to all lanes. A micro-tile is MR queries x NP
// panels, one accumulator per (query, panel), as the f32 tile (search.inl): 12 x 2 = 24 zmm.
// Every score comes from one accumulator over the dimensions in order, so it does not depend on
// the tiling or the thread count.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "similarity/cpu/search_kernels.h"

// The BF16 intrinsics need GCC >= 10 or clang >= 9; older compilers build an empty table (the
// widening paths run).
#if (defined(__clang__) && __clang_major__ >= 9) || (!defined(__clang__) && defined(__GNUC__) && __GNUC__ >= 10)
#define SIMSAGE_HAVE_X512 1
#endif

#if defined(SIMSAGE_HAVE_X512)
#define SIMSAGE_X512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512bf16,avx512vnni")))

namespace {
#include "core/simd/avx512.h"
#include "similarity/cpu/search.inl"

namespace kern {

// GCC 12 flags the intrinsics' _mm512_undefined_* pass-through operands (GCC PR 105593), as in
// core/simd/avx512.h.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

using Buf = simsage::similarity::cpu::TopkBuffer;

// bf16: acc (f32) += q.bf16[2j+1] * x.bf16[2j+1], then += q.bf16[2j] * x.bf16[2j] (each exact
// product added with one RNE rounding; DAZ / FTZ).
struct FastBf16 {
  using E = uint16_t;
  using acc_t = __m512;
  static constexpr int G = 2;
  SIMSAGE_X512 static acc_t zero() { return _mm512_setzero_ps(); }
  SIMSAGE_X512 static acc_t step(acc_t a, __m512i x, __m512i q) {
    return _mm512_dpbf16_ps(a, (__m512bh)q, (__m512bh)x);
  }
  struct Panel {};
  SIMSAGE_X512 static Panel panel(const Ctx&, int64_t, int64_t) { return {}; }
  SIMSAGE_X512 static __m512 score(acc_t a, const Panel&, const Ctx&, int64_t) { return a; }
};

// i8: acc (int32) += sum_j u8(q)[4r + j] * s8(x)[4r + j], with u8(q) = c_q + 128; the epilogue
// subtracts 128 x the row's code sum, converts to f32 (exact below 2^24, else RNE) and scales by
// s_x then s_q.
struct FastI8 {
  using E = int8_t;
  using acc_t = __m512i;
  static constexpr int G = 4;
  SIMSAGE_X512 static acc_t zero() { return _mm512_setzero_si512(); }
  // _mm512_dpbusd_epi32(a, q, x) in place: around the builtin, GCC 12 keeps a register copy and a
  // stack copy of every accumulator of the 12 x 2 tile (measured: 1.3x f32 instead of 2x+).
  SIMSAGE_X512 static acc_t step(acc_t a, __m512i x, __m512i q) {
    __asm__("vpdpbusd %2, %1, %0" : "+v"(a) : "v"(q), "v"(x));
    return a;
  }
  struct Panel {
    __m512i offset;  // 128 x code sum per row
    __m512 scale;    // s_x per row
  };
  // Local row l0 (the arrays' index), absolute r0; lanes past the corpus end read 0.
  SIMSAGE_X512 static Panel panel(const Ctx& c, int64_t l0, int64_t r0) {
    const int64_t lim = c.n - r0;
    const __mmask16 m = lim >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << lim) - 1u);
    Panel p;
    p.offset = _mm512_slli_epi32(_mm512_maskz_loadu_epi32(m, c.code_sums + l0), 7);
    p.scale = _mm512_maskz_loadu_ps(m, c.scales + l0);
    return p;
  }
  SIMSAGE_X512 static __m512 score(acc_t a, const Panel& p, const Ctx& c, int64_t qi) {
    const __m512 f = _mm512_cvtepi32_ps(_mm512_sub_epi32(a, p.offset));
    return _mm512_mul_ps(_mm512_mul_ps(f, p.scale), _mm512_set1_ps(c.qscale[qi]));
  }
};

constexpr int kFastMr = Avx512V::kMr;

// MR queries (q0 ..) x NP panels starting at `panels` (local row lrow0). qp: the query tile,
// group g of query i at qp[g * kFastMr + i]. Scores as in tile() (search.inl): l2 offers
// 2 s - |x|^2.
template <class F, int MR, int NP>
SIMSAGE_X512 inline void ftile(const Ctx& c, Buf* bufs, int64_t q0, const uint32_t* qp, const typename F::E* panels,
                               int64_t lrow0, const float* norms, int64_t row_offset) {
  constexpr int G = F::G;
  const int64_t ng = c.pdim / G;
  const int64_t pstride = c.pdim * simsage::kPanel;
  typename F::acc_t acc[MR][NP];
  for (int i = 0; i < MR; ++i)
    for (int p = 0; p < NP; ++p) acc[i][p] = F::zero();
  for (int64_t g = 0; g < ng; ++g) {
    __m512i x[NP];
    for (int p = 0; p < NP; ++p) x[p] = _mm512_loadu_si512(panels + p * pstride + g * simsage::kPanel * G);
    for (int i = 0; i < MR; ++i) {
      const __m512i b = _mm512_set1_epi32(static_cast<int>(qp[g * kFastMr + i]));
      for (int p = 0; p < NP; ++p) acc[i][p] = F::step(acc[i][p], x[p], b);
    }
  }
  for (int p = 0; p < NP; ++p) {
    const int64_t l0 = lrow0 + p * simsage::kPanel;
    const int64_t r0 = row_offset + l0;
    if (r0 >= c.n) break;
    const typename F::Panel pv = F::panel(c, l0, r0);
    const __m512 nr = norms ? load_norms<Avx512V>(c, norms, l0, r0) : _mm512_setzero_ps();
    for (int i = 0; i < MR; ++i) {
      __m512 s = F::score(acc[i][p], pv, c, q0 + i);
      if (norms) s = Avx512V::fmsub2(s, nr);
      offer<Avx512V>(c, bufs[i], q0 + i, s, r0);
    }
  }
}

template <class F, int NP>
SIMSAGE_X512 inline void ftile_any(int mr, const Ctx& c, Buf* bufs, int64_t q0, const uint32_t* qp,
                                   const typename F::E* panels, int64_t lrow0, const float* norms, int64_t row_offset) {
  switch (mr) {
#define SIMSAGE_FTILE_CASE(M)                                           \
  case M:                                                               \
    ftile<F, M, NP>(c, bufs, q0, qp, panels, lrow0, norms, row_offset); \
    break;
    // clang-format off
    SIMSAGE_FTILE_CASE(1)
    SIMSAGE_FTILE_CASE(2)
    SIMSAGE_FTILE_CASE(3)
    SIMSAGE_FTILE_CASE(4)
    SIMSAGE_FTILE_CASE(5)
    SIMSAGE_FTILE_CASE(6)
    SIMSAGE_FTILE_CASE(7)
    SIMSAGE_FTILE_CASE(8)
    SIMSAGE_FTILE_CASE(9)
    SIMSAGE_FTILE_CASE(10)
    SIMSAGE_FTILE_CASE(11)
    SIMSAGE_FTILE_CASE(12)
    // clang-format on
#undef SIMSAGE_FTILE_CASE
    default:
      break;
  }
}
static_assert(kFastMr == 12, "ftile_any covers 1 .. 12 queries");

// run_coded (search_coded.inl) for a fast path: queries [qb, qe) (qb a multiple of kFastMr) x local
// panels [pb, pe). Few queries: groups of 4 panels; else pairs of panels against every query tile.
template <class F>
SIMSAGE_X512 void run_fast(const Ctx& c, Buf* bufs, int64_t qb, int64_t qe, const void* vpanels, int64_t pb, int64_t pe,
                           const float* norms, int64_t row_offset) {
  using E = typename F::E;
  const E* panels = static_cast<const E*>(vpanels);
  const int64_t pstride = c.pdim * simsage::kPanel;
  const int64_t tstride = c.pdim / F::G * kFastMr;  // uint32 per query tile
  const int64_t nq = qe - qb;
  const uint32_t* qp0 = c.qpack32 + (qb / kFastMr) * tstride;
  if (nq <= 2) {
    const int mr = static_cast<int>(nq);
    int64_t p = pb;
    for (; p + 4 <= pe; p += 4)
      ftile_any<F, 4>(mr, c, bufs + qb, qb, qp0, panels + p * pstride, p * 16, norms, row_offset);
    for (; p < pe; ++p) ftile_any<F, 1>(mr, c, bufs + qb, qb, qp0, panels + p * pstride, p * 16, norms, row_offset);
    return;
  }
  int64_t p = pb;
  for (; p + 2 <= pe; p += 2) {
    const E* gp = panels + p * pstride;
    const uint32_t* qp = qp0;
    int64_t q0 = qb;
    for (; q0 + kFastMr <= qe; q0 += kFastMr, qp += tstride)
      ftile<F, kFastMr, 2>(c, bufs + q0, q0, qp, gp, p * 16, norms, row_offset);
    if (q0 < qe) ftile_any<F, 2>(static_cast<int>(qe - q0), c, bufs + q0, q0, qp, gp, p * 16, norms, row_offset);
  }
  for (; p < pe; ++p) {
    const E* gp = panels + p * pstride;
    const uint32_t* qp = qp0;
    int64_t q0 = qb;
    for (; q0 + kFastMr <= qe; q0 += kFastMr, qp += tstride)
      ftile<F, kFastMr, 1>(c, bufs + q0, q0, qp, gp, p * 16, norms, row_offset);
    if (q0 < qe) ftile_any<F, 1>(static_cast<int>(qe - q0), c, bufs + q0, q0, qp, gp, p * 16, norms, row_offset);
  }
}

#pragma GCC diagnostic pop

}  // namespace kern
}  // namespace
#endif  // SIMSAGE_HAVE_X512

namespace simsage {
namespace similarity {
namespace cpu {
FastCodedKernels search_fast_kernels_avx512x() {
  FastCodedKernels t;
#if defined(SIMSAGE_HAVE_X512)
  t.bf16_dpbf16 = &kern::run_fast<kern::FastBf16>;
  t.i8_vnni = &kern::run_fast<kern::FastI8>;
  t.kMr = kern::kFastMr;
#endif
  return t;
}
}  // namespace cpu
}  // namespace similarity
}  // namespace simsage
