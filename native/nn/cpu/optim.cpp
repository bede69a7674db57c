// Fused optimizer updates (nn.h): one pass reading and writing each parameter's state once.
// Memory-bound (SGD: 4 streams, Adam: 6 per element), so one baseline build is as fast as an AVX
// one would be; the loops are branch-free and the compiler vectorises them. Long vectors are split
// over the thread pool in fixed chunks.
#include <cmath>
#include <cstdint>
#include <string>

#include "core/error.h"
#include "core/parallel.h"
#include "nn/nn.h"

namespace simsage {
namespace {

constexpr int64_t kChunk = 1 << 16;  // elements per task

void check_hyper(const char* fn, float v, const char* name, float lo, bool lo_open, float hi, bool hi_open) {
  need(std::isfinite(v), ErrorCode::NonFinite, fn, std::string(name) + " is not finite");
  const bool ok = (lo_open ? v > lo : v >= lo) && (hi_open ? v < hi : v <= hi);
  need(ok, ErrorCode::InvalidArgument, fn,
       std::string(name) + " must be in " + (lo_open ? "(" : "[") + std::to_string(lo) + ", " + std::to_string(hi) +
           (hi_open ? ")" : "]") + ", got " + std::to_string(v));
}

}  // namespace

void sgd_step(const SgdParams& p) {
  const char* fn = "sgd_step";
  need(p.n >= 0, ErrorCode::DimMismatch, fn, "n must be >= 0");
  check_hyper(fn, p.lr, "lr", 0.f, false, 3e38f, false);
  check_hyper(fn, p.momentum, "momentum", 0.f, false, 3e38f, false);
  check_hyper(fn, p.weight_decay, "weight_decay", 0.f, false, 3e38f, false);
  need(!p.nesterov || p.momentum > 0.f, ErrorCode::InvalidArgument, fn, "nesterov requires momentum > 0");
  if (p.n == 0) return;
  need(p.param && p.grad, ErrorCode::InvalidArgument, fn, "param or grad is null");
  need(p.momentum == 0.f || p.velocity, ErrorCode::InvalidArgument, fn, "velocity is null with momentum > 0");
  float* __restrict w = p.param;
  const float* __restrict g = p.grad;
  float* __restrict v = p.velocity;
  const float lr = p.lr, mu = p.momentum, wd = p.weight_decay;
  if (mu == 0.f) {
    parallel_chunks(p.n, kChunk, p.threads, [&](int64_t a, int64_t b, int) {
      for (int64_t i = a; i < b; ++i) w[i] -= lr * (g[i] + wd * w[i]);
    });
  } else if (p.nesterov) {
    parallel_chunks(p.n, kChunk, p.threads, [&](int64_t a, int64_t b, int) {
      for (int64_t i = a; i < b; ++i) {
        const float gi = g[i] + wd * w[i], vi = mu * v[i] + gi;
        v[i] = vi;
        w[i] -= lr * (gi + mu * vi);
      }
    });
  } else {
    parallel_chunks(p.n, kChunk, p.threads, [&](int64_t a, int64_t b, int) {
      for (int64_t i = a; i < b; ++i) {
        const float vi = mu * v[i] + (g[i] + wd * w[i]);
        v[i] = vi;
        w[i] -= lr * vi;
      }
    });
  }
}

void adam_step(const AdamParams& p) {
  const char* fn = "adam_step";
  need(p.n >= 0, ErrorCode::DimMismatch, fn, "n must be >= 0");
  check_hyper(fn, p.lr, "lr", 0.f, false, 3e38f, false);
  check_hyper(fn, p.beta1, "beta1", 0.f, false, 1.f, true);
  check_hyper(fn, p.beta2, "beta2", 0.f, false, 1.f, true);
  check_hyper(fn, p.eps, "eps", 0.f, true, 3e38f, false);
  check_hyper(fn, p.weight_decay, "weight_decay", 0.f, false, 3e38f, false);
  need(p.step >= 1, ErrorCode::InvalidArgument, fn, "step must be >= 1, got " + std::to_string(p.step));
  if (p.n == 0) return;
  need(p.param && p.grad && p.m && p.v, ErrorCode::InvalidArgument, fn, "param, grad, m or v is null");
  // Bias corrections in double: b^t for large t underflows gracefully to 0 (correction 1).
  const double t = static_cast<double>(p.step);
  const double bc1 = 1.0 - std::pow(static_cast<double>(p.beta1), t);
  const double bc2 = 1.0 - std::pow(static_cast<double>(p.beta2), t);
  const float step_size = static_cast<float>(p.lr / bc1);
  const float inv_sqrt_bc2 = static_cast<float>(1.0 / std::sqrt(bc2));
  const float b1 = p.beta1, b2 = p.beta2, c1 = 1.f - p.beta1, c2 = 1.f - p.beta2, eps = p.eps;
  const float l2 = p.decoupled ? 0.f : p.weight_decay;
  const float shrink = p.decoupled ? 1.f - p.lr * p.weight_decay : 1.f;
  float* __restrict w = p.param;
  const float* __restrict g = p.grad;
  float* __restrict m = p.m;
  float* __restrict v = p.v;
  parallel_chunks(p.n, kChunk, p.threads, [&](int64_t a, int64_t b, int) {
    for (int64_t i = a; i < b; ++i) {
      const float wi = w[i], gi = g[i] + l2 * wi;
      const float mi = b1 * m[i] + c1 * gi, vi = b2 * v[i] + c2 * gi * gi;
      m[i] = mi;
      v[i] = vi;
      w[i] = wi * shrink - step_size * mi / (std::sqrt(vi) * inv_sqrt_bc2 + eps);
    }
  });
}

}  // namespace simsage
