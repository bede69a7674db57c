// nn layers on the CPU: argument checks and the row split over the thread pool, calling the layer
// kernels of the chosen level. Linear layers are GEMM calls plus the bias terms.
#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/parallel.h"
#include "nn/cpu/layer_kernels.h"
#include "nn/nn.h"

namespace simsage {

namespace {

// Floats per task when splitting over threads: big enough to amortise a task hand-off (~1 us),
// small enough that two cores share a 64K-float batch.
constexpr int64_t kChunkFloats = 1 << 15;

void check_rows(const char* fn, int64_t rows, int64_t dim) {
  need(rows >= 0, ErrorCode::DimMismatch, fn, "rows must be >= 0, got " + std::to_string(rows));
  need(dim >= 1, ErrorCode::DimMismatch, fn, "dim must be >= 1, got " + std::to_string(dim));
}

void check_ptr(const char* fn, const void* p, const char* name) {
  need(p != nullptr, ErrorCode::InvalidArgument, fn, std::string(name) + " is null");
}

void check_eps(const char* fn, float eps) {
  need(eps == eps && eps - eps == 0.f, ErrorCode::NonFinite, fn, "eps is not finite");
  need(eps > 0.f, ErrorCode::InvalidArgument, fn, "eps must be > 0");
}

// Rows per task for a rows x dim op (fixed by the shape only, so partials reduce in a fixed order).
int64_t rows_per_task(int64_t dim) {
  const int64_t r = kChunkFloats / dim;
  return r < 1 ? 1 : r;
}

}  // namespace

// ---- linear -----------------------------------------------------------------------------------

namespace {
void check_linear(const char* fn, int64_t batch, int64_t in, int64_t out) {
  need(batch >= 0, ErrorCode::DimMismatch, fn, "batch must be >= 0, got " + std::to_string(batch));
  need(in >= 1, ErrorCode::DimMismatch, fn, "in_features must be >= 1, got " + std::to_string(in));
  need(out >= 1, ErrorCode::DimMismatch, fn, "out_features must be >= 1, got " + std::to_string(out));
}
}  // namespace

void linear_forward_at(SimdLevel level, const LinearParams& p) {
  const char* fn = "linear_forward";
  check_linear(fn, p.batch, p.in_features, p.out_features);
  check_ptr(fn, p.w, "w");
  if (p.batch == 0) return;
  check_ptr(fn, p.x, "x");
  check_ptr(fn, p.y, "y");
  const int64_t O = p.out_features;
  if (p.b) {  // Y starts as the bias rows; the GEMM adds X W^T (beta = 1)
    for (int64_t r = 0; r < p.batch; ++r)
      for (int64_t j = 0; j < O; ++j) p.y[r * O + j] = p.b[j];
  }
  GemmParams g;
  g.trans_b = true;
  g.m = p.batch;
  g.n = O;
  g.k = p.in_features;
  g.beta = p.b ? 1.f : 0.f;
  g.a = p.x;
  g.lda = p.in_features;
  g.b = p.w;
  g.ldb = p.in_features;
  g.c = p.y;
  g.ldc = O;
  g.threads = p.threads;
  gemm_at(level, g);
}

void linear_forward(const LinearParams& p) { linear_forward_at(active_simd_level(), p); }

void linear_backward_at(SimdLevel level, const LinearBackwardParams& p) {
  const char* fn = "linear_backward";
  check_linear(fn, p.batch, p.in_features, p.out_features);
  const int64_t B = p.batch, I = p.in_features, O = p.out_features;
  if (B > 0 && (p.dx || p.dw || p.db)) check_ptr(fn, p.dy, "dy");
  if (p.dx && B > 0) {  // dX (B x I) = dY (B x O) * W (O x I)
    check_ptr(fn, p.w, "w");
    GemmParams g;
    g.m = B;
    g.n = I;
    g.k = O;
    g.a = p.dy;
    g.lda = O;
    g.b = p.w;
    g.ldb = I;
    g.c = p.dx;
    g.ldc = I;
    g.threads = p.threads;
    gemm_at(level, g);
  }
  if (p.dw) {  // dW (O x I) = dY^T (O x B) * X (B x I)
    if (B > 0) check_ptr(fn, p.x, "x");
    GemmParams g;
    g.trans_a = true;
    g.m = O;
    g.n = I;
    g.k = B;
    g.beta = p.accumulate ? 1.f : 0.f;
    g.a = B > 0 ? p.dy : nullptr;
    g.lda = O;
    g.b = B > 0 ? p.x : nullptr;
    g.ldb = I;
    g.c = p.dw;
    g.ldc = I;
    g.threads = p.threads;
    if (B > 0) {
      gemm_at(level, g);
    } else if (!p.accumulate) {
      for (int64_t i = 0; i < O * I; ++i) p.dw[i] = 0.f;
    }
  }
  if (p.db) nn::cpu::layer_kernels_for(level).col_sum(B, O, p.dy, p.db, p.accumulate);
}

void linear_backward(const LinearBackwardParams& p) { linear_backward_at(active_simd_level(), p); }

// ---- ReLU -------------------------------------------------------------------------------------

void relu_forward_at(SimdLevel level, const ReluParams& p) {
  const char* fn = "relu_forward";
  need(p.n >= 0, ErrorCode::DimMismatch, fn, "n must be >= 0");
  if (p.n == 0) return;
  check_ptr(fn, p.x, "x");
  check_ptr(fn, p.y, "y");
  const auto k = nn::cpu::layer_kernels_for(level).relu_fwd;
  parallel_chunks(p.n, rows_per_task(1), p.threads, [&](int64_t a, int64_t b, int) { k(b - a, p.x + a, p.y + a); });
}

void relu_forward(const ReluParams& p) { relu_forward_at(active_simd_level(), p); }

void relu_backward_at(SimdLevel level, const ReluBackwardParams& p) {
  const char* fn = "relu_backward";
  need(p.n >= 0, ErrorCode::DimMismatch, fn, "n must be >= 0");
  if (p.n == 0) return;
  check_ptr(fn, p.y, "y");
  check_ptr(fn, p.dy, "dy");
  check_ptr(fn, p.dx, "dx");
  const auto k = nn::cpu::layer_kernels_for(level).relu_bwd;
  parallel_chunks(p.n, rows_per_task(1), p.threads,
                  [&](int64_t a, int64_t b, int) { k(b - a, p.y + a, p.dy + a, p.dx + a); });
}

void relu_backward(const ReluBackwardParams& p) { relu_backward_at(active_simd_level(), p); }

// ---- L2 normalisation -------------------------------------------------------------------------

void l2normalize_forward_at(SimdLevel level, const L2NormParams& p) {
  const char* fn = "l2normalize_forward";
  check_rows(fn, p.rows, p.dim);
  check_eps(fn, p.eps);
  if (p.rows == 0) return;
  check_ptr(fn, p.x, "x");
  check_ptr(fn, p.y, "y");
  check_ptr(fn, p.norms, "norms");
  const auto k = nn::cpu::layer_kernels_for(level).l2_fwd;
  parallel_chunks(p.rows, rows_per_task(p.dim), p.threads,
                  [&](int64_t a, int64_t b, int) { k(a, b, p.dim, p.eps, p.x, p.y, p.norms); });
}

void l2normalize_forward(const L2NormParams& p) { l2normalize_forward_at(active_simd_level(), p); }

void l2normalize_backward_at(SimdLevel level, const L2NormBackwardParams& p) {
  const char* fn = "l2normalize_backward";
  check_rows(fn, p.rows, p.dim);
  check_eps(fn, p.eps);
  if (p.rows == 0) return;
  check_ptr(fn, p.y, "y");
  check_ptr(fn, p.norms, "norms");
  check_ptr(fn, p.dy, "dy");
  check_ptr(fn, p.dx, "dx");
  const auto k = nn::cpu::layer_kernels_for(level).l2_bwd;
  parallel_chunks(p.rows, rows_per_task(p.dim), p.threads,
                  [&](int64_t a, int64_t b, int) { k(a, b, p.dim, p.eps, p.y, p.norms, p.dy, p.dx); });
}

void l2normalize_backward(const L2NormBackwardParams& p) { l2normalize_backward_at(active_simd_level(), p); }

// ---- layer norm -------------------------------------------------------------------------------

void layernorm_forward_at(SimdLevel level, const LayerNormParams& p) {
  const char* fn = "layernorm_forward";
  check_rows(fn, p.rows, p.dim);
  check_eps(fn, p.eps);
  if (p.rows == 0) return;
  check_ptr(fn, p.x, "x");
  check_ptr(fn, p.y, "y");
  check_ptr(fn, p.mean, "mean");
  check_ptr(fn, p.rstd, "rstd");
  const auto k = nn::cpu::layer_kernels_for(level).ln_fwd;
  parallel_chunks(p.rows, rows_per_task(p.dim), p.threads,
                  [&](int64_t a, int64_t b, int) { k(a, b, p.dim, p.eps, p.x, p.gamma, p.beta, p.y, p.mean, p.rstd); });
}

void layernorm_forward(const LayerNormParams& p) { layernorm_forward_at(active_simd_level(), p); }

void layernorm_backward_at(SimdLevel level, const LayerNormBackwardParams& p) {
  const char* fn = "layernorm_backward";
  check_rows(fn, p.rows, p.dim);
  const int64_t D = p.dim;
  if (!p.accumulate) {
    for (int64_t i = 0; p.dgamma && i < D; ++i) p.dgamma[i] = 0.f;
    for (int64_t i = 0; p.dbeta && i < D; ++i) p.dbeta[i] = 0.f;
  }
  if (p.rows == 0) return;
  check_ptr(fn, p.x, "x");
  check_ptr(fn, p.mean, "mean");
  check_ptr(fn, p.rstd, "rstd");
  check_ptr(fn, p.dy, "dy");
  check_ptr(fn, p.dx, "dx");
  const auto k = nn::cpu::layer_kernels_for(level).ln_bwd;
  const int64_t per = rows_per_task(D), tasks = (p.rows + per - 1) / per;
  const bool params = p.dgamma || p.dbeta;
  if (tasks <= 1 || !params) {
    parallel_chunks(p.rows, rows_per_task(D), p.threads, [&](int64_t a, int64_t b, int) {
      k(a, b, D, p.x, p.gamma, p.mean, p.rstd, p.dy, p.dx, p.dgamma, p.dbeta);
    });
    return;
  }
  // Per-task partial dgamma / dbeta, reduced in task order: the same sums for any thread count.
  std::vector<float> part(static_cast<size_t>(tasks * 2 * D), 0.f);
  parallel_chunks(p.rows, per, p.threads, [&](int64_t r0, int64_t r1, int) {
    float* pg = part.data() + r0 / per * 2 * D;
    k(r0, r1, D, p.x, p.gamma, p.mean, p.rstd, p.dy, p.dx, p.dgamma ? pg : nullptr, p.dbeta ? pg + D : nullptr);
  });
  for (int64_t t = 0; t < tasks; ++t) {
    const float* pg = part.data() + t * 2 * D;
    for (int64_t i = 0; p.dgamma && i < D; ++i) p.dgamma[i] += pg[i];
    for (int64_t i = 0; p.dbeta && i < D; ++i) p.dbeta[i] += pg[D + i];
  }
}

void layernorm_backward(const LayerNormBackwardParams& p) { layernorm_backward_at(active_simd_level(), p); }

}  // namespace simsage
