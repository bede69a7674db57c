// Stage 1 of the fused top-k on tensor cores, for bf16 / f16 stores and batches of queries (search.cu
// picks it; widen_only or few queries keep the exact widening scan of topk_kernels.cuh). The query is
// rounded to the storage type (f16: first divided by a power of two so that max |q_d| <= 2^14, scores
// multiplied back), products are exact and accumulate in f32: score = <round(q), x>, the same rule as
// the CPU's bf16-dpbf16 path (l2 adds the f32 query's |q|^2). Included by search.cu after topk_kernels.cuh.
//
// mma.sync m16n8k16 (row.col, f32 accumulators): A = 16 corpus rows (one panel) x 16 dimensions, B = 16
// dimensions x 8 queries, C = 16 x 8 scores. Fragments (g = lane / 4, t = lane % 4):
//   A: a0 = (row g, dims 2t, 2t+1), a1 = (row g+8, 2t, 2t+1), a2 = (row g, 2t+8, 2t+9), a3 = (row g+8, 2t+8, 2t+9)
//   B: b0 = (dims 2t, 2t+1; query g), b1 = (dims 2t+8, 2t+9; query g)
//   C: c0 = (row g, query 2t), c1 = (row g, 2t+1), c2 = (row g+8, 2t), c3 = (row g+8, 2t+1)
// each pair packed low element first. A bf16 panel stores row r's dims (2j, 2j+1) as one 32-bit word at
// word j * 16 + r, so every A register is one load; f16 (one dimension per lane) packs two 16-bit loads.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>

