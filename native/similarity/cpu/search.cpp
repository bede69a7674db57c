// The fused top-k search driver: per batch of queries, prepare them (normalise, norms, tiles), scan
// the corpus over the thread pool (sub-blocks of the corpus, or ranges of queries, per task; each
// worker keeps its own top-k buffers), check for non-finite scores, then merge the buffers and write
// the outputs. The arithmetic lives in search.inl, per ISA.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/finite.h"
#include "core/parallel.h"
#include "similarity/cpu/checks.h"
#include "similarity/cpu/quant.h"
#include "similarity/cpu/search_kernels.h"
#include "similarity/similarity.h"
#if SIMSAGE_WITH_CUDA
#include "core/backend.h"
#include "similarity/cuda/similarity_cuda.h"
#endif

namespace simsage {
namespace similarity {
namespace cpu {
namespace {

constexpr int64_t kSubBlockPanels = 64;  // 1024 rows per task (512 KiB at D = 128)
constexpr int64_t kQueryBatch = 4096;    // bounds buffer memory: threads x batch x topk_capacity(min(k, n)) x 16 B
// Row-major corpora, by query count (crossovers measured at dim 128, N = 1M):
//   <= kDirectMaxQ: scanned in place (scan_rows); the row tile would compute 16 queries per pass.
//   <= kRowTileMaxQ: the transposed row tile (run_rows: rows broadcast in place, queries packed in
//      panels of 16); packing sub-blocks costs more (2x at Q = 16, 1.3x at Q = 64).
//   more: sub-blocks packed into panels, then the panel tile over query blocks that stay in L2.
constexpr int64_t kDirectMaxQ = 2;
constexpr int64_t kRowTileMaxQ = 256;
constexpr int64_t kMergeChunk = 32;  // queries per merge task

// Scratch for one packed sub-block (panels, then |x|^2 per row), kept per thread across calls:
// fresh pages cost ~2.6 us each to fault in, which a short search would pay on every call.
// Held: kSubBlockPanels * 16 * (dim + 1) floats per thread that ever packed (516 KiB at dim 128).
float* pack_scratch(int64_t dim) {
  thread_local std::vector<float> buf;
  const size_t need = static_cast<size_t>(kSubBlockPanels * kPanel * (dim + 1));
  if (buf.size() < need) buf.resize(need);
  return buf.data();
}

// The corpus of one search: panel-major (an index) or row-major (caller memory).
struct Source {
  const float* panels = nullptr;  // panel-major corpus, or null for row-major
  const void* coded = nullptr;    // coded panel-major corpus (storage != F32), or null
  Storage storage = Storage::F32;
  const float* scales = nullptr;       // i8 row scales
  const int32_t* code_sums = nullptr;  // i8 row code sums (optional)
  const float* dim_scales = nullptr;   // i8 per-dimension scales (folded into the queries), or null
  int64_t pdim = 0;                    // coded_dim(dim, storage)
  // Coded corpora: the scan kernel chosen in search() (run_coded of the level, or a fast path, which
  // reads Ctx::qpack32 instead of Ctx::qpack).
  void (*run)(const Ctx& c, TopkBuffer* bufs, int64_t qb, int64_t qe, const void* panels, int64_t pb, int64_t pe,
              const float* norms, int64_t row_offset) = nullptr;
  Storage fast = Storage::F32;  // BF16 / I8 when run is a fast path
  const float* sq_norms = nullptr;
  const float* rows = nullptr;  // row-major corpus
  const int64_t* ids = nullptr;
  int64_t n = 0;
  int64_t dim = 0;
};

// Queries [qs, qs + nq) as the kernels read them (layouts in search_kernels.h).
struct QueryBatch {
  int64_t qs = 0, nq = 0;
  const float* q = nullptr;       // nq x dim: the caller's rows, or qbuf
  std::vector<float> qbuf;        // cosine: the rows scaled to unit length (a zero query stays zero)
  std::vector<float> qfold;       // per-dimension i8 scales: the rows times s_d (similarity.h)
  std::vector<float> qnorm2;      // nq: |q|^2 for cosine and l2 (l2 adds it back to the scores), else 0
  std::vector<float> qpack;       // tiles of kMr queries
  std::vector<float> qpanel;      // panels of 16 queries, for the transposed row tile only
  std::vector<uint32_t> qpack32;  // fast coded paths: rounded query groups (Ctx::qpack32)
  std::vector<float> qscale;      // i8-vnni: per-query scale s_q
  RowFilter filter;               // the caller's, exclusion offsets shifted to this batch
};

// The fast paths' query tiles (Ctx::qpack32): bf16 pairs (low half the even dimension), or i8 codes
// of the query quantised like a stored row, offset to u8 (c + 128), four per 32 bits.
void pack_fast_queries(const Source& src, const float* q, int64_t D, int64_t nq, int mr, QueryBatch* b) {
  const int64_t PD = src.pdim, G = storage_group(src.fast), ng = PD / G;
  b->qpack32.assign(static_cast<size_t>((nq + mr - 1) / mr * mr * ng), 0u);
  if (src.fast == Storage::I8) b->qscale.assign(static_cast<size_t>(nq), 0.f);
  std::vector<int8_t> codes(static_cast<size_t>(PD));
  for (int64_t i = 0; i < nq; ++i) {
    uint32_t* t = b->qpack32.data() + (i / mr) * ng * mr + i % mr;
    const float* qi = q + i * D;
    if (src.fast == Storage::BF16) {
      for (int64_t g = 0; g < ng; ++g) {
        const uint32_t lo = f32_to_bf16(qi[2 * g]);
        const uint32_t hi = 2 * g + 1 < D ? f32_to_bf16(qi[2 * g + 1]) : 0u;
        t[g * mr] = lo | (hi << 16);
      }
      continue;
    }
    encode_row(Storage::I8, qi, D, false, codes.data(), &b->qscale[i]);
    for (int64_t g = 0; g < ng; ++g) {
      uint32_t w = 0;
      for (int j = 0; j < 4; ++j) w |= static_cast<uint32_t>(static_cast<uint8_t>(codes[g * 4 + j] + 128)) << (8 * j);
      t[g * mr] = w;
    }
  }
}

void prepare_queries(const TopkParams& p, const Source& src, int mr, QueryBatch* b) {
  const int64_t D = p.dim, nq = b->nq, PD = src.pdim;
  const float* qsrc = p.queries + b->qs * D;
  b->q = qsrc;
  b->qnorm2.assign(static_cast<size_t>(nq), 0.f);
  // |q|^2 in double: the magnitude rule for ip and l2 (similarity.h), |q|^2 for l2, and for cosine a
  // scale that works for any finite non-zero query (a float 1/|q| overflows below |q| ~ 3e-39).
  if (p.metric == Metric::Cosine) b->qbuf.resize(nq * D);
  for (int64_t i = 0; i < nq; ++i) {
    const float* q = qsrc + i * D;
    double ss = 0;
    for (int64_t d = 0; d < D; ++d) ss += static_cast<double>(q[d]) * q[d];
    if (p.metric == Metric::Cosine) {
      const double s = ss > 0 ? 1.0 / std::sqrt(ss) : 0.0;
      for (int64_t d = 0; d < D; ++d) b->qbuf[i * D + d] = static_cast<float>(q[d] * s);
      continue;
    }
    if (!(ss < static_cast<double>(kMaxSqNorm))) {
      char v[32];
      std::snprintf(v, sizeof v, "%.4g", ss);
      throw_error(ErrorCode::NonFinite, "queries row " + std::to_string(b->qs + i) + " has |q|^2 = " + v +
                                            ", not below 2^124 (|q| >= 2^62): its " + metric_name(p.metric) +
                                            " scores could overflow float32");
    }
    b->qnorm2[i] = static_cast<float>(ss);
  }
  if (p.metric == Metric::Cosine) b->q = b->qbuf.data();
  b->filter = p.filter;  // filters are indexed by absolute query
  if (b->filter.exclude_offsets) b->filter.exclude_offsets += b->qs;
  if (src.dim_scales) {  // <q, r s * c> = r <q * s, c>: the kernels see q * s and the row scale r
    b->qfold.resize(static_cast<size_t>(nq * D));
    for (int64_t i = 0; i < nq; ++i)
      for (int64_t d = 0; d < D; ++d) b->qfold[i * D + d] = b->q[i * D + d] * src.dim_scales[d];
    b->q = b->qfold.data();
  }
  const float* q = b->q;
  if (src.fast != Storage::F32) {
    pack_fast_queries(src, q, D, nq, mr, b);
    return;
  }
  b->qpack.assign(static_cast<size_t>((nq + mr - 1) / mr * mr * PD), 0.f);  // zero past dim (coded padding)
  for (int64_t i = 0; i < nq; ++i)
    for (int64_t d = 0; d < D; ++d) b->qpack[(i / mr) * PD * mr + d * mr + i % mr] = q[i * D + d];
  if (!src.panels && !src.coded && nq > kDirectMaxQ && nq <= kRowTileMaxQ) {
    b->qpanel.assign(static_cast<size_t>((nq + kPanel - 1) / kPanel * kPanel * D), 0.f);
    for (int64_t i = 0; i < nq; ++i)
      for (int64_t d = 0; d < D; ++d) b->qpanel[(i / kPanel) * D * kPanel + d * kPanel + i % kPanel] = q[i * D + d];
  }
}

// sets x nq top-k buffers (set s, query i at bufs[s * nq + i]) over one slot array.
struct Buffers {
  std::unique_ptr<TopkCand[]> slots;
  size_t slot_capacity = 0;
  std::vector<TopkBuffer> bufs;
  int sets = 1;
};

// Slot storage kept between calls on one calling thread (a search runs on one calling thread at a
// time): a fresh multi-megabyte array per call costs a page fault per 4 KiB (~300 per call at
// Q = 1024, k = 100). Up to kKeptSlotBytes stays allocated; a larger array is freed after its call.
constexpr size_t kKeptSlotBytes = size_t{64} << 20;

Buffers& thread_buffers() {
  thread_local Buffers b;
  return b;
}

void make_buffers(int sets, int64_t nq, int64_t k, Buffers* b) {
  const int64_t cap = topk_capacity(k);
  const size_t n = static_cast<size_t>(sets) * nq * cap;
  b->sets = sets;
  if (n > b->slot_capacity) {
    b->slots.reset();
    b->slots.reset(new TopkCand[n]);
    b->slot_capacity = n;
  }
  b->bufs.assign(static_cast<size_t>(sets) * nq, TopkBuffer{});
  for (size_t h = 0; h < b->bufs.size(); ++h) {
    b->bufs[h].c = b->slots.get() + h * cap;
    b->bufs[h].k = k;
    b->bufs[h].cap = cap;
  }
}

// Frees slot storage past kKeptSlotBytes once a call is done with it.
void trim_buffers(Buffers* b) {
  if (b->slot_capacity * sizeof(TopkCand) > kKeptSlotBytes) {
    b->slots.reset();
    b->slot_capacity = 0;
    b->bufs.clear();
    b->bufs.shrink_to_fit();
  }
}

// Queries per block: enough to amortise reading a sub-block, few enough to stay in L2.
int64_t query_block(const SearchKernels& kt, int64_t dim) {
  return std::max<int64_t>(1, 32768 / (dim * kt.kMr)) * kt.kMr;
}

// Each task owns a range of queries (one buffer set) and reads the whole panel corpus.
int scan_split_queries(const SearchKernels& kt, const Ctx& ctx, const Source& src, Metric metric, int threads,
                       int64_t nq, Buffers* b) {
  const int64_t n_panels = (src.n + kPanel - 1) / kPanel;
  const int64_t qtasks = 2 * static_cast<int64_t>(threads);
  const int64_t chunk = ((nq + qtasks - 1) / qtasks + kt.kMr - 1) / kt.kMr * kt.kMr;  // tiles start at kMr multiples
  const int64_t qblock = query_block(kt, src.dim);
  const float* norms = metric == Metric::L2 ? src.sq_norms : nullptr;
  return parallel_chunks(nq, chunk, threads, [&](int64_t qb, int64_t qe, int) {
    for (int64_t pb = 0; pb < n_panels; pb += kSubBlockPanels) {  // a sub-block stays in L2
      const int64_t pe = std::min(n_panels, pb + kSubBlockPanels);
      for (int64_t q = qb; q < qe; q += qblock) {
        if (src.coded)
          src.run(ctx, b->bufs.data(), q, std::min(qe, q + qblock), src.coded, pb, pe, norms, 0);
        else
          kt.run_block(ctx, b->bufs.data(), q, std::min(qe, q + qblock), src.panels, pb, pe, norms, 0);
      }
    }
  });
}

// Each task owns a sub-block of the corpus; worker w offers to buffer set w. Row-major corpora are
// scanned in place (few queries) or packed one sub-block at a time into the worker's scratch.
int scan_split_corpus(const SearchKernels& kt, const Ctx& ctx, const Source& src, Metric metric, int workers,
                      int64_t nq, Buffers* b) {
  const int64_t N = src.n, D = src.dim;
  const int64_t n_panels = (N + kPanel - 1) / kPanel;
  const int64_t qblock = query_block(kt, D);
  const bool packed = src.panels == nullptr && src.coded == nullptr;
  return parallel_chunks(n_panels, kSubBlockPanels, workers, [&](int64_t pb, int64_t pe, int w) {
    TopkBuffer* wh = b->bufs.data() + static_cast<size_t>(w) * nq;
    if (src.coded) {
      const float* norms = metric == Metric::L2 ? src.sq_norms : nullptr;
      for (int64_t qb = 0; qb < nq; qb += qblock)
        src.run(ctx, wh, qb, std::min(nq, qb + qblock), src.coded, pb, pe, norms, 0);
      return;
    }
    if (packed && nq <= kDirectMaxQ) {
      kt.scan_rows(ctx, wh, 0, nq, src.rows, pb * kPanel, std::min(N, pe * kPanel));
      return;
    }
    if (packed && nq <= kRowTileMaxQ) {
      kt.run_rows(ctx, wh, nq, src.rows, pb * kPanel, std::min(N, pe * kPanel));
      return;
    }
    const float* panels = src.panels;
    const float* norms = metric == Metric::L2 ? src.sq_norms : nullptr;
    int64_t lpb = pb, lpe = pe, row_offset = 0;
    if (packed) {
      const int64_t r0 = pb * kPanel;
      const int64_t rows = std::min(N - r0, (pe - pb) * kPanel);
      float* buf = pack_scratch(D);
      if (!kt.pack_rows(src.rows, r0, rows, D, metric, buf, buf + kSubBlockPanels * kPanel * D))
        ctx.nonfinite->store(1, std::memory_order_relaxed);  // a row over the magnitude bound
      panels = buf;
      norms = metric == Metric::L2 ? buf + kSubBlockPanels * kPanel * D : nullptr;
      lpb = 0;
      lpe = pe - pb;
      row_offset = r0;
    }
    for (int64_t qb = 0; qb < nq; qb += qblock)
      kt.run_block(ctx, wh, qb, std::min(nq, qb + qblock), panels, lpb, lpe, norms, row_offset);
  });
}

// A non-finite score: a bad value in a caller-held corpus, or (ip, l2) a row over the magnitude
// bound (similarity.h), which the kernels flag where they compute row norms.
[[noreturn]] void throw_non_finite(const Source& src, Metric metric) {
  const int64_t bad = find_non_finite(src.rows, src.n * src.dim);
  if (bad >= 0)
    throw_error(ErrorCode::NonFinite, "corpus contains a non-finite value at row " + std::to_string(bad / src.dim) +
                                          ", column " + std::to_string(bad % src.dim));
  for (int64_t r = 0; src.rows && metric != Metric::Cosine && r < src.n; ++r) {
    double ss = 0;
    for (int64_t d = 0; d < src.dim; ++d)
      ss += static_cast<double>(src.rows[r * src.dim + d]) * src.rows[r * src.dim + d];
    if (!(ss < static_cast<double>(kMaxSqNorm))) {
      char v[32];
      std::snprintf(v, sizeof v, "%.4g", ss);
      throw_error(ErrorCode::NonFinite, "corpus row " + std::to_string(r) + " has |x|^2 = " + v +
                                            ", not below 2^124 (|x| >= 2^62): its " + metric_name(metric) +
                                            " scores could overflow float32");
    }
  }
  throw_error(ErrorCode::NonFinite, "scores overflow the float range (corpus or query values too large)");
}

// Merges each query's buffers and writes its row of the outputs best-first, padded with id -1 and
// score NaN; queries split over the pool (with many queries and k = 100 this is a visible share of
// a short scan).
void write_results(const TopkParams& p, const QueryBatch& qb, const Buffers& b, int threads) {
  const int64_t K = p.k, nq = qb.nq;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  parallel_chunks(nq, kMergeChunk, threads, [&](int64_t i0, int64_t i1, int) {
    std::vector<TopkCand> merged;
    for (int64_t i = i0; i < i1; ++i) {
      merged.clear();
      for (int s = 0; s < b.sets; ++s) {
        const TopkBuffer& h = b.bufs[static_cast<size_t>(s) * nq + i];
        merged.insert(merged.end(), h.c, h.c + h.size);
      }
      const int64_t keep = topk_sort_best(merged.data(), static_cast<int64_t>(merged.size()), K);
      int64_t* oi = p.out_ids + (qb.qs + i) * K;
      float* os = p.out_scores + (qb.qs + i) * K;
      for (int64_t j = 0; j < keep; ++j) {
        oi[j] = merged[j].id;
        float s = merged[j].score;
        if (p.metric == Metric::L2) s = std::max(0.f, qb.qnorm2[i] - s);
        os[j] = s;
      }
      // l2 ranks by the key 2<q,x> - |x|^2 and adds |q|^2 only here: keys that differ by less than
      // half an ulp of the distance round to equal distances. Order such runs toward the smaller id
      // (the documented tie rule for returned scores); the distances stay sorted.
      if (p.metric == Metric::L2)
        for (int64_t j = 1; j < keep; ++j)
          for (int64_t m = j; m > 0 && os[m - 1] == os[m] && oi[m - 1] > oi[m]; --m) std::swap(oi[m - 1], oi[m]);
      for (int64_t j = keep; j < K; ++j) {
        oi[j] = -1;
        os[j] = nan;
      }
      p.out_counts[qb.qs + i] = static_cast<int32_t>(keep);
    }
  });
}

// The coded scan kernel: a fast path (similarity.h) when the level in use is AVX-512, the CPU has
// the extension and the caller allows it, else the level's widening run_coded. Sets stats.kernel.
void choose_coded_kernel(const SearchKernels& kt, const TopkParams& p, Source* src, TopkStats* stats) {
  src->run = kt.run_coded[static_cast<int>(src->storage)];
  src->fast = Storage::F32;
  stats->kernel = src->storage == Storage::BF16  ? "bf16-widen"
                  : src->storage == Storage::F16 ? "f16-widen"
                                                 : "i8-widen";
#if defined(SIMSAGE_X86)
  if (p.widen_only || stats->simd != SimdLevel::Avx512) return;
  const CpuFeatures& f = cpu_features();
  if (!f.avx512 || !(src->storage == Storage::BF16 ? f.avx512_bf16 : src->storage == Storage::I8 && f.avx512_vnni))
    return;
  static const FastCodedKernels fk = search_fast_kernels_avx512x();
  if (fk.kMr != kt.kMr) return;  // the query tiles are packed with the table's kMr
  if (src->storage == Storage::BF16 && fk.bf16_dpbf16) {
    src->run = fk.bf16_dpbf16;
    src->fast = Storage::BF16;
    stats->kernel = "bf16-dpbf16";
  } else if (src->storage == Storage::I8 && fk.i8_vnni && src->code_sums && src->pdim <= 65536) {
    // 65536 x 255 x 127 < 2^31: the int32 accumulator cannot overflow.
    src->run = fk.i8_vnni;
    src->fast = Storage::I8;
    stats->kernel = "i8-vnni";
  }
#else
  (void)p;
#endif
}

TopkStats search(SimdLevel level, const TopkParams& p, Source src) {
  check_topk_params(p, src.n);
  TopkStats stats;
  const SearchKernels& kt = search_kernels_for(level, &stats.simd);
  stats.kernel = "f32";
  if (src.coded) choose_coded_kernel(kt, p, &src, &stats);
  const int64_t D = p.dim, K = p.k, N = src.n;
  const int threads = resolve_threads(p.threads);
  stats.threads_used = 1;
  if (p.nq == 0) return stats;
  const int64_t n_panels = (N + kPanel - 1) / kPanel;
  const int64_t n_tasks = (n_panels + kSubBlockPanels - 1) / kSubBlockPanels;
  const int workers = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(threads, n_tasks)));
  // Candidate buffers never need more than the corpus rows: k = 2^24 on 10 rows keeps 10 per query.
  const int64_t Kb = std::max<int64_t>(1, std::min(K, N));

