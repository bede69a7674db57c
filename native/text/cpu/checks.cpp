// Argument checks of the text family's entry points (text.h): sizes, pointers, CSR offsets, row
// lists and optimizer hyperparameters. Each throws simsage::Error.
#include <cmath>
#include <cstdint>
#include <string>

#include "core/error.h"
#include "core/finite.h"
#include "text/text.h"

namespace simsage {

namespace {

constexpr int64_t kMaxDim = int64_t(1) << 24;

void need_size(const char* fn, int64_t v, const char* name, int64_t min, int64_t max = kMaxDim) {
  need(v >= min && v <= max, ErrorCode::DimMismatch, fn,
       std::string(name) + " must be in [" + std::to_string(min) + ", " + std::to_string(max) + "], got " +
           std::to_string(v));
}

void need_ptr(const char* fn, const void* p, const char* name) {
  need(p != nullptr, ErrorCode::InvalidArgument, fn, std::string(name) + " is null");
}

void need_finite(const char* fn, const float* data, int64_t n, const char* name) {
  if (!data) return;
  const int64_t at = find_non_finite(data, n);
  need(at < 0, ErrorCode::NonFinite, fn, std::string(name) + "[" + std::to_string(at) + "] is not finite");
}

}  // namespace

void text_featurize_check(const TextFeaturizeParams& p) {
  const char* fn = "text_featurize";
  need_size(fn, p.count, "count", 0, int64_t(1) << 31);
  need_ptr(fn, p.offsets, "offsets");
  if (p.offsets[p.count] > 0) need_ptr(fn, p.units, "units");
  need(p.offsets[0] == 0, ErrorCode::InvalidArgument, fn, "offsets[0] must be 0");
  for (int64_t i = 0; i < p.count; ++i)
    need(p.offsets[i + 1] >= p.offsets[i], ErrorCode::InvalidArgument, fn,
         "offsets must be nondecreasing (offsets[" + std::to_string(i + 1) + "])");
}

void hash_bag_check(const HashBagParams& p) {
  const char* fn = "hash_bag_forward";
  need_size(fn, p.segments, "segments", 0, int64_t(1) << 31);
  need_size(fn, p.rows, "rows", 1, int64_t(1) << 31);
  need_size(fn, p.dim, "dim", 1, int64_t(1) << 20);
  need_size(fn, p.importance_rows, "importance_rows", 1, int64_t(1) << 31);
  need(p.rows * p.dim <= (int64_t(1) << 40), ErrorCode::DimMismatch, fn, "rows * dim must be <= 2^40");
  need_ptr(fn, p.offsets, "offsets");
  need_ptr(fn, p.table, "table");
  need_ptr(fn, p.importance, "importance");
  need_ptr(fn, p.pooled, "pooled");
  need_ptr(fn, p.mean, "mean");
  need_ptr(fn, p.rstd, "rstd");
  need_ptr(fn, p.y, "y");
  need(p.eps > 0.f && std::isfinite(p.eps), ErrorCode::InvalidArgument, fn, "eps must be finite and > 0");
  need(p.offsets[0] == 0, ErrorCode::InvalidArgument, fn, "offsets[0] must be 0");
  for (int64_t j = 0; j < p.segments; ++j)
    need(p.offsets[j + 1] >= p.offsets[j], ErrorCode::InvalidArgument, fn,
         "offsets must be nondecreasing (offsets[" + std::to_string(j + 1) + "])");
  need(p.offsets[p.segments] == p.tokens, ErrorCode::DimMismatch, fn,
       "offsets[segments] = " + std::to_string(p.offsets[p.segments]) + " but there are " + std::to_string(p.tokens) +
           " tokens");
  if (p.tokens > 0) need_ptr(fn, p.hashes, "hashes");
  need_finite(fn, p.importance, p.importance_rows * 2, "importance");
  need_finite(fn, p.gamma, p.dim, "gamma");
  need_finite(fn, p.beta, p.dim, "beta");
}

void hash_bag_backward_check(const HashBagBackwardParams& p) {
  hash_bag_check(p.fwd);
  need_ptr("hash_bag_backward", p.dy, "dy");
  need_finite("hash_bag_backward", p.dy, p.fwd.segments * p.fwd.dim, "dy");
}

void sparse_optim_check(const SparseOptimParams& p, bool adam) {
  const char* fn = adam ? "sparse_adam_step" : "sparse_adagrad_step";
  need_size(fn, p.table_rows, "table_rows", 1, int64_t(1) << 31);
  need_size(fn, p.dim, "dim", 1, int64_t(1) << 20);
  need_size(fn, p.count, "count", 0, p.table_rows);
  need_ptr(fn, p.table, "table");
  need_ptr(fn, p.state1, adam ? "m" : "accumulator");
  if (adam) need_ptr(fn, p.state2, "v");
  if (p.count > 0) {
    need_ptr(fn, p.rows, "rows");
    need_ptr(fn, p.grad, "grad");
  }
  for (int64_t i = 0; i < p.count; ++i) {
    need(p.rows[i] >= 0 && p.rows[i] < p.table_rows, ErrorCode::InvalidArgument, fn,
         "rows[" + std::to_string(i) + "] = " + std::to_string(p.rows[i]) + " is outside [0, " +
             std::to_string(p.table_rows) + ")");
    need(i == 0 || p.rows[i] > p.rows[i - 1], ErrorCode::InvalidArgument, fn,
         "rows must be strictly increasing (rows[" + std::to_string(i) + "])");
  }
  need_finite(fn, p.grad, p.count * p.dim, "grad");
  need(std::isfinite(p.lr) && p.lr > 0.f, ErrorCode::InvalidArgument, fn, "lr must be finite and > 0");
  need(std::isfinite(p.eps) && p.eps > 0.f, ErrorCode::InvalidArgument, fn, "eps must be finite and > 0");
  need(std::isfinite(p.weight_decay) && p.weight_decay >= 0.f, ErrorCode::InvalidArgument, fn,
       "weight_decay must be finite and >= 0");
  if (adam) {
    need(p.beta1 >= 0.f && p.beta1 < 1.f, ErrorCode::InvalidArgument, fn, "beta1 must be in [0, 1)");
    need(p.beta2 >= 0.f && p.beta2 < 1.f, ErrorCode::InvalidArgument, fn, "beta2 must be in [0, 1)");
    need(p.step >= 1, ErrorCode::InvalidArgument, fn, "step must be >= 1");
  }
}

}  // namespace simsage
