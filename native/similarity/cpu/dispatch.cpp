// Orchestration of the fused top-k search: argument checks, query preparation, splitting the corpus
// into sub-blocks over the thread pool (each worker keeps its own top-k buffers for all queries),
// merging the workers' buffers and writing outputs. The arithmetic lives in kernel.inl, per ISA.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "core/dispatch.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "similarity/cpu/kernels.h"
#include "similarity/similarity.h"

namespace simsage {

// ---- top-k buffer (compiled once, baseline ISA) ------------------------------------------------

namespace {
// a is worse than b: lower score, or equal score and larger id.
inline bool worse(float sa, int64_t ia, float sb, int64_t ib) { return sa < sb || (sa == sb && ia > ib); }
inline bool better_cand(const TopkCand& a, const TopkCand& b) { return worse(b.score, b.id, a.score, a.id); }
}  // namespace

int64_t topk_capacity(int64_t k) {
  // Between compactions the buffer takes max(16, min(k, 1024)) candidates: each compaction is
  // O(k + that), so the cost per candidate stays a few comparisons for any k.
  return k + std::max<int64_t>(16, std::min<int64_t>(k, 1024));
}

void topk_push(TopkBuffer& b, float score, int64_t id) {
  if (b.size == b.cap) {
    std::nth_element(b.c, b.c + (b.k - 1), b.c + b.size, better_cand);
    b.size = b.k;
    b.thr = b.c[b.k - 1].score;  // the k-th best: nothing scoring below it can enter
    if (score < b.thr) return;
  }
  b.c[b.size++] = TopkCand{score, id};
}

// ---- names, table lookup ---------------------------------------------------------------------

const char* metric_name(Metric m) {
  switch (m) {
    case Metric::InnerProduct: return "ip";
    case Metric::Cosine: return "cosine";
    case Metric::L2: return "l2";
  }
  return "ip";
}

Metric parse_metric(const char* name) {
  std::string s = name ? name : "";
  if (s == "ip") return Metric::InnerProduct;
  if (s == "cosine") return Metric::Cosine;
  if (s == "l2") return Metric::L2;
  throw_error(ErrorCode::UnknownMetric, "unknown metric '" + s + "' (expected 'ip', 'cosine' or 'l2')");
}

namespace cpu {
const KernelTable& kernels_for(SimdLevel level) {
  return SIMSAGE_TABLE_FOR_LEVEL(KernelTable, level, kernels_scalar, kernels_avx2, kernels_avx512);
}
}  // namespace cpu

int64_t find_non_finite(const float* data, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(data[i])) return i;
  return -1;
}

// ---- the search ------------------------------------------------------------------------------

