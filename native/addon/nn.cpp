// Bindings of the nn family (native/nn/nn.h), registered by register_nn. Every call takes one
// arguments object of Float32Arrays and shapes (typed in lib/native/nn-types.ts), checks each
// array's length against the shapes, and runs synchronously: these are per-batch ops of a training
// loop, small next to the cost of a Promise. Outputs are caller-provided Float32Arrays (written in
// place; nothing is allocated per call).
#include "nn/nn.h"

#include <string>
#include <utility>

#include "addon/addon.h"
#include "addon/args.h"

namespace simsage {
namespace addon {

namespace {

// A shape: an integer in [min, 2^40]; ERR_SIMSAGE_DIM_MISMATCH outside.
int64_t dim_of(const Args& a, const char* key, int64_t min) {
  return a.integer(key, min, int64_t(1) << 40, kDimMismatch);
}

// A hyperparameter (NaN passes through: the kernels reject non-finite values with NON_FINITE).
float num(const Args& a, const char* key, float fallback) { return static_cast<float>(a.number_or(key, fallback)); }

template <class F>
Napi::Value run(Napi::Env env, F&& fn) {
  guard(env, std::forward<F>(fn));
  return env.Undefined();
}

// {x, w, b?, y, batch, inFeatures, outFeatures, threads?}
Napi::Value LinearForward(const Napi::CallbackInfo& info) {
  Args o(info, "nnLinearForward");
  LinearParams p;
  p.batch = dim_of(o, "batch", 0);
  p.in_features = dim_of(o, "inFeatures", 1);
  p.out_features = dim_of(o, "outFeatures", 1);
  p.x = o.f32("x", p.batch * p.in_features);
  p.w = o.f32("w", p.out_features * p.in_features);
  p.b = o.f32_opt("b", p.out_features);
  p.y = o.f32("y", p.batch * p.out_features);
  p.threads = o.threads();
  return run(info.Env(), [&] { linear_forward(p); });
}

// {x, w, dy, dx?, dw?, db?, batch, inFeatures, outFeatures, accumulate?, threads?}
Napi::Value LinearBackward(const Napi::CallbackInfo& info) {
  Args o(info, "nnLinearBackward");
  LinearBackwardParams p;
  p.batch = dim_of(o, "batch", 0);
  p.in_features = dim_of(o, "inFeatures", 1);
  p.out_features = dim_of(o, "outFeatures", 1);
  p.x = o.f32("x", p.batch * p.in_features);
  p.w = o.f32("w", p.out_features * p.in_features);
  p.dy = o.f32("dy", p.batch * p.out_features);
  p.dx = o.f32_opt("dx", p.batch * p.in_features);
  p.dw = o.f32_opt("dw", p.out_features * p.in_features);
  p.db = o.f32_opt("db", p.out_features);
  p.accumulate = o.boolean_or("accumulate", false);
  p.threads = o.threads();
  return run(info.Env(), [&] { linear_backward(p); });
}

// {x, y, threads?}: y = max(x, 0), same lengths.
Napi::Value ReluForward(const Napi::CallbackInfo& info) {
  Args o(info, "nnReluForward");
  ReluParams p;
  p.x = o.f32_any("x", &p.n);
  p.y = o.f32("y", p.n);
  p.threads = o.threads();
  return run(info.Env(), [&] { relu_forward(p); });
}

// {y, dy, dx, threads?}
Napi::Value ReluBackward(const Napi::CallbackInfo& info) {
  Args o(info, "nnReluBackward");
  ReluBackwardParams p;
  p.y = o.f32_any("y", &p.n);
  p.dy = o.f32("dy", p.n);
  p.dx = o.f32("dx", p.n);
  p.threads = o.threads();
  return run(info.Env(), [&] { relu_backward(p); });
}

// {x, y, norms, rows, dim, eps?, threads?}
Napi::Value L2NormalizeForward(const Napi::CallbackInfo& info) {
  Args o(info, "nnL2NormalizeForward");
  L2NormParams p;
  p.rows = dim_of(o, "rows", 0);
  p.dim = dim_of(o, "dim", 1);
  p.eps = num(o, "eps", p.eps);
  p.x = o.f32("x", p.rows * p.dim);
  p.y = o.f32("y", p.rows * p.dim);
  p.norms = o.f32("norms", p.rows);
  p.threads = o.threads();
  return run(info.Env(), [&] { l2normalize_forward(p); });
}

// {y, norms, dy, dx, rows, dim, eps?, threads?}
Napi::Value L2NormalizeBackward(const Napi::CallbackInfo& info) {
  Args o(info, "nnL2NormalizeBackward");
  L2NormBackwardParams p;
  p.rows = dim_of(o, "rows", 0);
  p.dim = dim_of(o, "dim", 1);
  p.eps = num(o, "eps", p.eps);
  p.y = o.f32("y", p.rows * p.dim);
  p.norms = o.f32("norms", p.rows);
  p.dy = o.f32("dy", p.rows * p.dim);
  p.dx = o.f32("dx", p.rows * p.dim);
  p.threads = o.threads();
  return run(info.Env(), [&] { l2normalize_backward(p); });
}

// {x, gamma?, beta?, y, mean, rstd, rows, dim, eps?, threads?}
Napi::Value LayerNormForward(const Napi::CallbackInfo& info) {
  Args o(info, "nnLayerNormForward");
  LayerNormParams p;
  p.rows = dim_of(o, "rows", 0);
  p.dim = dim_of(o, "dim", 1);
  p.eps = num(o, "eps", p.eps);
  p.x = o.f32("x", p.rows * p.dim);
  p.gamma = o.f32_opt("gamma", p.dim);
  p.beta = o.f32_opt("beta", p.dim);
  p.y = o.f32("y", p.rows * p.dim);
  p.mean = o.f32("mean", p.rows);
  p.rstd = o.f32("rstd", p.rows);
  p.threads = o.threads();
  return run(info.Env(), [&] { layernorm_forward(p); });
}

// {x, gamma?, mean, rstd, dy, dx, dgamma?, dbeta?, rows, dim, accumulate?, threads?}
Napi::Value LayerNormBackward(const Napi::CallbackInfo& info) {
  Args o(info, "nnLayerNormBackward");
  LayerNormBackwardParams p;
  p.rows = dim_of(o, "rows", 0);
  p.dim = dim_of(o, "dim", 1);
  p.x = o.f32("x", p.rows * p.dim);
  p.gamma = o.f32_opt("gamma", p.dim);
  p.mean = o.f32("mean", p.rows);
  p.rstd = o.f32("rstd", p.rows);
  p.dy = o.f32("dy", p.rows * p.dim);
  p.dx = o.f32("dx", p.rows * p.dim);
  p.dgamma = o.f32_opt("dgamma", p.dim);
  p.dbeta = o.f32_opt("dbeta", p.dim);
  p.accumulate = o.boolean_or("accumulate", false);
  p.threads = o.threads();
  return run(info.Env(), [&] { layernorm_backward(p); });
}

// {param, grad, velocity?, lr, momentum?, weightDecay?, nesterov?, threads?}
Napi::Value SgdStep(const Napi::CallbackInfo& info) {
  Args o(info, "nnSgdStep");
  SgdParams p;
  p.param = o.f32_any("param", &p.n);
  p.grad = o.f32("grad", p.n);
  p.velocity = o.f32_opt("velocity", p.n);
  p.lr = static_cast<float>(o.number("lr"));
  p.momentum = num(o, "momentum", 0.f);
  p.weight_decay = num(o, "weightDecay", 0.f);
  p.nesterov = o.boolean_or("nesterov", false);
  p.threads = o.threads();
  return run(info.Env(), [&] { sgd_step(p); });
}

// {param, grad, m, v, step, lr?, beta1?, beta2?, eps?, weightDecay?, decoupled?, threads?}
Napi::Value AdamStep(const Napi::CallbackInfo& info) {
  Args o(info, "nnAdamStep");
  AdamParams p;
  p.param = o.f32_any("param", &p.n);
  p.grad = o.f32("grad", p.n);
  p.m = o.f32("m", p.n);
  p.v = o.f32("v", p.n);
  p.step = o.integer("step");
  p.lr = num(o, "lr", p.lr);
  p.beta1 = num(o, "beta1", p.beta1);
  p.beta2 = num(o, "beta2", p.beta2);
  p.eps = num(o, "eps", p.eps);
  p.weight_decay = num(o, "weightDecay", 0.f);
  p.decoupled = o.boolean_or("decoupled", false);
  p.threads = o.threads();
  return run(info.Env(), [&] { adam_step(p); });
}

}  // namespace

void register_nn(Napi::Env env, Napi::Object exports) {
  exports.Set("nnLinearForward", Napi::Function::New(env, LinearForward, "nnLinearForward"));
  exports.Set("nnLinearBackward", Napi::Function::New(env, LinearBackward, "nnLinearBackward"));
  exports.Set("nnReluForward", Napi::Function::New(env, ReluForward, "nnReluForward"));
  exports.Set("nnReluBackward", Napi::Function::New(env, ReluBackward, "nnReluBackward"));
  exports.Set("nnL2NormalizeForward", Napi::Function::New(env, L2NormalizeForward, "nnL2NormalizeForward"));
  exports.Set("nnL2NormalizeBackward", Napi::Function::New(env, L2NormalizeBackward, "nnL2NormalizeBackward"));
  exports.Set("nnLayerNormForward", Napi::Function::New(env, LayerNormForward, "nnLayerNormForward"));
  exports.Set("nnLayerNormBackward", Napi::Function::New(env, LayerNormBackward, "nnLayerNormBackward"));
  exports.Set("nnSgdStep", Napi::Function::New(env, SgdStep, "nnSgdStep"));
  exports.Set("nnAdamStep", Napi::Function::New(env, AdamStep, "nnAdamStep"));
}

}  // namespace addon
}  // namespace simsage