  for (int64_t qs = 0; qs < p.nq; qs += kQueryBatch) {
    QueryBatch qb;
    qb.qs = qs;
    qb.nq = std::min(kQueryBatch, p.nq - qs);
    prepare_queries(p, src, kt.kMr, &qb);

    Ctx ctx;
    ctx.q = qb.q;
    ctx.qpack = qb.qpack.data();
    ctx.qpanel = qb.qpanel.data();
    ctx.dim = D;
    ctx.pdim = src.pdim;
    ctx.scales = src.scales;
    ctx.qpack32 = qb.qpack32.data();
    ctx.qscale = qb.qscale.data();
    ctx.code_sums = src.code_sums;
    ctx.k = Kb;
    ctx.metric = p.metric;
    ctx.filter = &qb.filter;
    ctx.ids = src.ids;
    ctx.n = N;
    std::atomic<int> nonfinite{0};
    ctx.check_finite =
        src.panels == nullptr && src.coded == nullptr;  // caller-held row-major corpus (see search_kernels.h)
    ctx.nonfinite = &nonfinite;

    // Large k, many queries and a small stored (panel) corpus: split the queries instead of the
    // corpus. Each task owns its queries' buffers: no per-worker copies, no merge, and no duplicated
    // selection work (with a split corpus every worker keeps its own top k of every query, which
    // at k = 100 is a large share of a short scan). The price is one corpus read per task, so only
    // for corpora up to 2^25 floats. Measured (2 threads, D = 128, k = 100, Q = 1024): N = 100k
    // 12.1k -> 14.2k q/s; at N = 1M, or k = 10, the corpus split is as fast or faster.
    const bool query_split = (src.panels != nullptr || src.coded != nullptr) && workers > 1 && Kb >= 64 &&
                             qb.nq >= 128 * threads && N * D <= (int64_t{1} << 25);
    Buffers& bufs = thread_buffers();
    make_buffers(query_split ? 1 : workers, qb.nq, Kb, &bufs);
    struct Trim {
      Buffers* b;
      ~Trim() { trim_buffers(b); }
    } trim{&bufs};
    const int used = query_split ? scan_split_queries(kt, ctx, src, p.metric, threads, qb.nq, &bufs)
                                 : scan_split_corpus(kt, ctx, src, p.metric, workers, qb.nq, &bufs);
    stats.threads_used = std::max(stats.threads_used, used);
    if (nonfinite.load()) throw_non_finite(src, p.metric);
    write_results(p, qb, bufs, threads);
  }
  return stats;
}

}  // namespace
}  // namespace cpu
}  // namespace similarity

