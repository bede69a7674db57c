// The fused top-k search body, written once over a SIMD trait V and included by each per-ISA file
// (search_scalar.cpp, search_avx2.cpp, search_avx512.cpp) inside an anonymous namespace, so each instantiation has
// internal linkage and is compiled with that file's instruction-set flags only.
//
// V provides: `reg` (16 floats), zero(), load(p) (16 floats, unaligned ok), load_partial(p, n)
// (n < 16 floats, rest zero), bcast(x), fma(a, b, c) = a * b + c, mul(a, b), fmsub2(a, n) =
// 2 * a - n, ge_mask(r, t) (bit j set when lane j >= t), store(p, r), hsum16(acc) (lane j = sum of
// acc[j]'s lanes), transpose16(src, stride, dst) (dst[d * 16 + j] = src[j * stride + d]), the
// register-blocking constants kMr (queries per tile) and kNp (panels per tile), and for the tile's
// inner loop the native register `nreg` holding 16 / kSub lanes with nzero, nload, nbcast, nfma and
// join(const nreg* a) (kSub native registers -> reg).
//
// Shapes: queries nq x dim (row-major); corpus in panels of 16 rows (similarity.h). A micro-tile is
// MR queries x NP panels: acc[i][p] holds the 16 dot products of query i with the rows of panel p.
// Per dimension d it loads NP panel vectors and broadcasts MR query values: MR * NP FMAs per
// (NP loads + MR broadcasts), all accumulators in registers.

// Requires <cmath>, <cstring> and similarity/cpu/search_kernels.h, included by the ISA file
// before its anonymous namespace. The row-major paths (packing, in-place scan, transposed tile)
// are in search_rowmajor.inl, included below.

