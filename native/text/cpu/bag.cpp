// Drivers of the hash embedding bag (text.h): the forward splits segments over the thread pool,
// the backward runs the layer norm backward per segment chunk (dgamma / dbeta reduced in chunk
// order), then groups the touched (row, token) pairs by row with one sort, so each distinct row's
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

// Distinct keys (the high 32 bits of sorted `keys`) into *rows, and where each one's run starts.
void group_sorted(const std::vector<uint64_t>& keys, std::vector<int32_t>* rows, std::vector<int64_t>* starts) {
  rows->clear();
  starts->clear();
  for (size_t i = 0; i < keys.size(); ++i) {
    const int32_t r = static_cast<int32_t>(keys[i] >> 32);
    if (rows->empty() || rows->back() != r) {
      rows->push_back(r);
      starts->push_back(static_cast<int64_t>(i));
    }
  }
  starts->push_back(static_cast<int64_t>(keys.size()));
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
  std::vector<uint64_t> keys;
  std::vector<int64_t> starts;
  if (p.table_grad) {
    // dE[a] += P[q,0] ds_j, dE[b] += P[q,1] ds_j; key = row << 32 | (2 t + slot).
    keys.resize(static_cast<size_t>(2 * N));
    for (int64_t t = 0; t < N; ++t) {
      const HashRows& r = hr[static_cast<size_t>(t)];
      keys[static_cast<size_t>(2 * t)] = (static_cast<uint64_t>(r.a) << 32) | static_cast<uint64_t>(2 * t);
      keys[static_cast<size_t>(2 * t + 1)] = (static_cast<uint64_t>(r.b) << 32) | static_cast<uint64_t>(2 * t + 1);
    }
    std::sort(keys.begin(), keys.end());
    SparseRows& g = *p.table_grad;
    group_sorted(keys, &g.rows, &starts);
    g.width = D;
    const int64_t U = static_cast<int64_t>(g.rows.size());
    g.values.assign(static_cast<size_t>(U * D), 0.f);
    parallel_chunks(U, kRowChunk, p.threads, [&](int64_t u0, int64_t u1, int) {
      for (int64_t u = u0; u < u1; ++u)
        for (int64_t k = starts[static_cast<size_t>(u)]; k < starts[static_cast<size_t>(u + 1)]; ++k) {
          const uint32_t ts = static_cast<uint32_t>(keys[static_cast<size_t>(k)]);
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
    keys.resize(static_cast<size_t>(N));
    for (int64_t t = 0; t < N; ++t)
      keys[static_cast<size_t>(t)] =
          (static_cast<uint64_t>(hr[static_cast<size_t>(t)].q) << 32) | static_cast<uint64_t>(t);
    std::sort(keys.begin(), keys.end());
    SparseRows& g = *p.importance_grad;
    group_sorted(keys, &g.rows, &starts);
    g.width = 2;
    const int64_t U = static_cast<int64_t>(g.rows.size());
    g.values.assign(static_cast<size_t>(U * 2), 0.f);
    for (int64_t u = 0; u < U; ++u)
      for (int64_t k = starts[static_cast<size_t>(u)]; k < starts[static_cast<size_t>(u + 1)]; ++k) {
        const size_t t = static_cast<uint32_t>(keys[static_cast<size_t>(k)]);
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
