// Drivers of the hash embedding bag (text.h): the forward splits segments over the thread pool,
// the backward runs the layer norm backward per segment chunk (dgamma / dbeta reduced in chunk
// order), then groups the touched (row, token) pairs by row with a counting sort, so each distinct row's
// gradient is summed by one task in token order: no two tasks write one row, and the result does
// not depend on the thread count.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "core/parallel.h"
#include "nn/cpu/layer_kernels.h"
#include "text/cpu/bag_kernels.h"
#include "text/text.h"

namespace simsage {

namespace {

constexpr int64_t kSegChunk = 64;    // segments per forward / layer-norm task
constexpr int64_t kRowChunk = 256;   // distinct rows per gradient task
constexpr int64_t kTokChunk = 2048;  // tokens per row-lookup task
constexpr int64_t kAhead = 8;        // tokens prefetched ahead in the forward

void prefetch_row(const float* row, int64_t dim) {
  for (int64_t i = 0; i < dim; i += 16) __builtin_prefetch(row + i);
}

void forward_with(const text::cpu::BagKernels& kb, const nn::cpu::LayerKernels& kl, const HashBagParams& p) {
  const int64_t D = p.dim;
  parallel_chunks(p.segments, kSegChunk, p.threads, [&](int64_t b0, int64_t b1, int) {
    // The chunk's rows first (independent of the table), then the gathers with rows kAhead tokens
    // ahead prefetched: the table is far larger than the caches and every row is a random access.
    thread_local std::vector<HashRows> rows;
    const int64_t t0 = p.offsets[b0], t1 = p.offsets[b1];
    rows.resize(static_cast<size_t>(t1 - t0));
    for (int64_t t = t0; t < t1; ++t)
      rows[static_cast<size_t>(t - t0)] = text_hash_rows(p.hashes[t], p.rows, p.importance_rows);
    for (int64_t t = t0; t < t0 + kAhead && t < t1; ++t) {
      prefetch_row(p.table + rows[static_cast<size_t>(t - t0)].a * D, D);
      prefetch_row(p.table + rows[static_cast<size_t>(t - t0)].b * D, D);
    }
    for (int64_t j = b0; j < b1; ++j) {
      float* s = p.pooled + j * D;
      std::memset(s, 0, static_cast<size_t>(D) * sizeof(float));
      for (int64_t t = p.offsets[j]; t < p.offsets[j + 1]; ++t) {
        if (t + kAhead < t1) {
          const HashRows& f = rows[static_cast<size_t>(t + kAhead - t0)];
          prefetch_row(p.table + f.a * D, D);
          prefetch_row(p.table + f.b * D, D);
          __builtin_prefetch(p.importance + 2 * f.q);
        }
        const HashRows& r = rows[static_cast<size_t>(t - t0)];
        const float* w = p.importance + 2 * r.q;
        kb.axpy2(D, w[0], p.table + r.a * D, w[1], p.table + r.b * D, s);
      }
    }
    kl.ln_fwd(b0, b1, D, p.eps, p.pooled, p.gamma, p.beta, p.y, p.mean, p.rstd);
  });
}

// Token slots grouped by row without a comparison sort: `row_of(i)` is the row of slot i (n
// slots). Fills rows (distinct, increasing), starts (rows.size() + 1 run starts) and order (the
// slots, grouped by row, increasing within a row) by a counting sort over the distinct rows: O(n +
// U log U) instead of sorting n 64-bit keys. `mark` is a scratch array of `table_rows` entries.
template <class RowOf>
void group_by_row(int64_t n, int64_t table_rows, RowOf row_of, std::vector<int32_t>* rows, std::vector<int64_t>* starts,
                  std::vector<int32_t>* order) {
  std::vector<int32_t> mark(static_cast<size_t>(table_rows), -1);
  rows->clear();
  for (int64_t i = 0; i < n; ++i) {
    const int32_t r = row_of(i);
    if (mark[static_cast<size_t>(r)] < 0) {
      mark[static_cast<size_t>(r)] = 0;
      rows->push_back(r);
    }
  }
  std::sort(rows->begin(), rows->end());
  const size_t U = rows->size();
  for (size_t u = 0; u < U; ++u) mark[static_cast<size_t>((*rows)[u])] = static_cast<int32_t>(u);
  starts->assign(U + 1, 0);
  for (int64_t i = 0; i < n; ++i) ++(*starts)[static_cast<size_t>(mark[static_cast<size_t>(row_of(i))]) + 1];
  for (size_t u = 0; u < U; ++u) (*starts)[u + 1] += (*starts)[u];
  order->resize(static_cast<size_t>(n));
  std::vector<int64_t> fill(starts->begin(), starts->end() - 1);
  for (int64_t i = 0; i < n; ++i)
    (*order)[static_cast<size_t>(fill[static_cast<size_t>(mark[static_cast<size_t>(row_of(i))])]++)] =
        static_cast<int32_t>(i);
}

void backward_with(const text::cpu::BagKernels& kb, const nn::cpu::LayerKernels& kl, const HashBagBackwardParams& p) {
  const HashBagParams& f = p.fwd;
  const int64_t B = f.segments, D = f.dim, N = f.tokens;
  // Layer norm backward: ds (B x D), per-chunk dgamma / dbeta partials reduced in chunk order.
  std::vector<float> ds(static_cast<size_t>(B * D));
  const int64_t chunks = (B + kSegChunk - 1) / kSegChunk;
  std::vector<float> part(static_cast<size_t>(chunks * 2 * D), 0.f);
  parallel_chunks(B, kSegChunk, p.threads, [&](int64_t b0, int64_t b1, int) {
    float* acc = part.data() + (b0 / kSegChunk) * 2 * D;
    kl.ln_bwd(b0, b1, D, f.pooled, f.gamma, f.mean, f.rstd, p.dy, ds.data(), acc, acc + D);
  });
  if (p.dgamma) std::memset(p.dgamma, 0, static_cast<size_t>(D) * sizeof(float));
  if (p.dbeta) std::memset(p.dbeta, 0, static_cast<size_t>(D) * sizeof(float));
  for (int64_t c = 0; c < chunks; ++c)
    for (int64_t i = 0; i < D; ++i) {
      if (p.dgamma) p.dgamma[i] += part[static_cast<size_t>(c * 2 * D + i)];
      if (p.dbeta) p.dbeta[i] += part[static_cast<size_t>(c * 2 * D + D + i)];
    }
  if (!p.table_grad && !p.importance_grad) return;
  // Per token: its segment and rows.
  std::vector<int32_t> seg(static_cast<size_t>(N));
  for (int64_t j = 0; j < B; ++j)
    for (int64_t t = f.offsets[j]; t < f.offsets[j + 1]; ++t) seg[static_cast<size_t>(t)] = static_cast<int32_t>(j);
  std::vector<HashRows> hr(static_cast<size_t>(N));
  parallel_chunks(N, kTokChunk, p.threads, [&](int64_t t0, int64_t t1, int) {
    for (int64_t t = t0; t < t1; ++t)
      hr[static_cast<size_t>(t)] = text_hash_rows(f.hashes[t], f.rows, f.importance_rows);
  });
  std::vector<int64_t> starts;
  std::vector<int32_t> order;
  if (p.table_grad) {
    // dE[a] += P[q,0] ds_j, dE[b] += P[q,1] ds_j; slot 2 t + k is token t's k-th row.
    SparseRows& g = *p.table_grad;
    group_by_row(
        2 * N, f.rows,
        [&](int64_t i) {
          const HashRows& r = hr[static_cast<size_t>(i >> 1)];
          return static_cast<int32_t>((i & 1) ? r.b : r.a);
        },
        &g.rows, &starts, &order);
    g.width = D;
    const int64_t U = static_cast<int64_t>(g.rows.size());
    g.values.assign(static_cast<size_t>(U * D), 0.f);
    parallel_chunks(U, kRowChunk, p.threads, [&](int64_t u0, int64_t u1, int) {
      for (int64_t u = u0; u < u1; ++u)
        for (int64_t k = starts[static_cast<size_t>(u)]; k < starts[static_cast<size_t>(u + 1)]; ++k) {
          const int32_t ts = order[static_cast<size_t>(k)];
          const int64_t t = ts >> 1;
          const float w = f.importance[2 * hr[static_cast<size_t>(t)].q + (ts & 1)];
          kb.axpy(D, w, ds.data() + int64_t(seg[static_cast<size_t>(t)]) * D, g.values.data() + u * D);
        }
    });
  }
  if (p.importance_grad) {
    // dP[q, k] += <E[row_k], ds_j>: the dots per token, then summed per distinct q in token order.
    std::vector<float> dots(static_cast<size_t>(2 * N));
    parallel_chunks(N, kTokChunk, p.threads, [&](int64_t t0, int64_t t1, int) {
      for (int64_t t = t0; t < t1; ++t) {
        const HashRows& r = hr[static_cast<size_t>(t)];
        const float* d = ds.data() + int64_t(seg[static_cast<size_t>(t)]) * D;
        dots[static_cast<size_t>(2 * t)] = kb.dot(D, f.table + r.a * D, d);
        dots[static_cast<size_t>(2 * t + 1)] = kb.dot(D, f.table + r.b * D, d);
      }
    });
    SparseRows& g = *p.importance_grad;
    group_by_row(
        N, f.importance_rows, [&](int64_t t) { return static_cast<int32_t>(hr[static_cast<size_t>(t)].q); }, &g.rows,
        &starts, &order);
    g.width = 2;
    const int64_t U = static_cast<int64_t>(g.rows.size());
    g.values.assign(static_cast<size_t>(U * 2), 0.f);
    for (int64_t u = 0; u < U; ++u)
      for (int64_t k = starts[static_cast<size_t>(u)]; k < starts[static_cast<size_t>(u + 1)]; ++k) {
        const size_t t = static_cast<size_t>(order[static_cast<size_t>(k)]);
        g.values[static_cast<size_t>(2 * u)] += dots[2 * t];
        g.values[static_cast<size_t>(2 * u + 1)] += dots[2 * t + 1];
      }
  }
}

}  // namespace

void hash_bag_forward_at(SimdLevel level, const HashBagParams& p) {
  hash_bag_check(p);
  forward_with(text::cpu::bag_kernels_for(level), nn::cpu::layer_kernels_for(level), p);
}
void hash_bag_forward(const HashBagParams& p) { hash_bag_forward_at(active_simd_level(), p); }

void hash_bag_backward_at(SimdLevel level, const HashBagBackwardParams& p) {
  hash_bag_backward_check(p);
  backward_with(text::cpu::bag_kernels_for(level), nn::cpu::layer_kernels_for(level), p);
}
void hash_bag_backward(const HashBagBackwardParams& p) { hash_bag_backward_at(active_simd_level(), p); }

}  // namespace simsage
