// The CUDA top-k driver (similarity_cuda.h): per chunk of queries, prepare them on the device (|q|^2,
// unit rows for cosine), run the scan (topk_kernels.cuh stage 1) over a grid of slices x query blocks
// sized to fill the device once, then merge each query's slices into the outputs (stage 2).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>

#include "core/cuda/check.cuh"
#include "core/cuda/runtime.h"
#include "core/error.h"
#include "similarity/cpu/checks.h"
#include "similarity/cuda/similarity_cuda.h"
#include "similarity/cuda/topk_kernels.cuh"
// (after topk_kernels.cuh)
#include "similarity/cuda/mma_kernels.cuh"

namespace simsage {
namespace similarity {
namespace cuda {
namespace {

using simsage::cuda::DeviceArray;
using simsage::cuda::stream;

constexpr int64_t kQueryChunk = 8192;             // queries per scan: bounds the candidate scratch
constexpr size_t kSlotBudget = size_t{96} << 10;  // shared memory for one block's slots (bytes)
constexpr int kQueryFloats = 4096;                // shared memory for one block's queries (floats)
constexpr int64_t kMmaMinQueries = 16;            // fewer: the exact widening scan (bandwidth-bound)
constexpr int64_t kMinSlicePanels = 8;            // 128 rows
constexpr int64_t kMaxRows = (int64_t{1} << 31) - (int64_t{1} << 16);  // rows are int32 in the kernels

// Scratch kept per calling thread between searches (grown, never shrunk), so a search in a loop
// allocates nothing after the first call.
struct Scratch {
  DeviceArray<float> q, qn2, qscale, cand_s;
  DeviceArray<int> cand_r, cand_n;
};
Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

// One query per warp: |q|^2 in double (the CPU's rule), the row as the kernels read it (cosine: scaled
// to unit length in double, a zero row stays zero), and for the tensor-core scan the power of two
// qscale that brings max |q_d| to <= 2^14 (f16 range; 1 for most queries).
__global__ void prep_queries(const float* q, int64_t nq, int64_t D, int metric, float* out, float* qn2, float* qscale) {
  const int64_t w = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
  const int lane = threadIdx.x & 31;
  if (w >= nq) return;
  const float* x = q + w * D;
  double ss = 0;
  for (int64_t d = lane; d < D; d += 32) ss += static_cast<double>(x[d]) * x[d];
  for (int o = 16; o > 0; o >>= 1) ss += __shfl_xor_sync(0xffffffffu, ss, o);
  const double s = metric == kern::kMetricCosine ? (ss > 0 ? 1.0 / sqrt(ss) : 0.0) : 1.0;
  float mx = 0.f;
  for (int64_t d = lane; d < D; d += 32) {
    const float v = metric == kern::kMetricCosine ? static_cast<float>(x[d] * s) : x[d];
    out[w * D + d] = v;
    mx = fmaxf(mx, fabsf(v));
  }
  for (int o = 16; o > 0; o >>= 1) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, o));
  if (lane == 0) {
    qn2[w] = static_cast<float>(ss);
    float sc = 1.f;
    while (mx / sc > 16384.f) sc *= 2.f;  // |q| < 2^62: at most 48 steps
    qscale[w] = sc;
  }
}

int cap_for(int kk) {
  int c = 256;
  while (c < 2 * kk) c <<= 1;
  return c;
}

struct Plan {
  bool mma = false;  // the tensor-core scan (mma_kernels.cuh)
  int bq = 1, cap = 256, dq = 1, slices = 1, qblocks = 1;
  size_t smem = 0;
};

// Runs the scan when `a` is given, else returns its blocks per SM at this shared memory size.
template <int BQ, class C>
int scan_with(const kern::ScanArgs* a, const Plan& pl) {
  SIMSAGE_CUDA_CHECK(cudaFuncSetAttribute(kern::scan_kernel<BQ, C>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                          static_cast<int>(pl.smem)));
  if (!a) {
    int nb = 0;
    SIMSAGE_CUDA_CHECK(
        cudaOccupancyMaxActiveBlocksPerMultiprocessor(&nb, kern::scan_kernel<BQ, C>, kern::kThreads, pl.smem));
    return std::max(1, nb);
  }
  SIMSAGE_CUDA_LAUNCH(dim3(pl.slices, pl.qblocks), kern::kThreads, pl.smem, kern::scan_kernel<BQ, C>)(*a);
  SIMSAGE_CUDA_LAUNCHED("similarity scan_kernel");
  return 0;
}

template <class C>
int scan_bq(const kern::ScanArgs* a, const Plan& pl) {
  switch (pl.bq) {
    case 1:
      return scan_with<1, C>(a, pl);
    case 2:
      return scan_with<2, C>(a, pl);
    case 4:
      return scan_with<4, C>(a, pl);
    case 8:
      return scan_with<8, C>(a, pl);
    case 16:
      return scan_with<16, C>(a, pl);
    default:
      return scan_with<32, C>(a, pl);
  }
}

// The tensor-core scan, or its blocks per SM when `a` is null.
template <class M>
int scan_mma(const kern::ScanArgs* a, const float* qscale, const Plan& pl) {
  SIMSAGE_CUDA_CHECK(cudaFuncSetAttribute(kern::mma_scan_kernel<M>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                          static_cast<int>(pl.smem)));
  if (!a) {
    int nb = 0;
    SIMSAGE_CUDA_CHECK(
        cudaOccupancyMaxActiveBlocksPerMultiprocessor(&nb, kern::mma_scan_kernel<M>, kern::kThreads, pl.smem));
    return std::max(1, nb);
  }
  SIMSAGE_CUDA_LAUNCH(dim3(pl.slices, pl.qblocks), kern::kThreads, pl.smem, kern::mma_scan_kernel<M>)(*a, qscale);
  SIMSAGE_CUDA_LAUNCHED("similarity mma_scan_kernel");
  return 0;
}

int scan(Storage s, const kern::ScanArgs* a, const Plan& pl, const float* qscale = nullptr) {
  if (pl.mma)
    return s == Storage::BF16 ? scan_mma<kern::MmaBf16>(a, qscale, pl) : scan_mma<kern::MmaF16>(a, qscale, pl);
  if (s == Storage::BF16) return scan_bq<kern::CodecBf16>(a, pl);
  if (s == Storage::F16) return scan_bq<kern::CodecF16>(a, pl);
  return scan_bq<kern::CodecF32>(a, pl);
}

// Queries per block: as many as the slot budget allows (<= 32), no more than the chunk needs. Query
// dimensions in shared memory: all pdim when they fit, else chunks (powers of two: whole bf16 pairs).
// bf16 / f16 batches of >= kMmaMinQueries queries (unless widen_only) take the tensor-core scan: 32
// queries per block, kk <= 128 (the slots of 32 queries fit), pdim <= kMmaMaxPdim.
Plan plan(Storage s, int64_t nq, int64_t n, int64_t pdim, int kk, bool widen_only) {
  Plan pl;
  pl.cap = cap_for(kk);
  pl.mma = s != Storage::F32 && !widen_only && nq >= kMmaMinQueries && kk <= 128 && pdim <= kern::kMmaMaxPdim;
  const int64_t fit = static_cast<int64_t>(kSlotBudget / (static_cast<size_t>(pl.cap) * 8));
  pl.bq = 1;
  while (pl.bq < 32 && pl.bq * 2 <= fit && pl.bq < nq) pl.bq *= 2;
  if (pl.mma) pl.bq = kern::kMmaQueries;
  pl.dq = static_cast<int>(std::min<int64_t>(pdim, kQueryFloats / pl.bq));
  pl.smem = pl.mma ? kern::mma_smem(pl.cap, pdim) : kern::scan_smem(pl.bq, pl.cap, pl.dq);
  pl.qblocks = static_cast<int>((nq + pl.bq - 1) / pl.bq);
  // One wave of blocks over the device; slices of at least kMinSlicePanels panels (small corpora).
  const int64_t target = static_cast<int64_t>(scan(s, nullptr, pl)) * simsage::cuda::sm_count();
  const int64_t max_slices = std::max<int64_t>(1, (n + 15) / 16 / kMinSlicePanels);
  pl.slices = static_cast<int>(std::clamp<int64_t>((target + pl.qblocks - 1) / pl.qblocks, 1, max_slices));
  return pl;
}

// The CPU's query check (search.cpp prepare_queries): ip / l2 queries need |q|^2 < kMaxSqNorm.
void check_queries(const TopkParams& p) {
  if (p.metric == Metric::Cosine) return;
  for (int64_t i = 0; i < p.nq; ++i) {
    double ss = 0;
    for (int64_t d = 0; d < p.dim; ++d) ss += static_cast<double>(p.queries[i * p.dim + d]) * p.queries[i * p.dim + d];
    if (!(ss < static_cast<double>(kMaxSqNorm))) {
      char v[32];
      std::snprintf(v, sizeof v, "%.4g", ss);
      throw_error(ErrorCode::NonFinite, "queries row " + std::to_string(i) + " has |q|^2 = " + v +
                                            ", not below 2^124 (|q| >= 2^62): its " + metric_name(p.metric) +
                                            " scores could overflow float32");
    }
  }
}

// kernel: "cuda-f32", "cuda-bf16" / "cuda-f16" (stored values widened exactly to f32, CUDA cores), or
// "cuda-bf16-mma" / "cuda-f16-mma" (tensor cores, query rounded: mma_kernels.cuh).
TopkStats cuda_stats(Storage s, bool mma = false) {
  TopkStats st;
  st.backend = "cuda";
  if (mma)
    st.kernel = s == Storage::BF16 ? "cuda-bf16-mma" : "cuda-f16-mma";
  else
    st.kernel = s == Storage::BF16 ? "cuda-bf16" : s == Storage::F16 ? "cuda-f16" : "cuda-f32";
  st.threads_used = 1;
  return st;
}

bool storage_ok(Storage s) { return s == Storage::F32 || s == Storage::BF16 || s == Storage::F16; }

const void* elements(const PanelCorpus& c) { return c.storage == Storage::F32 ? c.panels : c.coded; }

}  // namespace

bool supports(const TopkParams& p, int64_t n) {
  if (p.nq <= 0 || n <= 0 || n >= kMaxRows || p.k <= 0 || p.dim <= 0) return false;
  if (std::min(p.k, n) > kMaxK) return false;
  if (p.nq > (int64_t{1} << 28) / p.k) return false;  // nq x k device outputs (a huge k pads on the CPU)
  return p.queries && p.out_ids && p.out_scores && p.out_counts;
}

TopkStats topk_panels_device(const TopkParams& p, const PanelCorpus& c) {
  cpu::check_topk_params(p, c.n);
  if (c.dim != p.dim)
    throw_error(ErrorCode::DimMismatch,
                "query dim " + std::to_string(p.dim) + " != corpus dim " + std::to_string(c.dim));
  need(storage_ok(c.storage) && supports(p, c.n) && elements(c) && (p.metric != Metric::L2 || c.sq_norms),
       ErrorCode::InvalidArgument, "topk_panels_device", "params not supported on CUDA (similarity_cuda.h)");
  const int64_t D = p.dim, K = p.k, PD = coded_dim(D, c.storage);
  const int kk = static_cast<int>(std::min(K, c.n));
  Scratch& s = scratch();
  bool used_mma = false;
  for (int64_t qs = 0; qs < p.nq; qs += kQueryChunk) {
    const int64_t nq = std::min(kQueryChunk, p.nq - qs);
    const Plan pl = plan(c.storage, nq, c.n, PD, kk, p.widen_only);
    used_mma |= pl.mma;
    s.q.reserve(static_cast<size_t>(nq * D));
    s.qn2.reserve(static_cast<size_t>(nq));
    s.qscale.reserve(static_cast<size_t>(nq));
    const size_t ncand = static_cast<size_t>(nq) * pl.slices * kk;
    s.cand_s.reserve(ncand);
    s.cand_r.reserve(ncand);
    s.cand_n.reserve(static_cast<size_t>(nq) * pl.slices);
    SIMSAGE_CUDA_LAUNCH(simsage::cuda::blocks_for(nq * 32, 256), 256, 0, prep_queries)
    (p.queries + qs * D, nq, D, static_cast<int>(p.metric), s.q.data(), s.qn2.data(), s.qscale.data());
    SIMSAGE_CUDA_LAUNCHED("similarity prep_queries");

    kern::ScanArgs a;
    a.data = elements(c);
    a.pdim = PD;
    a.sq_norms = p.metric == Metric::L2 ? c.sq_norms : nullptr;
    a.ids = c.ids;
    a.n = c.n;
    a.dim = D;
    a.metric = static_cast<int>(p.metric);
    a.q = s.q.data();
    a.nq = static_cast<int>(nq);
    a.kk = kk;
    a.cap = pl.cap;
    a.dq = pl.dq;
    a.slices = pl.slices;
    a.allow = p.filter.allow_bits;
    a.deny = p.filter.deny_bits;
    a.ex_off = p.filter.exclude_offsets ? p.filter.exclude_offsets + qs : nullptr;
    a.ex_rows = p.filter.exclude_offsets ? p.filter.exclude_rows : nullptr;
    a.cand_s = s.cand_s.data();
    a.cand_r = s.cand_r.data();
    a.cand_n = s.cand_n.data();
    scan(c.storage, &a, pl, s.qscale.data());

    kern::MergeArgs m;
    m.cand_s = s.cand_s.data();
    m.cand_r = s.cand_r.data();
    m.cand_n = s.cand_n.data();
    m.qn2 = s.qn2.data();
    m.ids = c.ids;
    m.metric = static_cast<int>(p.metric);
    m.slices = pl.slices;
    m.kk = kk;
    m.cap = pl.cap;
    m.k_out = K;
    m.out_ids = p.out_ids + qs * K;
    m.out_scores = p.out_scores + qs * K;
    m.out_counts = p.out_counts + qs;
    const size_t msmem = static_cast<size_t>(pl.cap) * 8 + 8;
    SIMSAGE_CUDA_CHECK(
        cudaFuncSetAttribute(kern::merge_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(msmem)));
    SIMSAGE_CUDA_LAUNCH(static_cast<unsigned>(nq), kern::kThreads, msmem, kern::merge_kernel)(m);
    SIMSAGE_CUDA_LAUNCHED("similarity merge_kernel");
  }
  return cuda_stats(c.storage, used_mma);
}

// Host queries, filters and outputs; `dc` holds device pointers (a resident corpus or a scratch one).
TopkStats run_host(const TopkParams& p, const PanelCorpus& dc) {
  cpu::check_topk_params(p, dc.n);
  check_queries(p);
  if (p.nq == 0) return cuda_stats(dc.storage);
  const int64_t nq = p.nq, D = p.dim, K = p.k, words = (dc.n + 63) / 64;
  DeviceArray<float> q = simsage::cuda::to_device(p.queries, static_cast<size_t>(nq * D));
  DeviceArray<uint64_t> allow, deny;
  DeviceArray<int64_t> ex_off, ex_rows;
  TopkParams d = p;
  d.queries = q.data();
  if (p.filter.allow_bits) {
    allow = simsage::cuda::to_device(p.filter.allow_bits, static_cast<size_t>(words));
    d.filter.allow_bits = allow.data();
  }
  if (p.filter.deny_bits) {
    deny = simsage::cuda::to_device(p.filter.deny_bits, static_cast<size_t>(words));
    d.filter.deny_bits = deny.data();
  }
  if (p.filter.exclude_offsets) {
    ex_off = simsage::cuda::to_device(p.filter.exclude_offsets, static_cast<size_t>(nq + 1));
    const int64_t nrows = std::max<int64_t>(1, p.filter.exclude_offsets[nq]);
    ex_rows.resize(static_cast<size_t>(nrows));
    if (p.filter.exclude_offsets[nq] > 0) ex_rows.upload(p.filter.exclude_rows, static_cast<size_t>(nrows));
    d.filter.exclude_offsets = ex_off.data();
    d.filter.exclude_rows = ex_rows.data();
  }
  DeviceArray<int64_t> oi(static_cast<size_t>(nq * K));
  DeviceArray<float> os(static_cast<size_t>(nq * K));
  DeviceArray<int32_t> oc(static_cast<size_t>(nq));
  d.out_ids = oi.data();
  d.out_scores = os.data();
  d.out_counts = oc.data();
  TopkStats st = topk_panels_device(d, dc);
  oi.download(p.out_ids, static_cast<size_t>(nq * K));
  os.download(p.out_scores, static_cast<size_t>(nq * K));
  oc.download(p.out_counts, static_cast<size_t>(nq));
  return st;
}

TopkStats topk_panels_resident(const TopkParams& p, const DeviceCorpus& c) {
  return run_host(p, device_corpus_view(c));
}

TopkStats topk_panels(const TopkParams& p, const PanelCorpus& c) {
  // What the twin does not take (other storage, bad shapes or buffers, unsupported k) runs on the CPU,
  // which also raises the CPU's errors.
  if (!storage_ok(c.storage) || c.dim != p.dim || !supports(p, c.n) || !elements(c) ||
      (p.metric == Metric::L2 && !c.sq_norms))
    return topk_panels_at(active_simd_level(), p, c);
  struct Free {
    void operator()(DeviceCorpus* d) const { destroy_device_corpus(d); }
  };
  std::unique_ptr<DeviceCorpus, Free> dc(create_device_corpus(c.dim, p.metric, c.storage));
  upload_device_corpus(dc.get(), c, nullptr, 0, true);
  return topk_panels_resident(p, *dc);
}

}  // namespace cuda
}  // namespace similarity
}  // namespace simsage
