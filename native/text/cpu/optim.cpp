// Sparse (lazy) optimizers of text.h: each listed row is updated by one task (rows are distinct),
// in plain loops the compiler vectorises at the baseline level; rows not listed are not read.
#include <cmath>
#include <cstdint>

#include "core/parallel.h"
#include "text/text.h"

namespace simsage {

namespace {
constexpr int64_t kRowChunk = 256;
}  // namespace

void sparse_adagrad_step(const SparseOptimParams& p) {
  sparse_optim_check(p, false);
  const int64_t D = p.dim;
  parallel_chunks(p.count, kRowChunk, p.threads, [&](int64_t u0, int64_t u1, int) {
    for (int64_t u = u0; u < u1; ++u) {
      const int64_t r = p.rows[u];
      float* w = p.table + r * D;
      float* acc = p.state1 + r * D;
      const float* g = p.grad + u * D;
      for (int64_t i = 0; i < D; ++i) {
        const float gi = g[i] + p.weight_decay * w[i];
        acc[i] += gi * gi;
        w[i] -= p.lr * gi / (std::sqrt(acc[i]) + p.eps);
      }
    }
  });
}

void sparse_adam_step(const SparseOptimParams& p) {
  sparse_optim_check(p, true);
  const int64_t D = p.dim;
  const double t = static_cast<double>(p.step);
  const float c1 = static_cast<float>(1.0 / (1.0 - std::pow(static_cast<double>(p.beta1), t)));
  const float c2 = static_cast<float>(1.0 / (1.0 - std::pow(static_cast<double>(p.beta2), t)));
  const float b1 = p.beta1, b2 = p.beta2;
  parallel_chunks(p.count, kRowChunk, p.threads, [&](int64_t u0, int64_t u1, int) {
    for (int64_t u = u0; u < u1; ++u) {
      const int64_t r = p.rows[u];
      float* w = p.table + r * D;
      float* m = p.state1 + r * D;
      float* v = p.state2 + r * D;
      const float* g = p.grad + u * D;
      for (int64_t i = 0; i < D; ++i) {
        const float gi = g[i] + p.weight_decay * w[i];
        m[i] = b1 * m[i] + (1.f - b1) * gi;
        v[i] = b2 * v[i] + (1.f - b2) * gi * gi;
        w[i] -= p.lr * (m[i] * c1) / (std::sqrt(v[i] * c2) + p.eps);
      }
    }
  });
}

}  // namespace simsage