namespace simsage {
namespace similarity {
namespace cuda {
namespace kern {

constexpr int kMmaQueries = 32;  // queries per block: 4 n-tiles of 8
constexpr int kMmaPanelsPerWarp = 2;
constexpr int kMmaTilePanels = (kThreads / 32) * kMmaPanelsPerWarp;  // 16 panels = 256 rows per step
constexpr int kMmaMaxPdim = 1024;  // query fragments in shared memory: 32 x (pdim / 2 + 4) words

struct MmaBf16 {
  // Dims (k, k + 1) of panel row r (k even, k < pdim; pdim is even for bf16).
  __device__ static unsigned pair(const void* panel, int64_t pdim, int64_t k, int r) {
    return k < pdim ? __ldg(static_cast<const unsigned*>(panel) + (k / 2) * 16 + r) : 0u;
  }
  __device__ static unsigned round2(float lo, float hi) {
    return static_cast<unsigned>(__bfloat16_as_ushort(__float2bfloat16_rn(lo))) |
           (static_cast<unsigned>(__bfloat16_as_ushort(__float2bfloat16_rn(hi))) << 16);
  }
  __device__ static void mma(float (&c)[4], const unsigned (&a)[4], unsigned b0, unsigned b1) {
#ifdef SIMSAGE_CUDA_EMU
    emu_mma_m16n8k16(c, a, b0, b1, [](unsigned short u) { return __bfloat162float(__ushort_as_bfloat16(u)); });
#else
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
#endif
  }
};

struct MmaF16 {
  __device__ static unsigned pair(const void* panel, int64_t pdim, int64_t k, int r) {
    const unsigned short* h = static_cast<const unsigned short*>(panel);
    const unsigned lo = k < pdim ? __ldg(h + k * 16 + r) : 0u;
    const unsigned hi = k + 1 < pdim ? __ldg(h + (k + 1) * 16 + r) : 0u;
    return lo | (hi << 16);
  }
  __device__ static unsigned round2(float lo, float hi) {
    return static_cast<unsigned>(__half_as_ushort(__float2half_rn(lo))) |
           (static_cast<unsigned>(__half_as_ushort(__float2half_rn(hi))) << 16);
  }
  __device__ static void mma(float (&c)[4], const unsigned (&a)[4], unsigned b0, unsigned b1) {
#ifdef SIMSAGE_CUDA_EMU
    emu_mma_m16n8k16(c, a, b0, b1, [](unsigned short u) { return __half2float(__ushort_as_half(u)); });
#else
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
#endif
  }
};

// Like offer(), for candidates of different queries: item u is (sc[u], row[u]) for query qq[u].
template <int U>
__device__ void offer_items(const float (&sc)[U], const int (&row)[U], const int (&qq)[U], unsigned& pend, float* bs,
                            int* br, int* cnt, float* thr, int nqb, int cap, int kk, const int64_t* ids) {
  for (;;) {
#pragma unroll
    for (int u = 0; u < U; ++u) {
      if (!((pend >> u) & 1u)) continue;
      const int q = qq[u];
      if (sc[u] < thr[q]) {
        pend &= ~(1u << u);
        continue;
      }
      const int pos = atomicAdd(&cnt[q], 1);
      if (pos < cap) {
        bs[q * cap + pos] = sc[u];
        br[q * cap + pos] = row[u];
        pend &= ~(1u << u);
      }
    }
    if (!__syncthreads_or(pend != 0)) return;
    for (int q = 0; q < nqb; ++q)
      if (cnt[q] >= cap) compact(bs + q * cap, br + q * cap, &cnt[q], &thr[q], cap, kk, ids);
  }
}

// Words of one query's fragments in shared memory: pdim / 2 rounded up to whole k-tiles (8 words),
// + 4 so that the 8 queries of a B load fall in different banks.
__host__ __device__ inline int mma_qstride(int64_t pdim) { return static_cast<int>((pdim + 15) / 16 * 8 + 4); }

inline size_t mma_smem(int cap, int64_t pdim) {
  return static_cast<size_t>(kMmaQueries) * cap * 8 + static_cast<size_t>(kMmaQueries) * mma_qstride(pdim) * 4 +
         static_cast<size_t>(kMmaQueries) * 12;
}

// a.q: prepared queries (unit for cosine), qscale: per query, the power of two they are divided by.
template <class M>
__global__ void __launch_bounds__(kThreads) mma_scan_kernel(ScanArgs a, const float* qscale) {
  SIMSAGE_CUDA_DYNAMIC_SHARED(unsigned char, smem);
  float* bs = reinterpret_cast<float*>(smem);
  int* br = reinterpret_cast<int*>(bs + kMmaQueries * a.cap);
  const int qstride = mma_qstride(a.pdim);
  unsigned* qw = reinterpret_cast<unsigned*>(br + kMmaQueries * a.cap);  // [query][k pair]
  int* cnt = reinterpret_cast<int*>(qw + kMmaQueries * qstride);
  float* thr = reinterpret_cast<float*>(cnt + kMmaQueries);
  float* qs = thr + kMmaQueries;  // per query: the scale to multiply scores by
  const int q0 = blockIdx.y * kMmaQueries;
  const int ktiles = static_cast<int>((a.pdim + 15) / 16);
  for (int i = threadIdx.x; i < kMmaQueries * ktiles * 8; i += blockDim.x) {
    const int n = i / (ktiles * 8), j = i % (ktiles * 8);  // query, k pair
    float lo = 0.f, hi = 0.f;
    if (q0 + n < a.nq) {
      const float inv = 1.f / qscale[q0 + n];
      const float* qr = a.q + static_cast<int64_t>(q0 + n) * a.dim;
      if (2 * j < a.dim) lo = qr[2 * j] * inv;
      if (2 * j + 1 < a.dim) hi = qr[2 * j + 1] * inv;
    }
    qw[n * qstride + j] = M::round2(lo, hi);
  }
  if (threadIdx.x < kMmaQueries) {
    cnt[threadIdx.x] = 0;
    thr[threadIdx.x] = -INFINITY;
    qs[threadIdx.x] = q0 + static_cast<int>(threadIdx.x) < a.nq ? qscale[q0 + threadIdx.x] : 1.f;
  }
  __syncthreads();
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
  const int64_t np = (a.n + 15) / 16;
  const int64_t pb = np * blockIdx.x / a.slices, pe = np * (blockIdx.x + 1) / a.slices;
  const int64_t panel_elems = a.pdim * 16;
  const int esize = sizeof(unsigned short);
  for (int64_t p0 = pb; p0 < pe; p0 += kMmaTilePanels) {
    float acc[kMmaPanelsPerWarp][4][4];
#pragma unroll
    for (int j = 0; j < kMmaPanelsPerWarp; ++j)
#pragma unroll
      for (int nt = 0; nt < 4; ++nt) acc[j][nt][0] = acc[j][nt][1] = acc[j][nt][2] = acc[j][nt][3] = 0.f;
    for (int kt = 0; kt < ktiles; ++kt) {
      unsigned b[4][2];
#pragma unroll
      for (int nt = 0; nt < 4; ++nt) {
        b[nt][0] = qw[(nt * 8 + g) * qstride + kt * 8 + t];
        b[nt][1] = qw[(nt * 8 + g) * qstride + kt * 8 + 4 + t];
      }
      const int64_t k = kt * 16 + 2 * t;
#pragma unroll
      for (int j = 0; j < kMmaPanelsPerWarp; ++j) {
        const int64_t p = p0 + warp * kMmaPanelsPerWarp + j;
        if (p >= pe) continue;  // warp-uniform
        const void* panel = static_cast<const unsigned char*>(a.data) + p * panel_elems * esize;
        const unsigned af[4] = {M::pair(panel, a.pdim, k, g), M::pair(panel, a.pdim, k, g + 8),
                                M::pair(panel, a.pdim, k + 8, g), M::pair(panel, a.pdim, k + 8, g + 8)};
#pragma unroll
        for (int nt = 0; nt < 4; ++nt) M::mma(acc[j][nt], af, b[nt][0], b[nt][1]);
      }
    }
    // Epilogue: 32 items per thread, (panel j, n-tile nt, register c) -> row 16 p + g (+8 for c >= 2),
    // query nt * 8 + 2t (+1 for odd c).
    constexpr int U = kMmaPanelsPerWarp * 16;
    float sc[U];
    int rows[U], qq[U];
    unsigned pend = 0;
#pragma unroll
    for (int j = 0; j < kMmaPanelsPerWarp; ++j)
#pragma unroll
      for (int nt = 0; nt < 4; ++nt)
#pragma unroll
        for (int c = 0; c < 4; ++c) {
          const int u = (j * 4 + nt) * 4 + c;
          const int64_t p = p0 + warp * kMmaPanelsPerWarp + j;
          const int64_t row = p * 16 + g + (c >= 2 ? 8 : 0);
          const int q = nt * 8 + 2 * t + (c & 1);
          float s = acc[j][nt][c] * qs[q];
          const bool ok = p < pe && row < a.n && q0 + q < a.nq;
          if (a.metric == kMetricL2) s = fmaf(2.f, s, ok ? -a.sq_norms[row] : 0.f);
          sc[u] = s;
          rows[u] = static_cast<int>(row);
          qq[u] = q;
          if (ok && s >= thr[q] && admissible(a, q0 + q, row)) pend |= 1u << u;
        }
    offer_items<U>(sc, rows, qq, pend, bs, br, cnt, thr, kMmaQueries, a.cap, a.kk, a.ids);
  }
  for (int q = 0; q < kMmaQueries; ++q) {
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

}  // namespace kern
}  // namespace cuda
}  // namespace similarity
}  // namespace simsage