namespace {

constexpr int64_t kSubBlockPanels = 64;   // 1024 rows per task (512 KiB at D = 128)
constexpr int64_t kQueryBatch = 4096;     // bounds buffer memory: threads x batch x topk_capacity(k) x 16 B
// Row-major corpora, by query count (crossovers measured at dim 128, N = 1M):
//   <= kDirectMaxQ: scanned in place (scan_rows); the row tile would compute 16 queries per pass.
//   <= kRowTileMaxQ: the transposed row tile (run_rows: rows broadcast in place, queries packed in
//      panels of 16); packing sub-blocks costs more (2x at Q = 16, 1.3x at Q = 64).
//   more: sub-blocks packed into panels, then the panel tile over query blocks that stay in L2.
constexpr int64_t kDirectMaxQ = 2;
constexpr int64_t kRowTileMaxQ = 256;

// Scratch for one packed sub-block (panels, then |x|^2 per row), kept per thread across calls:
// fresh pages cost ~2.6 us each to fault in, which a short search would pay on every call.
// Held: kSubBlockPanels * 16 * (dim + 1) floats per thread that ever packed (516 KiB at dim 128).
float* pack_scratch(int64_t dim) {
  thread_local std::vector<float> buf;
  const size_t need = static_cast<size_t>(kSubBlockPanels * kPanel * (dim + 1));
  if (buf.size() < need) buf.resize(need);
  return buf.data();
}

void check_params(const TopkParams& p, int64_t n) {
  if (p.dim <= 0) throw_error(ErrorCode::DimMismatch, "dim must be a positive integer");
  if (p.k <= 0) throw_error(ErrorCode::InvalidK, "k must be a positive integer");
  if (p.nq < 0 || n < 0) throw_error(ErrorCode::InvalidArgument, "negative row count");
  if (p.nq > 0 && (!p.queries || !p.out_ids || !p.out_scores || !p.out_counts))
    throw_error(ErrorCode::InvalidArgument, "null query or output buffer");
}

struct Source {
  const float* panels = nullptr;  // panel-major corpus, or null for row-major
  const float* sq_norms = nullptr;
  const float* rows = nullptr;    // row-major corpus
  const int64_t* ids = nullptr;
  int64_t n = 0;
  int64_t dim = 0;
};

TopkStats search(SimdLevel level, const TopkParams& p, const Source& src) {
  check_params(p, src.n);
  TopkStats stats;
  level = supported_simd_level(level);
  const cpu::KernelTable& kt = cpu::kernels_for(level);
  stats.simd = level;
  const int64_t D = p.dim, K = p.k, N = src.n;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const int threads = resolve_threads(p.threads);
  stats.threads_used = 1;
  if (p.nq == 0) return stats;

  const int64_t n_panels = (N + kPanel - 1) / kPanel;
  const int64_t n_tasks = (n_panels + kSubBlockPanels - 1) / kSubBlockPanels;
  const int workers = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(threads, n_tasks)));

  for (int64_t qs = 0; qs < p.nq; qs += kQueryBatch) {
    const int64_t nq = std::min(kQueryBatch, p.nq - qs);
    const float* qsrc = p.queries + qs * D;
    // Queries: cosine ones are normalised (a zero query stays zero and scores 0); l2 needs |q|^2.
    std::vector<float> qbuf;
    std::vector<float> qnorm2(nq, 0.f);
    const float* q = qsrc;
    if (p.metric != Metric::InnerProduct) {
      for (int64_t i = 0; i < nq; ++i) {
        double ss = 0;
        for (int64_t d = 0; d < D; ++d) ss += static_cast<double>(qsrc[i * D + d]) * qsrc[i * D + d];
        qnorm2[i] = static_cast<float>(ss);
      }
      if (p.metric == Metric::Cosine) {
        qbuf.resize(nq * D);
        for (int64_t i = 0; i < nq; ++i) {
          float s = qnorm2[i] > 0 ? static_cast<float>(1.0 / std::sqrt(static_cast<double>(qnorm2[i]))) : 0.f;
          for (int64_t d = 0; d < D; ++d) qbuf[i * D + d] = qsrc[i * D + d] * s;
        }
        q = qbuf.data();
      }
    }
    // Filters are indexed by absolute query; shift the exclusion offsets for this batch.
    RowFilter filt = p.filter;
    if (filt.exclude_offsets) filt.exclude_offsets += qs;

    // Query tiles for the micro-kernel (layout in kernels.h).
    const int64_t mr = kt.kMr;
    std::vector<float> qpack(static_cast<size_t>((nq + mr - 1) / mr * mr * D), 0.f);
    for (int64_t i = 0; i < nq; ++i)
      for (int64_t d = 0; d < D; ++d) qpack[(i / mr) * D * mr + d * mr + i % mr] = q[i * D + d];

    std::vector<float> qpanel;
    if (!src.panels && nq > kDirectMaxQ && nq <= kRowTileMaxQ) {
      qpanel.assign(static_cast<size_t>((nq + kPanel - 1) / kPanel * kPanel * D), 0.f);
      for (int64_t i = 0; i < nq; ++i)
        for (int64_t d = 0; d < D; ++d) qpanel[(i / kPanel) * D * kPanel + d * kPanel + i % kPanel] = q[i * D + d];
    }

    cpu::Ctx ctx;
    ctx.q = q;
    ctx.qpack = qpack.data();
    ctx.qpanel = qpanel.data();
    ctx.dim = D;
    ctx.k = K;
    ctx.metric = p.metric;
    ctx.filter = &filt;
    ctx.ids = src.ids;
    ctx.n = N;
    std::atomic<int> nonfinite{0};
    ctx.check_finite = src.panels == nullptr;  // caller-held row-major corpus (see kernels.h)
    ctx.nonfinite = &nonfinite;

    // Large k, many queries and a small stored (panel) corpus: split the queries instead of the
    // corpus. Each task owns its queries' buffers: no per-worker copies, no merge, and no duplicated
    // selection work (with a split corpus every worker keeps its own top k of every query, which
    // at k = 100 is a large share of a short scan). The price is one corpus read per task, so only
    // for corpora up to 2^25 floats. Measured (2 threads, D = 128, k = 100, Q = 1024): N = 100k
    // 12.1k -> 14.2k q/s; at N = 1M, or k = 10, the corpus split is as fast or faster.
    const bool query_split = src.panels != nullptr && workers > 1 && K >= 64 && nq >= 128 * threads &&
                             N * D <= (int64_t{1} << 25);
    const int bufsets = query_split ? 1 : workers;

    // Buffers: bufsets x nq buffers of cap slots.
    const int64_t cap = topk_capacity(K);
    std::unique_ptr<TopkCand[]> slots(new TopkCand[static_cast<size_t>(bufsets) * nq * cap]);
    std::vector<TopkBuffer> bufs(static_cast<size_t>(bufsets) * nq);
    for (size_t h = 0; h < bufs.size(); ++h) {
      bufs[h].c = slots.get() + h * cap;
      bufs[h].k = K;
      bufs[h].cap = cap;
    }
    // Row-major corpora are packed one sub-block at a time into the running thread's scratch.
    const bool packed = src.panels == nullptr;
    // Queries per block: enough to amortise reading a sub-block, few enough to stay in L2.
    const int64_t qblock = std::max<int64_t>(1, 32768 / (D * kt.kMr)) * kt.kMr;

    int used;
    if (query_split) {
      const int64_t qtasks = 2 * static_cast<int64_t>(threads);
      const int64_t chunk = ((nq + qtasks - 1) / qtasks + kt.kMr - 1) / kt.kMr * kt.kMr;  // tiles start at kMr multiples
      const float* norms = p.metric == Metric::L2 ? src.sq_norms : nullptr;
      used = parallel_for((nq + chunk - 1) / chunk, threads, [&](int64_t task, int) {
        const int64_t qb = task * chunk, qe = std::min(nq, qb + chunk);
        for (int64_t pb = 0; pb < n_panels; pb += kSubBlockPanels) {  // a sub-block stays in L2
          const int64_t pe = std::min(n_panels, pb + kSubBlockPanels);
          for (int64_t b = qb; b < qe; b += qblock)
            kt.run_block(ctx, bufs.data(), b, std::min(qe, b + qblock), src.panels, pb, pe, norms, 0);
        }
      });
    } else used = parallel_for(n_tasks, workers, [&](int64_t task, int w) {
      TopkBuffer* wh = bufs.data() + static_cast<size_t>(w) * nq;
      const int64_t pb = task * kSubBlockPanels;
      const int64_t pe = std::min(n_panels, pb + kSubBlockPanels);
      const float* panels;
      const float* norms;
      int64_t lpb, lpe, row_offset;
      if (packed && nq <= kDirectMaxQ) {
        kt.scan_rows(ctx, wh, 0, nq, src.rows, pb * kPanel, std::min(N, pe * kPanel));
        return;
      }
      if (packed && nq <= kRowTileMaxQ) {
        kt.run_rows(ctx, wh, nq, src.rows, pb * kPanel, std::min(N, pe * kPanel));
        return;
      }
      if (packed) {
        const int64_t r0 = pb * kPanel;
        const int64_t rows = std::min(N - r0, (pe - pb) * kPanel);
        float* buf = pack_scratch(D);
        kt.pack_rows(src.rows, r0, rows, D, p.metric, buf, buf + kSubBlockPanels * kPanel * D);
        panels = buf;
        norms = p.metric == Metric::L2 ? buf + kSubBlockPanels * kPanel * D : nullptr;
        lpb = 0;
        lpe = pe - pb;
        row_offset = r0;
      } else {
        panels = src.panels;
        norms = p.metric == Metric::L2 ? src.sq_norms : nullptr;
        lpb = pb;
        lpe = pe;
        row_offset = 0;
      }
      for (int64_t qb = 0; qb < nq; qb += qblock)
        kt.run_block(ctx, wh, qb, std::min(nq, qb + qblock), panels, lpb, lpe, norms, row_offset);
    });
    stats.threads_used = std::max(stats.threads_used, used);
    if (nonfinite.load()) {
      const int64_t bad = find_non_finite(src.rows, N * D);
      if (bad >= 0)
        throw_error(ErrorCode::NonFinite, "corpus contains a non-finite value at row " + std::to_string(bad / D) +
                                              ", column " + std::to_string(bad % D));
      throw_error(ErrorCode::NonFinite, "scores overflow the float range (corpus or query values too large)");
    }

    // Merge the workers' buffers per query and write best-first, queries split over the pool
    // (with many queries and k = 100 this is a visible share of a short scan).
    constexpr int64_t kMergeChunk = 32;
    parallel_for((nq + kMergeChunk - 1) / kMergeChunk, threads, [&](int64_t chunk, int) {
      std::vector<std::pair<float, int64_t>> merged;
      for (int64_t i = chunk * kMergeChunk; i < std::min(nq, (chunk + 1) * kMergeChunk); ++i) {
        merged.clear();
        for (int w = 0; w < bufsets; ++w) {
          const TopkBuffer& b = bufs[static_cast<size_t>(w) * nq + i];
          for (int64_t j = 0; j < b.size; ++j) merged.emplace_back(b.c[j].score, b.c[j].id);
        }
        const int64_t keep = std::min<int64_t>(K, static_cast<int64_t>(merged.size()));
        std::partial_sort(merged.begin(), merged.begin() + keep, merged.end(), [](const auto& a, const auto& b) {
          return worse(b.first, b.second, a.first, a.second);
        });
        int64_t* oi = p.out_ids + (qs + i) * K;
        float* os = p.out_scores + (qs + i) * K;
        for (int64_t j = 0; j < keep; ++j) {
          oi[j] = merged[j].second;
          float s = merged[j].first;
          if (p.metric == Metric::L2) s = std::max(0.f, qnorm2[i] - s);
          os[j] = s;
        }
        for (int64_t j = keep; j < K; ++j) {
          oi[j] = -1;
          os[j] = nan;
        }
        p.out_counts[qs + i] = static_cast<int32_t>(keep);
      }
    });
  }
  return stats;
}

}  // namespace

