// Argument checks of the temporal entry points (temporal.h): shapes, options and pointers, with
// messages that name the argument. Data values are not scanned.
#include <cmath>
#include <cstdint>
#include <string>

#include "core/error.h"
#include "temporal/temporal.h"

namespace simsage {

namespace {

constexpr int64_t kMaxDim = int64_t(1) << 40;

std::string num(int64_t v) { return std::to_string(v); }

// Shapes shared by the conv and block params.
void check_shape(const char* fn, int64_t batch, int64_t steps, int64_t cin, int64_t cout, int64_t k, int64_t d) {
  need(k >= 1, ErrorCode::InvalidArgument, fn, "kernel size must be >= 1, got " + num(k));
  need(d >= 1, ErrorCode::InvalidArgument, fn, "dilation must be >= 1, got " + num(d));
  need(k <= 4096 && d <= (int64_t(1) << 30), ErrorCode::InvalidArgument, fn, "kernel size or dilation too large");
  need(batch >= 0 && steps >= 0 && batch <= kMaxDim && steps <= kMaxDim, ErrorCode::DimMismatch, fn,
       "batch and steps must be >= 0, got batch " + num(batch) + ", steps " + num(steps));
  need(cin >= 1 && cout >= 1 && cin <= kMaxDim && cout <= kMaxDim, ErrorCode::DimMismatch, fn,
       "channels must be >= 1, got in " + num(cin) + ", out " + num(cout));
  need(batch * steps <= kMaxDim, ErrorCode::DimMismatch, fn, "batch x steps too large");
}

void check_ptr(const char* fn, bool ok, const char* what) {
  need(ok, ErrorCode::InvalidArgument, fn, std::string("null ") + what);
}

}  // namespace

void conv1d_check(const Conv1dParams& p) {
  const char* fn = "conv1d_forward";
  check_shape(fn, p.batch, p.steps, p.in_channels, p.out_channels, p.kernel_size, p.dilation);
  if (p.batch * p.steps == 0) return;
  check_ptr(fn, p.x, "x");
  check_ptr(fn, p.w, "w");
  check_ptr(fn, p.y, "y");
}

void conv1d_backward_check(const Conv1dBackwardParams& p) {
  const char* fn = "conv1d_backward";
  check_shape(fn, p.batch, p.steps, p.in_channels, p.out_channels, p.kernel_size, p.dilation);
  check_ptr(fn, p.dy || p.batch * p.steps == 0, "dy");
  check_ptr(fn, !p.dx || p.w, "w (needed for dx)");
  check_ptr(fn, !p.dw || p.x || p.batch * p.steps == 0, "x (needed for dw)");
}

void temporal_block_check(const TemporalBlockParams& p) {
  const char* fn = "temporal_block_forward";
  check_shape(fn, p.batch, p.steps, p.in_channels, p.out_channels, p.kernel_size, p.dilation);
  need(std::isfinite(p.dropout) && p.dropout >= 0.f && p.dropout < 1.f, ErrorCode::InvalidArgument, fn,
       "dropout must be in [0, 1)");
  check_ptr(fn, p.w1 && p.w2, "w1 / w2");
  need((p.wd != nullptr) == (p.in_channels != p.out_channels), ErrorCode::InvalidArgument, fn,
       "a 1x1 projection wd is required exactly when in_channels != out_channels");
  if (p.batch * p.steps == 0) return;
  check_ptr(fn, p.x && p.a1 && p.a2 && p.y, "x / a1 / a2 / y");
}

void temporal_block_backward_check(const TemporalBlockBackwardParams& p) {
  const char* fn = "temporal_block_backward";
  check_shape(fn, p.batch, p.steps, p.in_channels, p.out_channels, p.kernel_size, p.dilation);
  need(std::isfinite(p.dropout) && p.dropout >= 0.f && p.dropout < 1.f, ErrorCode::InvalidArgument, fn,
       "dropout must be in [0, 1)");
  check_ptr(fn, p.w1 && p.w2, "w1 / w2");
  need((p.wd != nullptr) == (p.in_channels != p.out_channels), ErrorCode::InvalidArgument, fn,
       "a 1x1 projection wd is required exactly when in_channels != out_channels");
  need(!p.dwd || p.wd, ErrorCode::InvalidArgument, fn, "dwd given without a projection");
  if (p.batch * p.steps == 0) return;
  check_ptr(fn, p.x && p.a1 && p.a2 && p.y && p.dy, "x / a1 / a2 / y / dy");
}

}  // namespace simsage
