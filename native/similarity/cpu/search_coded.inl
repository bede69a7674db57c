// The fused top-k search over a reduced-precision (coded) panel corpus (similarity.h): the same
// loop structure as run_block in search.inl, with each stored element widened to f32 by the trait
// (nwiden_*) before the FMAs. The f32 query stays f32, so every score is the f32-accumulated dot
// product of the query with the decoded stored values (times the row scale for i8). Included by
// search.inl inside namespace kern, after its helpers.
//
// Layout (similarity.h): per panel, groups of G dimensions (1 f16, 2 bf16, 4 i8); group g holds 16 x
// G elements, row r's G values adjacent. One native register (W = 16 / kSub rows) of a group is
// W * G consecutive elements, which nwiden_* turn into G registers, one per dimension.

// Codecs: element type, dimensions per group, and the trait's widening load.
struct CodecF16 {
  using E = uint16_t;
  static constexpr int G = 1;
  template <class V>
  static void widen(const E* p, typename V::nreg* o) {
    o[0] = V::nwiden_f16(p);
  }
};
struct CodecBf16 {
  using E = uint16_t;
  static constexpr int G = 2;
  template <class V>
  static void widen(const E* p, typename V::nreg* o) {
    V::nwiden_bf16x2(p, o);
  }
};
struct CodecI8 {
  using E = int8_t;
  static constexpr int G = 4;
  template <class V>
  static void widen(const E* p, typename V::nreg* o) {
    V::nwiden_i8x4(p, o);
  }
};

// One micro-tile: MR queries x NP panels (see tile() in search.inl). qp: packed query tile with
// c.pdim dimensions, element (d, i) at qp[d * V::kMr + i].
template <class V, class C, int MR, int NP>
inline void ctile(const Ctx& c, simsage::similarity::cpu::TopkBuffer* bufs, int64_t q0, const float* qp,
                  const typename C::E* panels, int64_t lrow0, const float* norms, int64_t row_offset) {
  using reg = typename V::reg;
  using nreg = typename V::nreg;
  constexpr int S = V::kSub, W = 16 / S, G = C::G;
  const int64_t PD = c.pdim;
  const int64_t pstride = PD * simsage::kPanel;
  nreg acc[MR][NP * S];
  for (int i = 0; i < MR; ++i)
    for (int p = 0; p < NP * S; ++p) acc[i][p] = V::nzero();
  for (int64_t d = 0; d < PD; d += G) {
    // All panels' values of this group first, then one broadcast per query feeding NP * S FMAs (as
    // the f32 tile): looping panels outermost instead keeps MR broadcasts live across the panels,
    // which spills accumulators of the MR x 2 tile.
    nreg x[NP * S][G];
    for (int p = 0; p < NP; ++p)
      for (int h = 0; h < S; ++h)
        C::template widen<V>(panels + p * pstride + d * simsage::kPanel + h * W * G, x[p * S + h]);
    for (int t = 0; t < G; ++t)
      for (int i = 0; i < MR; ++i) {
        nreg b = V::nbcast(qp[(d + t) * V::kMr + i]);
        for (int p = 0; p < NP * S; ++p) acc[i][p] = V::nfma(b, x[p][t], acc[i][p]);
      }
  }
  for (int p = 0; p < NP; ++p) {
    const int64_t l0 = lrow0 + p * simsage::kPanel;
    const int64_t r0 = row_offset + l0;
    if (r0 >= c.n) break;
    const bool scaled = c.scales != nullptr;
    reg sc = scaled ? load_norms<V>(c, c.scales, l0, r0) : V::zero();
    reg nr = norms ? load_norms<V>(c, norms, l0, r0) : V::zero();
    for (int i = 0; i < MR; ++i) {
      reg s = V::join(&acc[i][p * S]);
      if (scaled) s = V::mul(s, sc);
      if (norms) s = V::fmsub2(s, nr);
      offer<V>(c, bufs[i], q0 + i, s, r0);
    }
  }
}