TopkStats topk_rowmajor_at(SimdLevel level, const TopkParams& p, const float* corpus, int64_t n) {
  if (n > 0 && !corpus) throw_error(ErrorCode::InvalidArgument, "null corpus");
  Source s;
  s.rows = corpus;
  s.n = n;
  s.dim = p.dim;
  return search(level, p, s);
}

TopkStats topk_panels_at(SimdLevel level, const TopkParams& p, const PanelCorpus& c) {
  if (c.dim != p.dim) throw_error(ErrorCode::DimMismatch, "query dim " + std::to_string(p.dim) +
                                                              " != corpus dim " + std::to_string(c.dim));
  if (c.n > 0 && (!c.panels || (p.metric == Metric::L2 && !c.sq_norms)))
    throw_error(ErrorCode::InvalidArgument, "null corpus buffer");
  Source s;
  s.panels = c.panels;
  s.sq_norms = c.sq_norms;
  s.ids = c.ids;
  s.n = c.n;
  s.dim = c.dim;
  return search(level, p, s);
}

TopkStats topk_rowmajor(const TopkParams& p, const float* corpus, int64_t n) {
  return topk_rowmajor_at(active_simd_level(), p, corpus, n);
}

TopkStats topk_panels(const TopkParams& p, const PanelCorpus& c) {
  return topk_panels_at(active_simd_level(), p, c);
}

