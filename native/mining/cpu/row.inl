// The mining row kernels, written once and included by each per-ISA file (row_scalar.cpp,
// row_avx2.cpp, row_avx512.cpp) inside an anonymous namespace, so each copy has internal linkage and
// is compiled with that file's instruction-set flags only.
//
// Why not core/simd: these loops are element-wise transforms and masked argmin / argmax reductions
// over one row that carry an int32 index lane beside every float lane and select on label compares
// (labels[j] == la). core/simd's traits hold float lanes only (no int32 lanes, lane selects or
// integer compares) and order their horizontal sums by ISA (hsum16 trees), so using them would mean
// a second, integer register type and a select in all three traits for this one family, and would
// lose the one reduction order below. Instead each loop keeps kL = 16 independent lanes in plain
// arrays, written branch-free, which GCC and Clang turn into one zmm or two ymm per array under the
// ISA file's flags (and SSE under the baseline). The lane state makes the order of reductions,
// tie-breaking included, the same at every level. O(B^2) row work is small next to the O(B^2 D)
// GEMM.
//
// Requires <cmath>, <cstdint>, <limits> and mining/cpu/row_kernels.h, included by the ISA file first.

namespace kern {

using simsage::DistanceMetric;
constexpr int kL = 16;

inline void sq_norms(const float* e, int64_t dim, int64_t r0, int64_t r1, float* out) {
  for (int64_t i = r0; i < r1; ++i) {
    const float* x = e + i * dim;
    float acc[kL] = {};
    int64_t d = 0;
    for (; d + kL <= dim; d += kL)
      for (int l = 0; l < kL; ++l) acc[l] += x[d + l] * x[d + l];
    for (int l = 0; d + l < dim; ++l) acc[l] += x[d + l] * x[d + l];
    float s = 0.f;
    for (int l = 0; l < kL; ++l) s += acc[l];
    out[i] = s;
  }
}

// d_ij = n_i + n_j - 2 g_ij (>= 0), its sqrt, 1 - g_ij / (|x_i| |x_j|) in [0, 2], or -g_ij.
inline void transform_row(float* g, int64_t i, int64_t b, const float* aux, DistanceMetric m) {
  const float ai = aux[i];
  switch (m) {
    case DistanceMetric::SqEuclidean:
      for (int64_t j = 0; j < b; ++j) {
        float v = ai + aux[j] - 2.f * g[j];
        g[j] = v > 0.f ? v : 0.f;
      }
      g[i] = 0.f;
      break;
    case DistanceMetric::Euclidean:
      for (int64_t j = 0; j < b; ++j) {
        float v = ai + aux[j] - 2.f * g[j];
        g[j] = std::sqrt(v > 0.f ? v : 0.f);
      }
      g[i] = 0.f;
      break;
    case DistanceMetric::Cosine:
      for (int64_t j = 0; j < b; ++j) {
        float v = 1.f - g[j] * ai * aux[j];
        v = v > 0.f ? v : 0.f;
        g[j] = v < 2.f ? v : 2.f;
      }
      g[i] = ai == 0.f ? 1.f : 0.f;
      break;
    case DistanceMetric::Dot:
      for (int64_t j = 0; j < b; ++j) g[j] = -g[j];
      break;
  }
}

// Lane reduction of (value, index) pairs: the best value, ties to the smallest index (-1 = none).
template <bool kMax>
inline int64_t reduce_lanes(const float* v, const int32_t* idx) {
  int64_t best = -1;
  float bv = 0.f;
  for (int l = 0; l < kL; ++l) {
    if (idx[l] < 0) continue;
    bool better = best < 0 || (kMax ? v[l] > bv : v[l] < bv) || (v[l] == bv && idx[l] < best);
    if (better) {
      best = idx[l];
      bv = v[l];
    }
  }
  return best;
}

inline void hardest(const float* d, const int32_t* labels, int64_t a, int64_t b, int64_t* pos, int64_t* neg) {
  const int32_t la = labels[a];
  float pv[kL], nv[kL];
  int32_t pi[kL], ni[kL];
  for (int l = 0; l < kL; ++l) {
    pv[l] = -std::numeric_limits<float>::infinity();
    nv[l] = std::numeric_limits<float>::infinity();
    pi[l] = ni[l] = -1;
  }
  const int32_t self = static_cast<int32_t>(a);
  int64_t j0 = 0;
  for (; j0 + kL <= b; j0 += kL) {
    // Loads index with the int64 j0 + l: an int32 index per lane makes the compiler load lane by
    // lane (it cannot prove the lanes contiguous), about 7 cycles per element instead of < 1.
    const int32_t jb = static_cast<int32_t>(j0);
    for (int l = 0; l < kL; ++l) {
      const int32_t j = jb + l;
      const float v = d[j0 + l];
      const bool same = labels[j0 + l] == la;
      const bool up = same & (j != self) & (v > pv[l]);  // strict: the first (smallest j) wins ties
      const bool un = !same & (v < nv[l]);
      pv[l] = up ? v : pv[l];
      pi[l] = up ? j : pi[l];
      nv[l] = un ? v : nv[l];
      ni[l] = un ? j : ni[l];
    }
  }
  for (int l = 0; j0 + l < b; ++l) {
    const int32_t j = static_cast<int32_t>(j0 + l);
    const float v = d[j];
    const bool same = labels[j] == la;
    if (same && j != self && v > pv[l]) pv[l] = v, pi[l] = j;
    if (!same && v < nv[l]) nv[l] = v, ni[l] = j;
  }
  *pos = reduce_lanes<true>(pv, pi);
  *neg = reduce_lanes<false>(nv, ni);
}

inline int64_t semihard(const float* d, const int32_t* labels, int32_t la, int64_t b, float dp) {
  float bv[kL];
  int32_t bi[kL];
  for (int l = 0; l < kL; ++l) bv[l] = std::numeric_limits<float>::infinity(), bi[l] = -1;
  int64_t j0 = 0;
  for (; j0 + kL <= b; j0 += kL) {
    const int32_t jb = static_cast<int32_t>(j0);  // see hardest: int64 indices for the loads
    for (int l = 0; l < kL; ++l) {
      const int32_t j = jb + l;
      const float v = d[j0 + l];
      const bool up = (labels[j0 + l] != la) & (v > dp) & (v < bv[l]);
      bv[l] = up ? v : bv[l];
      bi[l] = up ? j : bi[l];
    }
  }
  for (int l = 0; j0 + l < b; ++l) {
    const int32_t j = static_cast<int32_t>(j0 + l);
    if (labels[j] != la && d[j] > dp && d[j] < bv[l]) bv[l] = d[j], bi[l] = j;
  }
  return reduce_lanes<false>(bv, bi);
}

inline int64_t collect(const float* d, const int32_t* labels, int32_t la, int64_t b, float lo, float hi, int32_t* out) {
  int64_t count = 0;
  for (int64_t j0 = 0; j0 < b; j0 += kL) {
    const int n = b - j0 < kL ? static_cast<int>(b - j0) : kL;
    uint32_t m = 0;
    if (n == kL) {
      for (int l = 0; l < kL; ++l) {
        const float v = d[j0 + l];
        m |= static_cast<uint32_t>((labels[j0 + l] != la) & (v >= lo) & (v < hi)) << l;
      }
    } else {
      for (int l = 0; l < n; ++l) {
        const float v = d[j0 + l];
        m |= static_cast<uint32_t>((labels[j0 + l] != la) & (v >= lo) & (v < hi)) << l;
      }
    }
    if (out) {
      while (m) {
        out[count++] = static_cast<int32_t>(j0 + __builtin_ctz(m));
        m &= m - 1;
      }
    } else {
      count += __builtin_popcount(m);
    }
  }
  return count;
}

inline simsage::mining::cpu::RowKernels make_kernels() {
  simsage::mining::cpu::RowKernels t;
  t.sq_norms = sq_norms;
  t.transform_row = transform_row;
  t.hardest = hardest;
  t.semihard = semihard;
  t.collect = collect;
  return t;
}

}  // namespace kern
