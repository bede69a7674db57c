// Row-major corpus paths of the fused search, over the same SIMD trait V as search.inl (which
// includes this file inside the per-ISA anonymous namespace): packing sub-blocks into panels, an
// in-place scan for a few queries, and a transposed micro-tile that keeps the corpus row-major and
// packs the queries instead.

namespace kern {

// Packs rows [r0, r0 + rows) of a row-major corpus (stride dim) into panel layout at dst
// (ceil(rows/16) panels, padding lanes zero). Cosine rows are scaled to unit length (in double for
// rows outside the fast range, see search_kernels.h); for l2 the squared norms go to
// norms_out[0 .. rows). Full panels move in 16 x 16 blocks through V::transpose16; the dims past
// the last multiple of 16 and a partial last panel go lane by lane. Returns false when an ip / l2
// row's |x|^2 is not below kMaxSqNorm.
template <class V>
bool pack_rows(const float* src, int64_t r0, int64_t rows, int64_t dim, simsage::Metric metric, float* dst,
               float* norms_out) {
  using reg = typename V::reg;
  const int64_t np = (rows + 15) / 16;
  const int64_t dfull = dim / 16 * 16;
  bool within = true;
  for (int64_t p = 0; p < np; ++p) {
    float* pd = dst + p * dim * 16;
    const float* s0 = src + (r0 + p * 16) * dim;
    const int64_t lim = imin(16, rows - p * 16);
    if (lim == 16) {
      // The source is usually in DRAM: fetch the panel after next (16 rows) while transposing.
      const float* ahead = p + 2 < np ? s0 + 32 * dim : nullptr;
      for (int64_t d = 0; d < dfull; d += 16) {
        if (ahead)
          for (int j = 0; j < 16; ++j) __builtin_prefetch(ahead + j * dim + d, 0, 3);
        V::transpose16(s0 + d, dim, pd + d * 16);
      }
      for (int64_t d = dfull; d < dim; ++d)
        for (int64_t j = 0; j < 16; ++j) pd[d * 16 + j] = s0[j * dim + d];
    } else {
      std::memset(pd, 0, sizeof(float) * dim * 16);
      for (int64_t j = 0; j < lim; ++j)
        for (int64_t d = 0; d < dim; ++d) pd[d * 16 + j] = s0[j * dim + d];
    }
    // Per-lane |x|^2 over the packed panel (padding lanes are zero).
    reg ss = V::zero();
    for (int64_t d = 0; d < dim; ++d) {
      reg x = V::load(pd + d * 16);
      ss = V::fma(x, x, ss);
    }
    alignas(64) float nb[16];
    V::store(nb, ss);
    if (metric != simsage::Metric::Cosine) {
      for (int64_t j = 0; j < lim; ++j) within &= nb[j] < simsage::kMaxSqNorm;  // false for NaN too
      if (metric == simsage::Metric::L2)
        for (int64_t j = 0; j < lim; ++j) norms_out[p * 16 + j] = nb[j];
      continue;
    }
    uint32_t slow = 0;  // lanes scaled in double below
    for (int j = 0; j < 16; ++j) {
      if (nb[j] >= simsage::similarity::cpu::kCosineFastMin && nb[j] <= simsage::similarity::cpu::kCosineFastMax) {
        nb[j] = 1.f / std::sqrt(nb[j]);
      } else {
        nb[j] = 1.f;
        if (j < lim) slow |= 1u << j;
      }
    }
    const reg inv = V::load(nb);
    for (int64_t d = 0; d < dim; ++d) V::store(pd + d * 16, V::mul(V::load(pd + d * 16), inv));
    while (slow) {
      const int j = __builtin_ctz(slow);
      slow &= slow - 1;
      double sq = 0;
      for (int64_t d = 0; d < dim; ++d) sq += static_cast<double>(pd[d * 16 + j]) * pd[d * 16 + j];
      const double s = sq > 0 ? 1.0 / std::sqrt(sq) : 0.0;  // non-finite rows stay non-finite
      for (int64_t d = 0; d < dim; ++d) pd[d * 16 + j] = static_cast<float>(pd[d * 16 + j] * s);
    }
  }
  return within;
}

// Cosine scores of one row-major row x (absolute `row`) whose |x|^2 is outside the fast range,
// computed in double against the unit queries [qb, qe) and offered; rare, so plain loops. A
// non-finite row (its score is NaN) raises the non-finite flag.
__attribute__((noinline)) void offer_exact_cosine(const Ctx& c, simsage::similarity::cpu::TopkBuffer* bufs, int64_t qb,
                                                  int64_t qe, const float* x, int64_t row) {
  const int64_t D = c.dim;
  double sq = 0;
  for (int64_t d = 0; d < D; ++d) sq += static_cast<double>(x[d]) * x[d];
  const double s = sq > 0 ? 1.0 / std::sqrt(sq) : 0.0;
  for (int64_t qi = qb; qi < qe; ++qi) {
    const float* q = c.q + qi * D;
    double dot = 0;
    for (int64_t d = 0; d < D; ++d) dot += static_cast<double>(q[d]) * x[d];
    const float sc = static_cast<float>(dot * s);
    if (!(sc - sc == 0.f)) {  // NaN or Inf
      c.nonfinite->store(1, std::memory_order_relaxed);
      continue;
    }
    simsage::similarity::cpu::TopkBuffer& b = bufs[qi];
    if (sc < b.thr || !row_admissible(c, qi, row)) continue;
    simsage::similarity::cpu::topk_push(b, sc, c.ids ? c.ids[row] : row);
  }
}

// Lane j = <x_j, y> for the 16 rows x_j = x0 + j * D (rows j >= lim alias row 0; the caller
// masks them); y = null gives |x_j|^2. Per 16 dims: 16 row loads, one y load, 16 FMAs into 16
// accumulators, folded by V::hsum16 at the end: as many FMAs as the panel tile, no packing.
// ahead: when not null, the next 16-row block, prefetched line by line (16 interleaved row streams
// are more than the hardware prefetcher follows well).
template <class V>
inline typename V::reg dot16(const float* x0, int64_t D, int lim, const float* y, const float* ahead) {
  using reg = typename V::reg;
  const float* x[16];
  for (int j = 0; j < 16; ++j) x[j] = x0 + (j < lim ? j : 0) * D;
  reg acc[16];
  for (int j = 0; j < 16; ++j) acc[j] = V::zero();
  const int64_t dfull = D / 16 * 16;
  for (int64_t d = 0; d < dfull; d += 16) {
    if (ahead)
      for (int j = 0; j < 16; ++j) __builtin_prefetch(ahead + j * D + d, 0, 3);
    if (y) {
      const reg yv = V::load(y + d);
      for (int j = 0; j < 16; ++j) acc[j] = V::fma(V::load(x[j] + d), yv, acc[j]);
    } else {
      for (int j = 0; j < 16; ++j) {
        reg xv = V::load(x[j] + d);
        acc[j] = V::fma(xv, xv, acc[j]);
      }
    }
  }
  if (dfull < D) {
    const int t = static_cast<int>(D - dfull);
    const reg yv = y ? V::load_partial(y + dfull, t) : V::zero();
    for (int j = 0; j < 16; ++j) {
      reg xv = V::load_partial(x[j] + dfull, t);
      acc[j] = V::fma(xv, y ? yv : xv, acc[j]);
    }
  }
  return V::hsum16(acc);
}

// Few queries [qb, qe) against row-major rows [r0, r1) (absolute) of `rows` (stride dim), read in
// place: 16 rows (in L1 after the first query) against each query in turn. Cosine scales by
// 1 / |x| (rows outside the fast range go to offer_exact_cosine), l2 scores 2<q,x> - |x|^2, as
// the panel path does after packing. l2 rows must be below kMaxSqNorm.
template <class V>
void scan_rows(const Ctx& c, simsage::similarity::cpu::TopkBuffer* bufs, int64_t qb, int64_t qe, const float* rows,
               int64_t r0, int64_t r1) {
  using reg = typename V::reg;
  const int64_t D = c.dim;
  for (int64_t rb = r0; rb < r1; rb += 16) {
    const int lim = static_cast<int>(imin(16, r1 - rb));
    const uint32_t valid = (1u << lim) - 1u;
    const float* x0 = rows + rb * D;
    const float* ahead = rb + 32 <= r1 ? x0 + 16 * D : nullptr;
    // ip computes no |x|^2 here (it would cost up to 40% of an in-cache scan at Q = 1): its rows
    // are bounded only through the score check (see similarity.h).
    const bool ip = c.metric == simsage::Metric::InnerProduct;
    reg nr = ip ? V::zero() : dot16<V>(x0, D, lim, nullptr, ahead);
    if (!ip) ahead = nullptr;
    uint32_t slow = 0;  // cosine rows scored by offer_exact_cosine
    if (ip) {
    } else if (c.metric == simsage::Metric::Cosine) {
      alignas(64) float nb[16];
      V::store(nb, nr);
      for (int j = 0; j < 16; ++j) {
        if (nb[j] >= simsage::similarity::cpu::kCosineFastMin && nb[j] <= simsage::similarity::cpu::kCosineFastMax) {
          nb[j] = 1.f / std::sqrt(nb[j]);
        } else {
          nb[j] = 0.f;
          slow |= 1u << j;
        }
      }
      slow &= valid;
      nr = V::load(nb);
    } else if (__builtin_expect(V::ge_mask(nr, simsage::kMaxSqNorm) & valid, 0)) {
      c.nonfinite->store(1, std::memory_order_relaxed);  // over the magnitude bound
    }
    for (int64_t qi = qb; qi < qe; ++qi) {
      reg s = dot16<V>(x0, D, lim, c.q + qi * D, qi == qb ? ahead : nullptr);
      if (c.metric == simsage::Metric::Cosine)
        s = V::mul(s, nr);
      else if (c.metric == simsage::Metric::L2)
        s = V::fmsub2(s, nr);
      offer<V>(c, bufs[qi], qi, s, rb, valid & ~slow);
    }
    while (__builtin_expect(slow != 0, 0)) {
      const int j = __builtin_ctz(slow);
      slow &= slow - 1;
      offer_exact_cosine(c, bufs, qb, qe, x0 + j * D, rb + j);
    }
  }
}

// |x|^2 of one row of D floats.
template <class V>
inline float row_sq_norm(const float* x, int64_t D) {
  using reg = typename V::reg;
  reg ss = V::zero();
  int64_t d = 0;
  for (; d + 16 <= D; d += 16) {
    reg v = V::load(x + d);
    ss = V::fma(v, v, ss);
  }
  if (d < D) {
    reg v = V::load_partial(x + d, static_cast<int>(D - d));
    ss = V::fma(v, v, ss);
  }
  alignas(64) float l[16];
  V::store(l, ss);
  float s = 0.f;
  for (int j = 0; j < 16; ++j) s += l[j];
  return s;
}

// Transposed micro-tile for a row-major corpus: MR corpus rows x NP query panels. Queries are packed
// in panels of 16 (Ctx::qpanel: query q, dimension d at qpanel[(q / 16) * dim * 16 + d * 16 +
// q % 16], zero-padded), so acc[i][p] holds row i's scores against the 16 queries of panel p; per
// dimension the tile broadcasts one value of each row (straight from the caller's rows, no packing)
// and loads NP query vectors. `x` is the tile's first row (absolute row `row0`); qp0 the first query
// panel (number p0). Winners are found by comparing each row's 16 scores with the 16 queries'
// thresholds at once; padding queries get +inf. rn[i]: row i's |x|^2 (l2) or 1 / |x| (cosine).
// skip: rows (bit i) scored elsewhere (cosine rows outside the fast range), never offered here.
template <class V, int MR, int NP>
inline void tile_rows(const Ctx& c, simsage::similarity::cpu::TopkBuffer* bufs, int64_t nq, const float* x,
                      int64_t row0, int64_t p0, const float* rn, uint32_t skip) {
  using reg = typename V::reg;
  using nreg = typename V::nreg;
  constexpr int S = V::kSub, W = 16 / S;
  const int64_t D = c.dim;
  const float* qp0 = c.qpanel + p0 * D * 16;
  nreg acc[MR][NP * S];
  for (int i = 0; i < MR; ++i)
    for (int p = 0; p < NP * S; ++p) acc[i][p] = V::nzero();
  for (int64_t d = 0; d < D; ++d) {
    nreg qv[NP * S];
    for (int p = 0; p < NP; ++p)
      for (int h = 0; h < S; ++h) qv[p * S + h] = V::nload(qp0 + p * D * 16 + d * 16 + h * W);
    if (p0 == 0 && (d & 15) == 0)  // the next MR rows, once per row-block
      for (int i = 0; i < MR; ++i) __builtin_prefetch(x + (MR + i) * D + d, 0, 3);
    for (int i = 0; i < MR; ++i) {
      nreg b = V::nbcast(x[i * D + d]);
      for (int p = 0; p < NP * S; ++p) acc[i][p] = V::nfma(b, qv[p], acc[i][p]);
    }
  }
  for (int p = 0; p < NP; ++p) {
    const int64_t q0 = (p0 + p) * 16;
    alignas(64) float tb[16];
    for (int j = 0; j < 16; ++j) tb[j] = q0 + j < nq ? bufs[q0 + j].thr : __builtin_inff();
    const reg thr = V::load(tb);
    for (int i = 0; i < MR; ++i) {
      if (__builtin_expect((skip >> i) & 1u, 0)) continue;
      reg s = V::join(&acc[i][p * S]);
      if (c.metric == simsage::Metric::L2)
        s = V::fmsub2(s, V::bcast(rn[i]));
      else if (c.metric == simsage::Metric::Cosine)
        s = V::mul(s, V::bcast(rn[i]));
      if (c.check_finite && __builtin_expect(V::nonfinite_mask(s) != 0, 0))
        c.nonfinite->store(1, std::memory_order_relaxed);
      uint32_t m = V::ge_mask_v(s, thr);
      if (__builtin_expect(m != 0, 0)) {
        alignas(64) float lanes[16];
        V::store(lanes, s);
        offer_queries(c, bufs, q0, lanes, m, row0 + i);
      }
    }
  }
}

// Dispatches a tile of `mr` (1 .. V::kMr) rows.
template <class V, int NP>
inline void tile_rows_any(int mr, const Ctx& c, simsage::similarity::cpu::TopkBuffer* bufs, int64_t nq, const float* x,
                          int64_t row0, int64_t p0, const float* rn, uint32_t skip) {
  switch (mr) {
#define SIMSAGE_TILE_CASE(M)                                                            \
  case M:                                                                               \
    if constexpr (M <= V::kMr) tile_rows<V, M, NP>(c, bufs, nq, x, row0, p0, rn, skip); \
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

// All nq queries (packed in Ctx::qpanel) against row-major rows [r0, r1) (absolute) of `rows`:
// V::kMr rows at a time (read once from memory, then from L1) against every query panel.
template <class V>
void run_rows(const Ctx& c, simsage::similarity::cpu::TopkBuffer* bufs, int64_t nq, const float* rows, int64_t r0,
              int64_t r1) {
  const int64_t D = c.dim;
  const int64_t npan = (nq + 15) / 16;
  for (int64_t rb = r0; rb < r1; rb += V::kMr) {
    const int mr = static_cast<int>(imin(V::kMr, r1 - rb));
    const float* x = rows + rb * D;
    float rn[16] = {};
    uint32_t slow = 0;  // cosine rows scored by offer_exact_cosine
    bool over = false;  // an ip / l2 row not below the magnitude bound
    for (int i = 0; c.metric != simsage::Metric::InnerProduct && i < mr; ++i) {  // ip: see scan_rows
      const float n2 = row_sq_norm<V>(x + i * D, D);
      if (c.metric != simsage::Metric::Cosine) {
        rn[i] = n2;
        over |= !(n2 < simsage::kMaxSqNorm);
      } else if (n2 >= simsage::similarity::cpu::kCosineFastMin && n2 <= simsage::similarity::cpu::kCosineFastMax) {
        rn[i] = 1.f / std::sqrt(n2);
      } else {
        slow |= 1u << i;
      }
    }
    if (__builtin_expect(over, 0)) c.nonfinite->store(1, std::memory_order_relaxed);
    // kNp query panels per tile: the same register budget as the panel tile (kMr x kNp regs).
    int64_t p = 0;
    for (; p + V::kNp <= npan; p += V::kNp) tile_rows_any<V, V::kNp>(mr, c, bufs, nq, x, rb, p, rn, slow);
    for (; p < npan; ++p) tile_rows_any<V, 1>(mr, c, bufs, nq, x, rb, p, rn, slow);
    while (__builtin_expect(slow != 0, 0)) {
      const int i = __builtin_ctz(slow);
      slow &= slow - 1;
      offer_exact_cosine(c, bufs, 0, nq, x + i * D, rb + i);
    }
  }
}

}  // namespace kern
