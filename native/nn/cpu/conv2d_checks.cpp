// Argument checks of the 2-D convolution (nn.h): shapes, options, sizes, pointers and the values of
// the inputs (NaN/Inf), with messages that name the argument.
#include <cstdint>
#include <string>

#include "core/error.h"
#include "core/finite.h"
#include "nn/nn.h"

namespace simsage {

namespace {

constexpr int64_t kMaxDim = int64_t(1) << 40;
constexpr int64_t kMaxOption = int64_t(1) << 20;

std::string num(int64_t v) { return std::to_string(v); }

// a * b * c * d <= kMaxDim, without overflow (every factor is already in [0, kMaxDim]).
bool fits(int64_t a, int64_t b, int64_t c, int64_t d) {
  return static_cast<double>(a) * static_cast<double>(b) * static_cast<double>(c) * static_cast<double>(d) <=
         static_cast<double>(kMaxDim);
}

void check_shape(const char* fn, const Conv2dShape& s) {
  need(s.kernel_h >= 1 && s.kernel_w >= 1 && s.kernel_h <= 4096 && s.kernel_w <= 4096, ErrorCode::InvalidArgument, fn,
       "kernel size must be in [1, 4096], got " + num(s.kernel_h) + " x " + num(s.kernel_w));
  need(s.stride_h >= 1 && s.stride_w >= 1 && s.stride_h <= kMaxOption && s.stride_w <= kMaxOption,
       ErrorCode::InvalidArgument, fn, "stride must be in [1, 2^20], got " + num(s.stride_h) + " x " + num(s.stride_w));
  need(s.dilation_h >= 1 && s.dilation_w >= 1 && s.dilation_h <= kMaxOption && s.dilation_w <= kMaxOption,
       ErrorCode::InvalidArgument, fn,
       "dilation must be in [1, 2^20], got " + num(s.dilation_h) + " x " + num(s.dilation_w));
  need(s.pad_h >= 0 && s.pad_w >= 0 && s.pad_h <= kMaxOption && s.pad_w <= kMaxOption, ErrorCode::InvalidArgument, fn,
       "padding must be in [0, 2^20], got " + num(s.pad_h) + " x " + num(s.pad_w));
  need(s.batch >= 0 && s.batch <= kMaxDim, ErrorCode::DimMismatch, fn, "batch must be >= 0, got " + num(s.batch));
  need(s.in_channels >= 1 && s.out_channels >= 1 && s.in_channels <= kMaxDim && s.out_channels <= kMaxDim,
       ErrorCode::DimMismatch, fn,
       "channels must be >= 1, got in " + num(s.in_channels) + ", out " + num(s.out_channels));
  need(s.height >= 1 && s.width >= 1 && s.height <= kMaxDim && s.width <= kMaxDim, ErrorCode::DimMismatch, fn,
       "height and width must be >= 1, got " + num(s.height) + " x " + num(s.width));
  const int64_t eff_h = s.dilation_h * (s.kernel_h - 1) + 1, eff_w = s.dilation_w * (s.kernel_w - 1) + 1;
  need(eff_h <= s.height + 2 * s.pad_h && eff_w <= s.width + 2 * s.pad_w, ErrorCode::DimMismatch, fn,
       "kernel (" + num(eff_h) + " x " + num(eff_w) + " with dilation) larger than the padded input (" +
           num(s.height + 2 * s.pad_h) + " x " + num(s.width + 2 * s.pad_w) + ")");
  need(fits(s.batch, s.in_channels, s.height, s.width) && fits(s.batch, s.out_channels, s.out_h(), s.out_w()) &&
           fits(s.out_channels, s.in_channels, s.kernel_h, s.kernel_w) &&
           fits(s.batch * s.out_h() * s.out_w(), s.in_channels * s.kernel_h, s.kernel_w, 1),
       ErrorCode::DimMismatch, fn, "sizes too large (an array would pass 2^40 elements)");
}

void check_ptr(const char* fn, bool ok, const char* what) {
  need(ok, ErrorCode::InvalidArgument, fn, std::string("null ") + what);
}

void check_finite(const char* fn, const float* v, int64_t n, const char* what) {
  const int64_t at = find_non_finite(v, n);
  need(at < 0, ErrorCode::NonFinite, fn, std::string(what) + "[" + num(at) + "] is NaN or infinite");
}

}  // namespace

void conv2d_check_shape(const Conv2dShape& s) { check_shape("conv2d", s); }

void conv2d_check_params(const Conv2dParams& p) {
  const char* fn = "conv2d_forward";
  const Conv2dShape& s = p.s;
  check_shape(fn, s);
  check_ptr(fn, p.w, "w");
  check_finite(fn, p.w, s.out_channels * s.in_channels * s.kernel_h * s.kernel_w, "w");
  if (s.batch == 0) return;
  check_ptr(fn, p.x, "x");
  check_ptr(fn, p.y, "y");
}

void conv2d_check(const Conv2dParams& p) {
  conv2d_check_params(p);
  if (p.s.batch > 0) check_finite("conv2d_forward", p.x, p.s.batch * p.s.in_channels * p.s.height * p.s.width, "x");
}

void conv2d_backward_check(const Conv2dBackwardParams& p) {
  const char* fn = "conv2d_backward";
  const Conv2dShape& s = p.s;
  check_shape(fn, s);
  check_ptr(fn, !p.dx || p.w, "w (needed for dx)");
  if (s.batch == 0) return;
  check_ptr(fn, p.dy, "dy");
  check_ptr(fn, !p.dw || p.x, "x (needed for dw)");
  check_finite(fn, p.dy, s.batch * s.out_channels * s.out_h() * s.out_w(), "dy");
}

}  // namespace simsage
