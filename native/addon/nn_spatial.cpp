// Bindings of the nn part `spatial` (pooling and group norm, native/nn/nn.h), registered by
// register_nn_spatial. As nn.cpp: one arguments object per call (typed in lib/native/nn-types.ts),
// array lengths checked against the shapes, caller-provided outputs written in place, synchronous
// (per-batch ops of a training step).
#include <string>
#include <utility>

#include "addon/addon.h"
#include "addon/args.h"
#include "nn/nn.h"

namespace simsage {
namespace addon {

namespace {

int64_t dim_of(const Args& a, const char* key, int64_t min) {
  return a.integer(key, min, int64_t(1) << 40, kDimMismatch);
}

// {batch, channels, height, width, kernelH, kernelW, strideH?, strideW?, padH?, padW?, threads?}
// (strides default to the kernel, paddings to 0); out gets OH and OW, checked.
Pool2dParams pool_shape(const Args& o, int64_t* oh, int64_t* ow) {
  Pool2dParams p;
  p.batch = dim_of(o, "batch", 0);
  p.channels = dim_of(o, "channels", 1);
  p.height = dim_of(o, "height", 1);
  p.width = dim_of(o, "width", 1);
  p.kernel_h = o.integer("kernelH", 1, int64_t(1) << 40);
  p.kernel_w = o.integer("kernelW", 1, int64_t(1) << 40);
  p.stride_h = o.integer_or("strideH", p.kernel_h, 1, int64_t(1) << 40);
  p.stride_w = o.integer_or("strideW", p.kernel_w, 1, int64_t(1) << 40);
  p.pad_h = o.integer_or("padH", 0, 0, int64_t(1) << 40);
  p.pad_w = o.integer_or("padW", 0, 0, int64_t(1) << 40);
  p.threads = o.threads();
  pool2d_output_size(p, oh, ow);
  return p;
}

template <class F>
Napi::Value run(Napi::Env env, F&& fn) {
  guard(env, std::forward<F>(fn));
  return env.Undefined();
}

// {...shape, x, y, argmax (Int32Array, max only)}
Napi::Value PoolForward(const Napi::CallbackInfo& info, bool max) {
  Args o(info, max ? "nnMaxPool2dForward" : "nnAvgPool2dForward");
  int64_t oh = 0, ow = 0;
  Pool2dParams p;
  guard(info.Env(), [&] { p = pool_shape(o, &oh, &ow); });
  const int64_t planes = p.batch * p.channels;
  p.x = o.f32("x", planes * p.height * p.width);
  p.y = o.f32("y", planes * oh * ow);
  if (max) p.argmax = o.i32("argmax", planes * oh * ow);
  return run(info.Env(), [&] { max ? max_pool2d_forward(p) : avg_pool2d_forward(p); });
}

// {...shape, argmax (max only), dy, dx}
Napi::Value PoolBackward(const Napi::CallbackInfo& info, bool max) {
  Args o(info, max ? "nnMaxPool2dBackward" : "nnAvgPool2dBackward");
  int64_t oh = 0, ow = 0;
  Pool2dBackwardParams p;
  guard(info.Env(), [&] { p.shape = pool_shape(o, &oh, &ow); });
  const int64_t planes = p.shape.batch * p.shape.channels;
  if (max) p.argmax = o.i32("argmax", planes * oh * ow);
  p.dy = o.f32("dy", planes * oh * ow);
  p.dx = o.f32("dx", planes * p.shape.height * p.shape.width);
  return run(info.Env(), [&] { max ? max_pool2d_backward(p) : avg_pool2d_backward(p); });
}

Napi::Value MaxPoolForward(const Napi::CallbackInfo& info) { return PoolForward(info, true); }
Napi::Value AvgPoolForward(const Napi::CallbackInfo& info) { return PoolForward(info, false); }
Napi::Value MaxPoolBackward(const Napi::CallbackInfo& info) { return PoolBackward(info, true); }
Napi::Value AvgPoolBackward(const Napi::CallbackInfo& info) { return PoolBackward(info, false); }

// {x, gamma?, beta?, y, mean, rstd, batch, channels, groups, spatial, eps?, threads?}
Napi::Value GroupNormForward(const Napi::CallbackInfo& info) {
  Args o(info, "nnGroupNormForward");
  GroupNormParams p;
  p.batch = dim_of(o, "batch", 0);
  p.channels = dim_of(o, "channels", 1);
  p.groups = dim_of(o, "groups", 1);
  p.spatial = dim_of(o, "spatial", 1);
  p.eps = static_cast<float>(o.number_or("eps", p.eps));
  const int64_t n = p.batch * p.channels * p.spatial;
  p.x = o.f32("x", n);
  p.gamma = o.f32_opt("gamma", p.channels);
  p.beta = o.f32_opt("beta", p.channels);
  p.y = o.f32("y", n);
  p.mean = o.f32("mean", p.batch * p.groups);
  p.rstd = o.f32("rstd", p.batch * p.groups);
  p.threads = o.threads();
  return run(info.Env(), [&] { group_norm_forward(p); });
}

// {x, gamma?, mean, rstd, dy, dx, dgamma?, dbeta?, batch, channels, groups, spatial, accumulate?, threads?}
Napi::Value GroupNormBackward(const Napi::CallbackInfo& info) {
  Args o(info, "nnGroupNormBackward");
  GroupNormBackwardParams p;
  p.batch = dim_of(o, "batch", 0);
  p.channels = dim_of(o, "channels", 1);
  p.groups = dim_of(o, "groups", 1);
  p.spatial = dim_of(o, "spatial", 1);
  const int64_t n = p.batch * p.channels * p.spatial;
  p.x = o.f32("x", n);
  p.gamma = o.f32_opt("gamma", p.channels);
  p.mean = o.f32("mean", p.batch * p.groups);
  p.rstd = o.f32("rstd", p.batch * p.groups);
  p.dy = o.f32("dy", n);
  p.dx = o.f32("dx", n);
  p.dgamma = o.f32_opt("dgamma", p.channels);
  p.dbeta = o.f32_opt("dbeta", p.channels);
  p.accumulate = o.boolean_or("accumulate", false);
  p.threads = o.threads();
  return run(info.Env(), [&] { group_norm_backward(p); });
}

}  // namespace

void register_nn_spatial(Napi::Env env, Napi::Object exports) {
  exports.Set("nnMaxPool2dForward", Napi::Function::New(env, MaxPoolForward, "nnMaxPool2dForward"));
  exports.Set("nnMaxPool2dBackward", Napi::Function::New(env, MaxPoolBackward, "nnMaxPool2dBackward"));
  exports.Set("nnAvgPool2dForward", Napi::Function::New(env, AvgPoolForward, "nnAvgPool2dForward"));
  exports.Set("nnAvgPool2dBackward", Napi::Function::New(env, AvgPoolBackward, "nnAvgPool2dBackward"));
  exports.Set("nnGroupNormForward", Napi::Function::New(env, GroupNormForward, "nnGroupNormForward"));
  exports.Set("nnGroupNormBackward", Napi::Function::New(env, GroupNormBackward, "nnGroupNormBackward"));
}

}  // namespace addon
}  // namespace simsage
