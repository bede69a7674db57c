// Argument checks of the nn part `spatial` (pooling and group norm, nn.h): shapes, options and
// pointers, with messages that name the argument; the forwards also scan x for NaN / Inf.
#include "nn/cpu/spatial_checks.h"

#include <string>

#include "core/error.h"
#include "core/finite.h"
#include "nn/nn.h"

namespace simsage {
namespace nn {
namespace cpu {

namespace {

constexpr int64_t kMaxDim = int64_t(1) << 40;

std::string num(int64_t v) { return std::to_string(v); }

void check_ptr(const char* fn, bool ok, const char* what) {
  need(ok, ErrorCode::InvalidArgument, fn, std::string("null ") + what);
}

}  // namespace

PoolShape pool_shape(const char* fn, const Pool2dParams& p) {
  need(p.batch >= 0 && p.batch <= kMaxDim, ErrorCode::DimMismatch, fn, "batch must be >= 0, got " + num(p.batch));
  need(p.channels >= 1 && p.channels <= kMaxDim, ErrorCode::DimMismatch, fn,
       "channels must be >= 1, got " + num(p.channels));
  need(p.height >= 1 && p.width >= 1 && p.height <= kMaxDim && p.width <= kMaxDim, ErrorCode::DimMismatch, fn,
       "height and width must be >= 1, got " + num(p.height) + " x " + num(p.width));
  need(p.batch * p.channels <= kMaxDim && p.height * p.width <= (int64_t(1) << 31) - 1, ErrorCode::DimMismatch, fn,
       "image too large (H * W must fit an int32 argmax)");
  need(p.kernel_h >= 1 && p.kernel_w >= 1 && p.kernel_h <= kMaxDim && p.kernel_w <= kMaxDim, ErrorCode::InvalidArgument,
       fn, "kernel size must be >= 1, got " + num(p.kernel_h) + " x " + num(p.kernel_w));
  need(p.stride_h >= 1 && p.stride_w >= 1 && p.stride_h <= kMaxDim && p.stride_w <= kMaxDim, ErrorCode::InvalidArgument,
       fn, "stride must be >= 1, got " + num(p.stride_h) + " x " + num(p.stride_w));
  need(p.pad_h >= 0 && p.pad_w >= 0 && 2 * p.pad_h <= p.kernel_h && 2 * p.pad_w <= p.kernel_w,
       ErrorCode::InvalidArgument, fn,
       "padding must be in [0, kernel / 2] per axis, got " + num(p.pad_h) + " x " + num(p.pad_w) + " for kernel " +
           num(p.kernel_h) + " x " + num(p.kernel_w));
  need(p.kernel_h <= p.height + 2 * p.pad_h && p.kernel_w <= p.width + 2 * p.pad_w, ErrorCode::DimMismatch, fn,
       "kernel " + num(p.kernel_h) + " x " + num(p.kernel_w) + " is larger than the padded input " +
           num(p.height + 2 * p.pad_h) + " x " + num(p.width + 2 * p.pad_w));
  PoolShape s;
  s.h = p.height;
  s.w = p.width;
  s.kh = p.kernel_h;
  s.kw = p.kernel_w;
  s.sh = p.stride_h;
  s.sw = p.stride_w;
  s.ph = p.pad_h;
  s.pw = p.pad_w;
  s.oh = (p.height + 2 * p.pad_h - p.kernel_h) / p.stride_h + 1;
  s.ow = (p.width + 2 * p.pad_w - p.kernel_w) / p.stride_w + 1;
  return s;
}

PoolShape pool_forward_check(const char* fn, const Pool2dParams& p, bool max) {
  const PoolShape s = pool_shape(fn, p);
  if (p.batch == 0) return s;
  check_ptr(fn, p.x != nullptr, "x");
  check_ptr(fn, p.y != nullptr, "y");
  if (max) check_ptr(fn, p.argmax != nullptr, "argmax (max pooling keeps it for the backward)");
  const int64_t bad = find_non_finite(p.x, p.batch * p.channels * s.h * s.w);
  need(bad < 0, ErrorCode::NonFinite, fn, "x[" + num(bad) + "] is NaN or infinite");
  return s;
}

PoolShape pool_backward_check(const char* fn, const Pool2dBackwardParams& p, bool max) {
  const PoolShape s = pool_shape(fn, p.shape);
  if (p.shape.batch == 0) return s;
  check_ptr(fn, p.dy != nullptr, "dy");
  check_ptr(fn, p.dx != nullptr, "dx");
  if (max) check_ptr(fn, p.argmax != nullptr, "argmax");
  return s;
}

void group_norm_shape(const char* fn, int64_t batch, int64_t channels, int64_t groups, int64_t spatial) {
  need(batch >= 0 && batch <= kMaxDim, ErrorCode::DimMismatch, fn, "batch must be >= 0, got " + num(batch));
  need(channels >= 1 && channels <= kMaxDim, ErrorCode::DimMismatch, fn, "channels must be >= 1, got " + num(channels));
  need(spatial >= 1 && spatial <= kMaxDim, ErrorCode::DimMismatch, fn, "spatial must be >= 1, got " + num(spatial));
  need(channels * spatial <= kMaxDim && batch * channels * spatial <= kMaxDim, ErrorCode::DimMismatch, fn,
       "input too large");
  need(groups >= 1 && groups <= channels && channels % groups == 0, ErrorCode::DimMismatch, fn,
       "groups must divide channels, got " + num(groups) + " groups for " + num(channels) + " channels");
}

void group_norm_forward_check(const GroupNormParams& p) {
  const char* fn = "group_norm_forward";
  group_norm_shape(fn, p.batch, p.channels, p.groups, p.spatial);
  need(p.eps == p.eps && p.eps - p.eps == 0.f, ErrorCode::NonFinite, fn, "eps is not finite");
  need(p.eps > 0.f, ErrorCode::InvalidArgument, fn, "eps must be > 0");
  if (p.batch == 0) return;
  check_ptr(fn, p.x && p.y && p.mean && p.rstd, "x / y / mean / rstd");
  const int64_t bad = find_non_finite(p.x, p.batch * p.channels * p.spatial);
  need(bad < 0, ErrorCode::NonFinite, fn, "x[" + num(bad) + "] is NaN or infinite");
}

void group_norm_backward_check(const GroupNormBackwardParams& p) {
  const char* fn = "group_norm_backward";
  group_norm_shape(fn, p.batch, p.channels, p.groups, p.spatial);
  if (p.batch == 0) return;
  check_ptr(fn, p.x && p.mean && p.rstd && p.dy && p.dx, "x / mean / rstd / dy / dx");
}

}  // namespace cpu
}  // namespace nn

void pool2d_output_size(const Pool2dParams& p, int64_t* oh, int64_t* ow) {
  const nn::cpu::PoolShape s = nn::cpu::pool_shape("pool2d_output_size", p);
  *oh = s.oh;
  *ow = s.ow;
}

}  // namespace simsage