// ---- scalar reference ------------------------------------------------------------------------

void topk_reference(const TopkParams& p, const float* corpus, int64_t n, const int64_t* ids) {
  check_params(p, n);
  const int64_t D = p.dim, K = p.k;
  std::vector<std::pair<float, int64_t>> all;
  for (int64_t i = 0; i < p.nq; ++i) {
    all.clear();
    const float* q = p.queries + i * D;
    double qn = 0;
    for (int64_t d = 0; d < D; ++d) qn += static_cast<double>(q[d]) * q[d];
    for (int64_t r = 0; r < n; ++r) {
      const RowFilter& f = p.filter;
      if (f.allow_bits && !((f.allow_bits[r >> 6] >> (r & 63)) & 1)) continue;
      if (f.deny_bits && ((f.deny_bits[r >> 6] >> (r & 63)) & 1)) continue;
      if (f.exclude_offsets &&
          std::binary_search(f.exclude_rows + f.exclude_offsets[i], f.exclude_rows + f.exclude_offsets[i + 1], r))
        continue;
      const float* x = corpus + r * D;
      double dot = 0, xn = 0, l2 = 0;
      for (int64_t d = 0; d < D; ++d) {
        dot += static_cast<double>(q[d]) * x[d];
        xn += static_cast<double>(x[d]) * x[d];
        double diff = static_cast<double>(q[d]) - x[d];
        l2 += diff * diff;
      }
      float internal;  // higher is better
      if (p.metric == Metric::InnerProduct) internal = static_cast<float>(dot);
      else if (p.metric == Metric::Cosine) internal = (qn > 0 && xn > 0) ? static_cast<float>(dot / std::sqrt(qn * xn)) : 0.f;
      else internal = static_cast<float>(-l2);
      all.emplace_back(internal, ids ? ids[r] : r);
    }
    const int64_t keep = std::min<int64_t>(K, static_cast<int64_t>(all.size()));
    std::partial_sort(all.begin(), all.begin() + keep, all.end(), [](const auto& a, const auto& b) {
      return worse(b.first, b.second, a.first, a.second);
    });
    for (int64_t j = 0; j < K; ++j) {
      if (j < keep) {
        p.out_ids[i * K + j] = all[j].second;
        p.out_scores[i * K + j] = p.metric == Metric::L2 ? -all[j].first : all[j].first;
      } else {
        p.out_ids[i * K + j] = -1;
        p.out_scores[i * K + j] = std::numeric_limits<float>::quiet_NaN();
      }
    }
    p.out_counts[i] = static_cast<int32_t>(keep);
  }
}

}  // namespace simsage
