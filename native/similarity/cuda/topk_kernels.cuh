// Device code of the fused top-k (similarity_cuda.h), included by search.cu only.
//
// Running top-k of one query in shared memory: `cap` slots (a power of two, >= 2 kk) of (score, row),
// a count and a threshold thr (the kk-th best score once kk candidates were kept, else -inf). A
// candidate scoring >= thr is appended with an atomicAdd; when the slots fill, the block sorts them
// (bitonic, best first: higher score, then smaller id) and keeps the best kk, raising thr. Appends
// that found the slots full stay pending and retry after that compaction, so cap only needs to exceed
// kk. Rows are int32 (n < 2^31); ids are read from the id array only to break exact ties.
#pragma once
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace simsage {
namespace similarity {
namespace cuda {
namespace kern {

constexpr int kThreads = 256;
constexpr int kTilePanels = kThreads / 4;        // a thread scores 4 rows (a float4 of lanes) of one panel
constexpr int kTileRows = kTilePanels * 16;      // 1024 rows per tile
constexpr int kMetricCosine = 1, kMetricL2 = 2;  // Metric's values

// Stage 1: blockIdx.y = query block of BQ queries, blockIdx.x = corpus slice (a run of panels, scanned
// kTilePanels at a time; slices differ by at most one panel, so one wave of blocks ends together).
struct ScanArgs {
  const void* data = nullptr;       // panel-major elements of the codec, ceil(n / 16) * pdim * 16
  const float* sq_norms = nullptr;  // l2: n values
  const int64_t* ids = nullptr;     // n ids or null (id = row)
  int64_t n = 0, dim = 0;
  int64_t pdim = 0;  // coded_dim(dim, storage): dimensions per panel row (bf16 pads to even)
  int metric = 0;
  const float* q = nullptr;  // nq x dim, prepared (unit rows for cosine)
  int nq = 0;                // queries of this chunk
  int kk = 0;                // min(k, n)
  int cap = 0;               // slots per query, power of two > kk
  int dq = 0;                // query dimensions held in shared memory at a time
  int slices = 1;            // slice s scans panels [np s / slices, np (s + 1) / slices), np = ceil(n / 16)
  const uint64_t* allow = nullptr;
  const uint64_t* deny = nullptr;
  const int64_t* ex_off = nullptr;  // this chunk's nq + 1 offsets (shifted to the chunk) or null
  const int64_t* ex_rows = nullptr;
  float* cand_s = nullptr;  // [nq][slices][kk] best-first
  int* cand_r = nullptr;
  int* cand_n = nullptr;  // [nq][slices]
};

// Stage 2: blockIdx.x = query of the chunk; merges its slices' candidates into the outputs.
struct MergeArgs {
  const float* cand_s = nullptr;
  const int* cand_r = nullptr;
  const int* cand_n = nullptr;
  const float* qn2 = nullptr;  // l2: |q|^2 per query of the chunk
  const int64_t* ids = nullptr;
  int metric = 0;
  int slices = 1, kk = 0, cap = 0;
  int64_t k_out = 0;  // the output row stride (the caller's k, may exceed kk)
  int64_t* out_ids = nullptr;
  float* out_scores = nullptr;
  int32_t* out_counts = nullptr;
};

// How a thread reads its 4 rows of one panel (similarity.h layouts), one group of G dimensions at a
// time: one Raw load (16, 8 or 16 bytes) at Raw index quad of the group's 4 Raws per panel, widened
// exactly to f32: v[r][e] = row r, dimension g G + e.
struct CodecF32 {  // lanes of one dimension: 16 floats = 4 float4
  static constexpr int G = 1;
  using Raw = float4;
  __device__ static void decode(const Raw& w, float (&v)[4][G]) {
    v[0][0] = w.x;
    v[1][0] = w.y;
    v[2][0] = w.z;
    v[3][0] = w.w;
  }
};
struct CodecF16 {  // lanes of one dimension: 16 halves = 4 uint2
  static constexpr int G = 1;
  using Raw = uint2;
  __device__ static float half(unsigned h) {
    return __half2float(__ushort_as_half(static_cast<unsigned short>(h & 0xffffu)));
  }
  __device__ static void decode(const Raw& w, float (&v)[4][G]) {
    v[0][0] = half(w.x);
    v[1][0] = half(w.x >> 16);
    v[2][0] = half(w.y);
    v[3][0] = half(w.y >> 16);
  }
};
struct CodecBf16 {  // lanes of one dimension pair: 16 x (even, odd) bf16 = 4 uint4; the even one is low
  static constexpr int G = 2;
  using Raw = uint4;
  __device__ static void pair(unsigned x, float (&v)[G]) {
    v[0] = __uint_as_float(x << 16);
    v[1] = __uint_as_float(x & 0xffff0000u);
  }
  __device__ static void decode(const Raw& w, float (&v)[4][G]) {
    pair(w.x, v[0]);
    pair(w.y, v[1]);
    pair(w.z, v[2]);
    pair(w.w, v[3]);
  }
};

// (sa, ra) ranks before (sb, rb): a row < 0 is an empty slot, after everything.
__device__ __forceinline__ bool better(float sa, int ra, float sb, int rb, const int64_t* ids) {
  if (rb < 0) return ra >= 0;
  if (ra < 0) return false;
  if (sa != sb) return sa > sb;
  return (ids ? ids[ra] : ra) < (ids ? ids[rb] : rb);
}

// Sorts s/r[0, P) best first (P a power of two); every thread of the block calls it after a barrier.
__device__ void sort_best_first(float* s, int* r, int P, const int64_t* ids) {
  for (int k2 = 2; k2 <= P; k2 <<= 1) {
    for (int j = k2 >> 1; j > 0; j >>= 1) {
      for (int i = threadIdx.x; i < P; i += blockDim.x) {
        const int l = i ^ j;
        if (l <= i) continue;
        const bool first = (i & k2) == 0;  // this segment runs best-first, the other worst-first
        const bool sw = first ? better(s[l], r[l], s[i], r[i], ids) : better(s[i], r[i], s[l], r[l], ids);
        if (sw) {
          const float ts = s[i];
          s[i] = s[l];
          s[l] = ts;
          const int tr = r[i];
          r[i] = r[l];
          r[l] = tr;
        }
      }
      __syncthreads();
    }
  }
}

// Sorts one query's slots (empty ones marked) and keeps the best kk; raises thr when kk were kept.
// Block-wide; call after a barrier. Returns with a barrier.
__device__ void compact(float* s, int* r, int* cnt, float* thr, int cap, int kk, const int64_t* ids) {
  const int m = min(*cnt, cap);
  for (int i = m + threadIdx.x; i < cap; i += blockDim.x) {
    s[i] = -INFINITY;
    r[i] = -1;
  }
  __syncthreads();
  sort_best_first(s, r, cap, ids);
  if (threadIdx.x == 0) {
    *cnt = min(m, kk);
    if (m >= kk) *thr = s[kk - 1];
  }
  __syncthreads();
}

// Offers each thread's pending candidates (bit u of pend[q]: sc[q][u] for row[u]) to query q's slots,
// compacting full queries until every candidate is stored or below its query's threshold. Block-wide.
template <int BQ, int U>
__device__ void offer(const float (&sc)[BQ][U], const int (&row)[U], unsigned (&pend)[BQ], float* bs, int* br, int* cnt,
                      float* thr, int cap, int kk, const int64_t* ids) {
  for (;;) {
    bool left = false;
#pragma unroll
    for (int q = 0; q < BQ; ++q) {
      if (!pend[q]) continue;
      const float t = thr[q];
#pragma unroll
      for (int u = 0; u < U; ++u) {
        if (!((pend[q] >> u) & 1u)) continue;
        if (sc[q][u] < t) {
          pend[q] &= ~(1u << u);
          continue;
        }
        const int pos = atomicAdd(&cnt[q], 1);
        if (pos < cap) {
          bs[q * cap + pos] = sc[q][u];
          br[q * cap + pos] = row[u];
          pend[q] &= ~(1u << u);
        }
      }
      left |= pend[q] != 0;
    }
    if (!__syncthreads_or(left)) return;
    for (int q = 0; q < BQ; ++q)
      if (cnt[q] >= cap) compact(bs + q * cap, br + q * cap, &cnt[q], &thr[q], cap, kk, ids);
  }
}

__device__ __forceinline__ bool sorted_contains(const int64_t* b, const int64_t* e, int64_t row) {
  int64_t n = e - b;
  while (n > 0) {
    const int64_t half = n / 2;
    if (b[half] < row) {
      b += half + 1;
      n -= half + 1;
    } else {
      n = half;
    }
  }
  return b != e && *b == row;
}

__device__ __forceinline__ bool admissible(const ScanArgs& a, int qi, int64_t row) {
  if (a.allow && !((a.allow[row >> 6] >> (row & 63)) & 1)) return false;
  if (a.deny && ((a.deny[row >> 6] >> (row & 63)) & 1)) return false;
  if (a.ex_off && sorted_contains(a.ex_rows + a.ex_off[qi], a.ex_rows + a.ex_off[qi + 1], row)) return false;
  return true;
}

// Query dimensions [d0, d0 + dn) of queries q0 .. q0 + BQ into qs (element (dd, q) at dd * BQ + q;
// queries past nq and dimensions past dim (coded padding) read 0).
template <int BQ>
__device__ void load_queries(float* qs, const ScanArgs& a, int q0, int64_t d0, int dn) {
  for (int i = threadIdx.x; i < dn * BQ; i += blockDim.x) {
    const int dd = i / BQ, q = i % BQ;
    qs[i] = q0 + q < a.nq && d0 + dd < a.dim ? a.q[static_cast<int64_t>(q0 + q) * a.dim + d0 + dd] : 0.f;
  }
}

// Shared memory of one stage-1 block: slots BQ x cap (scores, rows), queries dq x BQ, counts, thresholds.
inline size_t scan_smem(int bq, int cap, int dq) {
  return static_cast<size_t>(bq) * cap * 8 + static_cast<size_t>(dq) * bq * 4 + static_cast<size_t>(bq) * 8;
}

// Stage 1. Thread t scores rows 4 (t % 4) .. + 3 of panel t / 4 of each tile against BQ queries: per
// group of dimensions one coalesced load (a panel's 16 lanes of one group are 64 contiguous bytes,
// f16: 32) and 4 G BQ FMAs with the queries broadcast from shared memory.
template <int BQ, class C>
__global__ void __launch_bounds__(kThreads) scan_kernel(ScanArgs a) {
  SIMSAGE_CUDA_DYNAMIC_SHARED(unsigned char, smem);
  float* bs = reinterpret_cast<float*>(smem);
  int* br = reinterpret_cast<int*>(bs + BQ * a.cap);
  float* qs = reinterpret_cast<float*>(br + BQ * a.cap);
  int* cnt = reinterpret_cast<int*>(qs + a.dq * BQ);
  float* thr = reinterpret_cast<float*>(cnt + BQ);
  const int q0 = blockIdx.y * BQ;
  const int64_t np = (a.n + 15) / 16;
  const int64_t pb = np * blockIdx.x / a.slices, pe = np * (blockIdx.x + 1) / a.slices;
  const int64_t D = a.pdim;
  const bool resident = D <= a.dq;
  if (threadIdx.x < BQ) {
    cnt[threadIdx.x] = 0;
    thr[threadIdx.x] = -INFINITY;
  }
  if (resident) load_queries<BQ>(qs, a, q0, 0, static_cast<int>(D));
  __syncthreads();
  const int quad = threadIdx.x & 3;
  for (int64_t p0 = pb; p0 < pe; p0 += kTilePanels) {
    const int64_t p = p0 + (threadIdx.x >> 2);
    const int64_t row0 = p * 16 + quad * 4;
    const bool live = p < pe && row0 < a.n;
    float acc[BQ][4];
#pragma unroll
    for (int q = 0; q < BQ; ++q) acc[q][0] = acc[q][1] = acc[q][2] = acc[q][3] = 0.f;
    for (int64_t d0 = 0; d0 < D; d0 += a.dq) {
      const int dn = static_cast<int>(min(static_cast<int64_t>(a.dq), D - d0));
      if (!resident) {
        __syncthreads();
        load_queries<BQ>(qs, a, q0, d0, dn);
        __syncthreads();
      }
      if (live) {
        const typename C::Raw* x =
            reinterpret_cast<const typename C::Raw*>(a.data) + (p * (D / C::G) + d0 / C::G) * 4 + quad;
        const int groups = dn / C::G;
        // Few queries: the scan is bandwidth-bound, so more loads in flight per thread.
#pragma unroll(BQ <= 2 ? 8 : 4)
        for (int g = 0; g < groups; ++g) {
          float v[4][C::G];
          C::decode(__ldg(x + g * 4), v);
#pragma unroll
          for (int e = 0; e < C::G; ++e)
#pragma unroll
            for (int q = 0; q < BQ; ++q) {
              const float qv = qs[(g * C::G + e) * BQ + q];
              acc[q][0] = fmaf(qv, v[0][e], acc[q][0]);
              acc[q][1] = fmaf(qv, v[1][e], acc[q][1]);
              acc[q][2] = fmaf(qv, v[2][e], acc[q][2]);
              acc[q][3] = fmaf(qv, v[3][e], acc[q][3]);
            }
        }
      }
    }
    // Epilogue: l2 ranks by 2<q,x> - |x|^2 (|q|^2 added in stage 2); rows past n and filtered rows drop.
    int rows[4];
    float nrm[4];
#pragma unroll
    for (int u = 0; u < 4; ++u) {
      rows[u] = static_cast<int>(row0 + u);
      nrm[u] = a.metric == kMetricL2 && live && row0 + u < a.n ? a.sq_norms[row0 + u] : 0.f;
    }
    unsigned pend[BQ];
#pragma unroll
    for (int q = 0; q < BQ; ++q) {
      pend[q] = 0;
      const float th = thr[q];
#pragma unroll
      for (int u = 0; u < 4; ++u) {
        if (a.metric == kMetricL2) acc[q][u] = fmaf(2.f, acc[q][u], -nrm[u]);
        if (live && row0 + u < a.n && q0 + q < a.nq && acc[q][u] >= th && admissible(a, q0 + q, row0 + u))
          pend[q] |= 1u << u;
      }
    }
    offer<BQ, 4>(acc, rows, pend, bs, br, cnt, thr, a.cap, a.kk, a.ids);
  }
  // Each query's best kk of this slice, best first.
  for (int q = 0; q < BQ; ++q) {
    if (q0 + q >= a.nq) break;  // block-uniform
    const int m = min(cnt[q], a.cap);
    compact(bs + q * a.cap, br + q * a.cap, &cnt[q], &thr[q], a.cap, a.kk, a.ids);
    const int keep = min(m, a.kk);
    const int64_t base = (static_cast<int64_t>(q0 + q) * a.slices + blockIdx.x) * a.kk;
    for (int j = threadIdx.x; j < keep; j += blockDim.x) {
      a.cand_s[base + j] = bs[q * a.cap + j];
      a.cand_r[base + j] = br[q * a.cap + j];
    }
    if (threadIdx.x == 0) a.cand_n[static_cast<int64_t>(q0 + q) * a.slices + blockIdx.x] = keep;
  }
}

// Stage 2: one block per query; slots cap (scores, rows) then count and threshold in shared memory.
// Each round reads kMergeU candidates per thread (a barrier per round, so few rounds).
constexpr int kMergeU = 16;
__global__ void __launch_bounds__(kThreads) merge_kernel(MergeArgs a) {
  SIMSAGE_CUDA_DYNAMIC_SHARED(unsigned char, smem);
  float* bs = reinterpret_cast<float*>(smem);
  int* br = reinterpret_cast<int*>(bs + a.cap);
  int* cnt = reinterpret_cast<int*>(br + a.cap);
  float* thr = reinterpret_cast<float*>(cnt + 1);
  const int64_t qi = blockIdx.x;
  if (threadIdx.x == 0) {
    *cnt = 0;
    *thr = -INFINITY;
  }
  __syncthreads();
  const int64_t total = static_cast<int64_t>(a.slices) * a.kk;
  const float* cs = a.cand_s + qi * total;
  const int* cr = a.cand_r + qi * total;
  const int* cn = a.cand_n + qi * a.slices;
  for (int64_t base = 0; base < total; base += kThreads * kMergeU) {
    float sc[1][kMergeU];
    int rows[kMergeU];
    unsigned pend[1] = {0u};
    const float t = *thr;
#pragma unroll
    for (int u = 0; u < kMergeU; ++u) {
      const int64_t i = base + u * kThreads + threadIdx.x;  // coalesced per u
      sc[0][u] = -INFINITY;
      rows[u] = -1;
      if (i < total && i % a.kk < cn[i / a.kk]) {
        sc[0][u] = cs[i];
        rows[u] = cr[i];
        if (sc[0][u] >= t) pend[0] |= 1u << u;
      }
    }
    offer<1, kMergeU>(sc, rows, pend, bs, br, cnt, thr, a.cap, a.kk, a.ids);
  }
  const int m = min(*cnt, a.cap);
  compact(bs, br, cnt, thr, a.cap, a.kk, a.ids);
  const int keep = min(m, a.kk);
  if (a.metric == kMetricL2) {
    for (int j = threadIdx.x; j < keep; j += blockDim.x) bs[j] = fmaxf(0.f, a.qn2[qi] - bs[j]);
    __syncthreads();
    // Keys that differ by less than half an ulp of the distance give equal distances: such runs go
    // toward the smaller id, as the CPU's write_results orders them.
    if (threadIdx.x == 0)
      for (int j = 1; j < keep; ++j)
        for (int m2 = j; m2 > 0 && bs[m2 - 1] == bs[m2]; --m2) {
          const int64_t ia = a.ids ? a.ids[br[m2 - 1]] : br[m2 - 1], ib = a.ids ? a.ids[br[m2]] : br[m2];
          if (ia <= ib) break;
          const int tr = br[m2 - 1];
          br[m2 - 1] = br[m2];
          br[m2] = tr;
        }
    __syncthreads();
  }
  int64_t* oi = a.out_ids + qi * a.k_out;
  float* os = a.out_scores + qi * a.k_out;
  for (int64_t j = threadIdx.x; j < a.k_out; j += blockDim.x) {
    if (j < keep) {
      oi[j] = a.ids ? a.ids[br[j]] : br[j];
      os[j] = bs[j];
    } else {
      oi[j] = -1;
      os[j] = __int_as_float(0x7fc00000);  // quiet NaN
    }
  }
  if (threadIdx.x == 0) a.out_counts[qi] = keep;
}

}  // namespace kern
}  // namespace cuda
}  // namespace similarity
}  // namespace simsage
