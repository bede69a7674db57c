// Bindings of the nn family's 2-D convolution (native/nn/nn.h, conv2d), registered by
// register_nn_conv. As the other nn layers (nn.cpp): one arguments object of Float32Arrays and
// shapes (typed in lib/native/nn-types.ts), every array's length checked against the shape, and a
// synchronous run (a layer's forward / backward inside a training step; the kernels use the pool).
#include <string>
#include <utility>

#include "addon/addon.h"
#include "addon/args.h"
#include "nn/nn.h"

namespace simsage {
namespace addon {

namespace {

constexpr int64_t kLimit = int64_t(1) << 40;

// {batch, inChannels, outChannels, height, width, kernelH, kernelW, strideH?, strideW?, padH?,
// padW?, dilationH?, dilationW?}, checked as a whole (conv2d_check_shape) before any array is read.
Conv2dShape shape_of(const Args& a) {
  Conv2dShape s;
  s.batch = a.integer("batch", 0, kLimit, kDimMismatch);
  s.in_channels = a.integer("inChannels", 1, kLimit, kDimMismatch);
  s.out_channels = a.integer("outChannels", 1, kLimit, kDimMismatch);
  s.height = a.integer("height", 1, kLimit, kDimMismatch);
  s.width = a.integer("width", 1, kLimit, kDimMismatch);
  s.kernel_h = a.integer("kernelH", -kLimit, kLimit);
  s.kernel_w = a.integer("kernelW", -kLimit, kLimit);
  s.stride_h = a.integer_or("strideH", 1, -kLimit, kLimit);
  s.stride_w = a.integer_or("strideW", 1, -kLimit, kLimit);
  s.pad_h = a.integer_or("padH", 0, -kLimit, kLimit);
  s.pad_w = a.integer_or("padW", 0, -kLimit, kLimit);
  s.dilation_h = a.integer_or("dilationH", 1, -kLimit, kLimit);
  s.dilation_w = a.integer_or("dilationW", 1, -kLimit, kLimit);
  conv2d_check_shape(s);
  return s;
}

int64_t x_len(const Conv2dShape& s) { return s.batch * s.in_channels * s.height * s.width; }
int64_t y_len(const Conv2dShape& s) { return s.batch * s.out_channels * s.out_h() * s.out_w(); }
int64_t w_len(const Conv2dShape& s) { return s.out_channels * s.in_channels * s.kernel_h * s.kernel_w; }

// shape + {x, w, b?, y, threads?}
Napi::Value Conv2dForward(const Napi::CallbackInfo& info) {
  Args o(info, "nnConv2dForward");
  Conv2dParams p;
  guard(info.Env(), [&] { p.s = shape_of(o); });
  p.x = o.f32("x", x_len(p.s));
  p.w = o.f32("w", w_len(p.s));
  p.b = o.f32_opt("b", p.s.out_channels);
  p.y = o.f32("y", y_len(p.s));
  p.threads = o.threads();
  guard(info.Env(), [&] { conv2d_forward(p); });
  return info.Env().Undefined();
}

// shape + {x, w, dy, dx?, dw?, db?, accumulate?, threads?}
Napi::Value Conv2dBackward(const Napi::CallbackInfo& info) {
  Args o(info, "nnConv2dBackward");
  Conv2dBackwardParams p;
  guard(info.Env(), [&] { p.s = shape_of(o); });
  p.x = o.f32("x", x_len(p.s));
  p.w = o.f32("w", w_len(p.s));
  p.dy = o.f32("dy", y_len(p.s));
  p.dx = o.f32_opt("dx", x_len(p.s));
  p.dw = o.f32_opt("dw", w_len(p.s));
  p.db = o.f32_opt("db", p.s.out_channels);
  p.accumulate = o.boolean_or("accumulate", false);
  p.threads = o.threads();
  guard(info.Env(), [&] { conv2d_backward(p); });
  return info.Env().Undefined();
}

}  // namespace

void register_nn_conv(Napi::Env env, Napi::Object exports) {
  exports.Set("nnConv2dForward", Napi::Function::New(env, Conv2dForward, "nnConv2dForward"));
  exports.Set("nnConv2dBackward", Napi::Function::New(env, Conv2dBackward, "nnConv2dBackward"));
}

}  // namespace addon
}  // namespace simsage
