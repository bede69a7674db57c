// Residual temporal block (temporal.h): composed from the fused conv (+bias +ReLU) and elementwise
// passes split over the pool in fixed chunks. The backward recovers the ReLU and dropout masks from
// the saved outputs a1, a2 and y.
#include <cstdint>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "core/parallel.h"
#include "core/thread_pool.h"
#include "temporal/temporal.h"

namespace simsage {

namespace {

constexpr int64_t kChunk = int64_t(1) << 15;  // elements per elementwise task

std::vector<float>& scratch(int i) {
  thread_local std::vector<float> v[2];
  return v[i];
}

float* grown(int i, int64_t n) {
  std::vector<float>& v = scratch(i);
  if (v.size() < static_cast<size_t>(n)) v.resize(static_cast<size_t>(n));
  return v.data();
}

// splitmix64's finaliser: a well-mixed 64-bit hash of z.
inline uint64_t mix(uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// In place: v[i] = keep(i) ? v[i] * scale : 0, keep(i) iff a 24-bit uniform hash of
// (seed, which, i) is >= p.
void dropout(float* v, int64_t n, float p, uint64_t seed, uint64_t which, int threads) {
  const float scale = 1.f / (1.f - p);
  const uint32_t cut = static_cast<uint32_t>(static_cast<double>(p) * 16777216.0);
  const uint64_t key = mix(seed ^ mix(which));
  parallel_chunks(n, kChunk, threads, [&](int64_t b, int64_t e, int) {
    for (int64_t i = b; i < e; ++i) {
      const uint32_t u = static_cast<uint32_t>(mix(key + static_cast<uint64_t>(i)) >> 40);
      v[i] = u >= cut ? v[i] * scale : 0.f;
    }
  });
}

}  // namespace

void temporal_block_forward_at(SimdLevel level, const TemporalBlockParams& p) {
  temporal_block_check(p);
  const int64_t n = p.batch * p.steps * p.out_channels;
  if (n == 0) return;
  const bool drop = p.training && p.dropout > 0.f;
  Conv1dParams c;
  c.batch = p.batch;
  c.steps = p.steps;
  c.in_channels = p.in_channels;
  c.out_channels = p.out_channels;
  c.kernel_size = p.kernel_size;
  c.dilation = p.dilation;
  c.x = p.x;
  c.w = p.w1;
  c.b = p.b1;
  c.y = p.a1;
  c.relu = true;
  c.threads = p.threads;
  conv1d_forward_at(level, c);
  if (drop) dropout(p.a1, n, p.dropout, p.seed, 1, p.threads);
  c.in_channels = p.out_channels;
  c.x = p.a1;
  c.w = p.w2;
  c.b = p.b2;
  c.y = p.a2;
  conv1d_forward_at(level, c);
  if (drop) dropout(p.a2, n, p.dropout, p.seed, 2, p.threads);
  const float* res = p.x;
  if (p.wd) {  // y = x Wd^T + bd first, then the sum in place
    c.in_channels = p.in_channels;
    c.kernel_size = 1;
    c.dilation = 1;
    c.x = p.x;
    c.w = p.wd;
    c.b = p.bd;
    c.y = p.y;
    c.relu = false;
    conv1d_forward_at(level, c);
    res = p.y;
  }
  parallel_chunks(n, kChunk, p.threads, [&](int64_t b, int64_t e, int) {
    for (int64_t i = b; i < e; ++i) {
      const float s = p.a2[i] + res[i];
      p.y[i] = s > 0.f ? s : 0.f;
    }
  });
}

void temporal_block_forward(const TemporalBlockParams& p) { temporal_block_forward_at(active_simd_level(), p); }

void temporal_block_backward_at(SimdLevel level, const TemporalBlockBackwardParams& p) {
  temporal_block_backward_check(p);
  const int64_t n = p.batch * p.steps * p.out_channels;
  const float scale = p.training && p.dropout > 0.f ? 1.f / (1.f - p.dropout) : 1.f;
  float* g = grown(0, n);
  float* da1 = grown(1, n);
  // g = dL/d(a2 + res) through the output ReLU.
  parallel_chunks(n, kChunk, p.threads, [&](int64_t b, int64_t e, int) {
    for (int64_t i = b; i < e; ++i) g[i] = p.y[i] > 0.f ? p.dy[i] : 0.f;
  });
  Conv1dBackwardParams c;
  c.batch = p.batch;
  c.steps = p.steps;
  c.out_channels = p.out_channels;
  c.accumulate = p.accumulate;
  c.threads = p.threads;
  // Residual branch: dx starts as its gradient.
  if (p.wd) {
    c.in_channels = p.in_channels;
    c.kernel_size = 1;
    c.dilation = 1;
    c.x = p.x;
    c.w = p.wd;
    c.dy = g;
    c.dx = p.dx;
    c.dw = p.dwd;
    c.db = p.dbd;
    conv1d_backward_at(level, c);
  } else if (p.dx && n > 0) {
    std::memcpy(p.dx, g, sizeof(float) * n);
  }
  // Through dropout(relu(conv2)): a kept, positive element passes g * scale.
  parallel_chunks(n, kChunk, p.threads, [&](int64_t b, int64_t e, int) {
    for (int64_t i = b; i < e; ++i) g[i] = p.a2[i] > 0.f ? g[i] * scale : 0.f;
  });
  c.in_channels = p.out_channels;
  c.kernel_size = p.kernel_size;
  c.dilation = p.dilation;
  c.x = p.a1;
  c.w = p.w2;
  c.dy = g;
  c.dx = da1;
  c.dw = p.dw2;
  c.db = p.db2;
  c.accumulate_dx = false;
  conv1d_backward_at(level, c);
  parallel_chunks(n, kChunk, p.threads, [&](int64_t b, int64_t e, int) {
    for (int64_t i = b; i < e; ++i) da1[i] = p.a1[i] > 0.f ? da1[i] * scale : 0.f;
  });
  c.in_channels = p.in_channels;
  c.x = p.x;
  c.w = p.w1;
  c.dy = da1;
  c.dx = p.dx;
  c.dw = p.dw1;
  c.db = p.db1;
  c.accumulate_dx = true;
  conv1d_backward_at(level, c);
}

void temporal_block_backward(const TemporalBlockBackwardParams& p) {
  temporal_block_backward_at(active_simd_level(), p);
}

}  // namespace simsage