namespace kern {

using Ctx = simsage::similarity::cpu::Ctx;

// Helpers written out rather than taken from <algorithm>: a std template instantiated on shared
// types (std::min<long>, std::binary_search<const long*>) is a COMDAT the linker may share with the
// baseline TUs, which would then run this file's AVX-512 code on any CPU.
inline int64_t imin(int64_t a, int64_t b) { return a < b ? a : b; }

// True when the sorted range [b, e) holds `row`.
inline bool sorted_contains(const int64_t* b, const int64_t* e, int64_t row) {
  int64_t n = e - b;
  while (n > 0) {  // lower bound
    int64_t half = n / 2;
    if (b[half] < row) {
      b += half + 1;
      n -= half + 1;
    } else {
      n = half;
    }
  }
  return b != e && *b == row;
}

inline bool row_admissible(const Ctx& c, int64_t qi, int64_t row) {
  const simsage::RowFilter& f = *c.filter;
  if (f.allow_bits && !((f.allow_bits[row >> 6] >> (row & 63)) & 1)) return false;
  if (f.deny_bits && ((f.deny_bits[row >> 6] >> (row & 63)) & 1)) return false;
  if (f.exclude_offsets &&
      sorted_contains(f.exclude_rows + f.exclude_offsets[qi], f.exclude_rows + f.exclude_offsets[qi + 1], row))
    return false;
  return true;
}

// Offers the lanes of one 16-row score vector (stored in `lanes`) whose bits are set in m to query
// qi's top-k buffer. `row0` is the absolute row of lane 0. Scores are internal (higher is better).
// Kept out of line: winners are rare, and the micro-tile's registers stay free of this code.
__attribute__((noinline)) void offer_lanes(const Ctx& c, simsage::similarity::cpu::TopkBuffer& b, int64_t qi,
                                           const float* lanes, uint32_t m, int64_t row0) {
  while (m) {
    int j = __builtin_ctz(m);
    m &= m - 1;
    int64_t row = row0 + j;
    if (row >= c.n) break;  // padding lanes of the last panel (j ascending)
    float sc = lanes[j];
    if (sc < b.thr) continue;  // thr may have risen within this vector
    if (!row_admissible(c, qi, row)) continue;
    simsage::similarity::cpu::topk_push(b, sc, c.ids ? c.ids[row] : row);
  }
}

// `valid`: lanes that hold rows of the current block (lanes past the corpus end are dropped anyway).
template <class V>
inline void offer(const Ctx& c, simsage::similarity::cpu::TopkBuffer& b, int64_t qi, typename V::reg s, int64_t row0,
                  uint32_t valid = 0xFFFFu) {
  if (c.check_finite && __builtin_expect((V::nonfinite_mask(s) & valid) != 0, 0))
    c.nonfinite->store(1, std::memory_order_relaxed);
  uint32_t m = V::ge_mask(s, b.thr) & valid;
  if (__builtin_expect(m != 0, 0)) {
    alignas(64) float lanes[16];
    V::store(lanes, s);
    offer_lanes(c, b, qi, lanes, m, row0);
  }
}

// Offers one corpus row (absolute `row`) to the queries q0 + j whose bits are set in m, with score
// lanes[j] (the transposed tile in search_rowmajor.inl: lanes are queries, not rows).
__attribute__((noinline)) void offer_queries(const Ctx& c, simsage::similarity::cpu::TopkBuffer* bufs, int64_t q0,
                                             const float* lanes, uint32_t m, int64_t row) {
  while (m) {
    int j = __builtin_ctz(m);
    m &= m - 1;
    simsage::similarity::cpu::TopkBuffer& b = bufs[q0 + j];
    if (lanes[j] < b.thr || !row_admissible(c, q0 + j, row)) continue;
    simsage::similarity::cpu::topk_push(b, lanes[j], c.ids ? c.ids[row] : row);
  }
}

// |x|^2 of one panel's 16 rows (local row l0, absolute r0) for the l2 epilogue, which scores
// 2<q,x> - |x|^2 (= |q|^2 - |q-x|^2; the |q|^2 term is added back at the end). Lanes past the
// corpus end read 0 (the norms array holds exactly n values).
template <class V>
inline typename V::reg load_norms(const Ctx& c, const float* norms, int64_t l0, int64_t r0) {
  if (c.n - r0 >= 16) return V::load(norms + l0);
  alignas(64) float nb[16];
  const int64_t lim = c.n - r0;
  for (int j = 0; j < 16; ++j) nb[j] = j < lim ? norms[l0 + j] : 0.f;
  return V::load(nb);
}

// One micro-tile: MR queries (q0 .. q0+MR) x NP panels starting at `panels`, whose first row is
// local row `lrow0` (norms are indexed by local row) and absolute row row_offset + lrow0.
// qp: the packed query tile, element (d, i) at qp[d * V::kMr + i] (see search.cpp), so the MR
// broadcasts of one dimension come from one cache line. pf: when PF, the next panel group (same
// shape), prefetched one line per panel per dimension while this one computes.
// norms: |x|^2 per row for l2, else null. bufs[i] belongs to query q0 + i.
template <class V, int MR, int NP, bool PF>
inline void tile(const Ctx& c, simsage::similarity::cpu::TopkBuffer* bufs, int64_t q0, const float* qp,
                 const float* panels, const float* pf, int64_t lrow0, const float* norms, int64_t row_offset) {
  using reg = typename V::reg;
  using nreg = typename V::nreg;
  constexpr int S = V::kSub, W = 16 / S;  // native registers per panel row-vector, lanes in each
  const int64_t D = c.dim;
  const int64_t pstride = D * simsage::kPanel;
  // Accumulators as plain native registers: GCC keeps arrays of __m256 in registers, but an array
  // of two-__m256 structs stays in memory (stored every iteration).
  nreg acc[MR][NP * S];
  for (int i = 0; i < MR; ++i)
    for (int p = 0; p < NP * S; ++p) acc[i][p] = V::nzero();
  for (int64_t d = 0; d < D; ++d) {
    nreg x[NP * S];
    for (int p = 0; p < NP; ++p)
      for (int h = 0; h < S; ++h) x[p * S + h] = V::nload(panels + p * pstride + d * simsage::kPanel + h * W);
    if (PF)
      for (int p = 0; p < NP; ++p) __builtin_prefetch(pf + p * pstride + d * simsage::kPanel, 0, 3);
    for (int i = 0; i < MR; ++i) {
      nreg b = V::nbcast(qp[d * V::kMr + i]);
      for (int p = 0; p < NP * S; ++p) acc[i][p] = V::nfma(b, x[p], acc[i][p]);
    }
  }
  for (int p = 0; p < NP; ++p) {
    const int64_t l0 = lrow0 + p * simsage::kPanel;
    const int64_t r0 = row_offset + l0;
    if (r0 >= c.n) break;
    if (norms) {
      reg nr = load_norms<V>(c, norms, l0, r0);
      for (int i = 0; i < MR; ++i) offer<V>(c, bufs[i], q0 + i, V::fmsub2(V::join(&acc[i][p * S]), nr), r0);
    } else {
      for (int i = 0; i < MR; ++i) offer<V>(c, bufs[i], q0 + i, V::join(&acc[i][p * S]), r0);
    }
  }
}

// Dispatches a tile of `mr` (1 .. V::kMr) queries to the matching instantiation.
template <class V, int NP, bool PF>
inline void tile_any(int mr, const Ctx& c, simsage::similarity::cpu::TopkBuffer* bufs, int64_t q0, const float* qp,
                     const float* panels, const float* pf, int64_t lrow0, const float* norms, int64_t row_offset) {
  switch (mr) {
#define SIMSAGE_TILE_CASE(M)                                                                              \
  case M:                                                                                                 \
    if constexpr (M <= V::kMr) tile<V, M, NP, PF>(c, bufs, q0, qp, panels, pf, lrow0, norms, row_offset); \
    break;
    // clang-format off
    SIMSAGE_TILE_CASE(1)
    SIMSAGE_TILE_CASE(2)
    SIMSAGE_TILE_CASE(3)
    SIMSAGE_TILE_CASE(4)
    SIMSAGE_TILE_CASE(5)
    SIMSAGE_TILE_CASE(6)
    SIMSAGE_TILE_CASE(7)
    SIMSAGE_TILE_CASE(8)
    SIMSAGE_TILE_CASE(9)
    SIMSAGE_TILE_CASE(10)
    SIMSAGE_TILE_CASE(11)
    SIMSAGE_TILE_CASE(12)
    SIMSAGE_TILE_CASE(13)
    SIMSAGE_TILE_CASE(14)
    SIMSAGE_TILE_CASE(15)
    SIMSAGE_TILE_CASE(16)
    // clang-format on
#undef SIMSAGE_TILE_CASE
    default:
      break;
  }
}

// Runs queries [qb, qe) over local panels [pb, pe) of `panels` (local row r is absolute row
// row_offset + r; norms indexed by local row). bufs[i] belongs to query i (absolute); qb is a
// multiple of V::kMr (query tiles are packed from there, see tile()).
// Loop order: a group of NP panels (stays in L1) against every query tile (streamed from L2), so
// the corpus block is read once per query block. The first query tile of each group prefetches the
// next group, which hides memory latency when few queries make the scan memory-bound.
template <class V>
void run_block(const Ctx& c, simsage::similarity::cpu::TopkBuffer* bufs, int64_t qb, int64_t qe, const float* panels,
               int64_t pb, int64_t pe, const float* norms, int64_t row_offset) {
  const int64_t pstride = c.dim * simsage::kPanel;
  const int64_t tstride = c.dim * V::kMr;  // floats per packed query tile
  const int64_t nq = qe - qb;
  const float* qp0 = c.qpack + (qb / V::kMr) * tstride;
  if (nq <= 2) {
    // Few queries: wider panel groups keep enough independent FMA chains in flight.
    const int mr = static_cast<int>(nq);
    int64_t p = pb;
    // Memory-bound: the hardware prefetcher keeps up with this sequential scan; software
    // prefetches here cost more than they hide (measured).
    for (; p + 4 <= pe; p += 4)
      tile_any<V, 4, false>(mr, c, bufs + qb, qb, qp0, panels + p * pstride, nullptr, p * 16, norms, row_offset);
    for (; p < pe; ++p)
      tile_any<V, 1, false>(mr, c, bufs + qb, qb, qp0, panels + p * pstride, nullptr, p * 16, norms, row_offset);
    return;
  }
  constexpr int NP = V::kNp, MR = V::kMr;
  int64_t p = pb;
  for (; p + NP <= pe; p += NP) {
    const float* gp = panels + p * pstride;
    const float* pf = p + 2 * NP <= pe ? gp + NP * pstride : gp;
    const float* qp = qp0;
    int64_t q0 = qb;
    tile_any<V, NP, true>(static_cast<int>(imin(MR, qe - q0)), c, bufs + q0, q0, qp, gp, pf, p * 16, norms, row_offset);
    for (q0 += MR, qp += tstride; q0 + MR <= qe; q0 += MR, qp += tstride)
      tile<V, MR, NP, false>(c, bufs + q0, q0, qp, gp, nullptr, p * 16, norms, row_offset);
    if (q0 < qe)
      tile_any<V, NP, false>(static_cast<int>(qe - q0), c, bufs + q0, q0, qp, gp, nullptr, p * 16, norms, row_offset);
  }
  for (; p < pe; ++p) {
    const float* gp = panels + p * pstride;
    const float* qp = qp0;
    for (int64_t q0 = qb; q0 < qe; q0 += MR, qp += tstride) {
      int mr = static_cast<int>(imin(MR, qe - q0));
      tile_any<V, 1, false>(mr, c, bufs + q0, q0, qp, gp, nullptr, p * 16, norms, row_offset);
    }
  }
}

#include "similarity/cpu/search_coded.inl"

}  // namespace kern

#include "similarity/cpu/search_rowmajor.inl"

namespace kern {
// The table this ISA file exports (see search_kernels.h).
template <class V>
simsage::similarity::cpu::SearchKernels make_kernels() {
  simsage::similarity::cpu::SearchKernels t;
  t.run_block = &run_block<V>;
  t.pack_rows = &pack_rows<V>;
  t.scan_rows = &scan_rows<V>;
  t.run_rows = &run_rows<V>;
  t.run_coded[static_cast<int>(simsage::Storage::BF16)] = &run_coded<V, CodecBf16>;
  t.run_coded[static_cast<int>(simsage::Storage::F16)] = &run_coded<V, CodecF16>;
  t.run_coded[static_cast<int>(simsage::Storage::I8)] = &run_coded<V, CodecI8>;
  t.kMr = V::kMr;
  t.kNp = V::kNp;
  return t;
}
}  // namespace kern