TopkStats topk_rowmajor_at(SimdLevel level, const TopkParams& p, const float* corpus, int64_t n) {
  if (n > 0 && !corpus) throw_error(ErrorCode::InvalidArgument, "null corpus");
  similarity::cpu::Source s;
  s.rows = corpus;
  s.n = n;
  s.dim = p.dim;
  s.pdim = p.dim;
  return similarity::cpu::search(level, p, s);
}

TopkStats topk_panels_at(SimdLevel level, const TopkParams& p, const PanelCorpus& c) {
  if (c.dim != p.dim)
    throw_error(ErrorCode::DimMismatch,
                "query dim " + std::to_string(p.dim) + " != corpus dim " + std::to_string(c.dim));
  const bool coded = c.storage != Storage::F32;
  if (c.n > 0 && ((coded ? !c.coded : !c.panels) || (p.metric == Metric::L2 && !c.sq_norms) ||
                  (c.storage == Storage::I8 && !c.scales)))
    throw_error(ErrorCode::InvalidArgument, "null corpus buffer");
  similarity::cpu::Source s;
  s.panels = coded ? nullptr : c.panels;
  s.coded = coded ? c.coded : nullptr;
  s.storage = c.storage;
  s.scales = c.storage == Storage::I8 ? c.scales : nullptr;
  s.code_sums = c.storage == Storage::I8 ? c.code_sums : nullptr;
  s.dim_scales = c.storage == Storage::I8 ? c.dim_scales : nullptr;
  s.pdim = coded_dim(c.dim, c.storage);
  s.sq_norms = c.sq_norms;
  s.ids = c.ids;
  s.n = c.n;
  s.dim = c.dim;
  return similarity::cpu::search(level, p, s);
}

TopkStats topk_rowmajor(const TopkParams& p, const float* corpus, int64_t n) {
#if SIMSAGE_WITH_CUDA
  // The CUDA twin uploads the corpus per call; what it does not take runs here (similarity_cuda.h).
  if (preferred_backend() == Backend::Cuda && similarity::cuda::supports(p, n) && corpus)
    return similarity::cuda::topk_rowmajor(p, corpus, n);
#endif
  return topk_rowmajor_at(active_simd_level(), p, corpus, n);
}

TopkStats topk_panels(const TopkParams& p, const PanelCorpus& c) { return topk_panels_at(active_simd_level(), p, c); }

}  // namespace simsage