template <class V, class C, int NP>
inline void ctile_any(int mr, const Ctx& c, simsage::similarity::cpu::TopkBuffer* bufs, int64_t q0, const float* qp,
                      const typename C::E* panels, int64_t lrow0, const float* norms, int64_t row_offset) {
  switch (mr) {
#define SIMSAGE_CTILE_CASE(M)                                                                         \
  case M:                                                                                             \
    if constexpr (M <= V::kMr) ctile<V, C, M, NP>(c, bufs, q0, qp, panels, lrow0, norms, row_offset); \
    break;
    // clang-format off
    SIMSAGE_CTILE_CASE(1)
    SIMSAGE_CTILE_CASE(2)
    SIMSAGE_CTILE_CASE(3)
    SIMSAGE_CTILE_CASE(4)
    SIMSAGE_CTILE_CASE(5)
    SIMSAGE_CTILE_CASE(6)
    SIMSAGE_CTILE_CASE(7)
    SIMSAGE_CTILE_CASE(8)
    SIMSAGE_CTILE_CASE(9)
    SIMSAGE_CTILE_CASE(10)
    SIMSAGE_CTILE_CASE(11)
    SIMSAGE_CTILE_CASE(12)
    SIMSAGE_CTILE_CASE(13)
    SIMSAGE_CTILE_CASE(14)
    SIMSAGE_CTILE_CASE(15)
    SIMSAGE_CTILE_CASE(16)
    // clang-format on
#undef SIMSAGE_CTILE_CASE
    default:
      break;
  }
}

// run_block (search.inl) over a coded corpus: queries [qb, qe) x local panels [pb, pe).
template <class V, class C>
void run_coded(const Ctx& c, simsage::similarity::cpu::TopkBuffer* bufs, int64_t qb, int64_t qe, const void* vpanels,
               int64_t pb, int64_t pe, const float* norms, int64_t row_offset) {
  using E = typename C::E;
  const E* panels = static_cast<const E*>(vpanels);
  const int64_t pstride = c.pdim * simsage::kPanel;
  const int64_t tstride = c.pdim * V::kMr;
  const int64_t nq = qe - qb;
  const float* qp0 = c.qpack + (qb / V::kMr) * tstride;
  if (nq <= 2) {  // memory-bound: wide panel groups, one or two queries
    const int mr = static_cast<int>(nq);
    int64_t p = pb;
    for (; p + 4 <= pe; p += 4)
      ctile_any<V, C, 4>(mr, c, bufs + qb, qb, qp0, panels + p * pstride, p * 16, norms, row_offset);
    for (; p < pe; ++p) ctile_any<V, C, 1>(mr, c, bufs + qb, qb, qp0, panels + p * pstride, p * 16, norms, row_offset);
    return;
  }
  // Compute-bound: groups of V::kNp panels (the f32 tile's shape) against every query tile, then
  // the last panels one at a time.
  // (i8: the 4 widened dimensions of 2 panels and 24 accumulators do not fit 32 registers.)
  constexpr int MR = V::kMr, NP = C::G <= 2 ? V::kNp : 1;
  int64_t p = pb;
  for (; p + NP <= pe; p += NP) {
    const E* gp = panels + p * pstride;
    const float* qp = qp0;
    int64_t q0 = qb;
    for (; q0 + MR <= qe; q0 += MR, qp += tstride)
      ctile<V, C, MR, NP>(c, bufs + q0, q0, qp, gp, p * 16, norms, row_offset);
    if (q0 < qe) ctile_any<V, C, NP>(static_cast<int>(qe - q0), c, bufs + q0, q0, qp, gp, p * 16, norms, row_offset);
  }
  for (; p < pe; ++p) {
    const E* gp = panels + p * pstride;
    const float* qp = qp0;
    int64_t q0 = qb;
    for (; q0 + MR <= qe; q0 += MR, qp += tstride)
      ctile<V, C, MR, 1>(c, bufs + q0, q0, qp, gp, p * 16, norms, row_offset);
    if (q0 < qe) ctile_any<V, C, 1>(static_cast<int>(qe - q0), c, bufs + q0, q0, qp, gp, p * 16, norms, row_offset);
  }
}
