// Bindings of the nn family (native/nn/nn.h), registered by RegisterNn. Every call takes one
// arguments object of Float32Arrays and shapes (typed in lib/native/nn-types.ts), checks each
// array's length against the shapes, and runs synchronously: these are per-batch ops of a training
// loop, small next to the cost of a Promise. Outputs are caller-provided Float32Arrays (written in
// place; nothing is allocated per call).
#include <cmath>
#include <string>

#include "addon/addon.h"
#include "nn/nn.h"

namespace simsage {
namespace addon {

namespace {

const char* kInvalid = "ERR_SIMSAGE_INVALID_ARGUMENT";
const char* kDim = "ERR_SIMSAGE_DIM_MISMATCH";

Napi::Object args_of(const Napi::CallbackInfo& info, const char* fn) {
  if (info.Length() < 1 || !info[0].IsObject())
    throw_js(info.Env(), kInvalid, std::string(fn) + ": expected an arguments object");
  return info[0].As<Napi::Object>();
}

bool present(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  return !v.IsUndefined() && !v.IsNull();
}

// The Float32Array o[key] of exactly `len` elements; null when optional and absent.
float* f32(const Napi::Object& o, const char* key, int64_t len, bool required) {
  if (!present(o, key)) {
    if (required) throw_js(o.Env(), kInvalid, std::string(key) + " is required");
    return nullptr;
  }
  Napi::Float32Array a = get_f32(o.Get(key), key);
  if (static_cast<int64_t>(a.ElementLength()) != len)
    throw_js(o.Env(), kDim,
             std::string(key) + " has length " + std::to_string(a.ElementLength()) + ", expected " +
                 std::to_string(len));
  // An empty Float32Array may have no backing store; give kernels a non-null pointer anyway.
  static float empty = 0.f;
  return len == 0 ? &empty : a.Data();
}

// A Float32Array of any length (elementwise ops); returns the pointer and writes its length.
float* f32_any(const Napi::Object& o, const char* key, int64_t* len) {
  if (!present(o, key)) throw_js(o.Env(), kInvalid, std::string(key) + " is required");
  Napi::Float32Array a = get_f32(o.Get(key), key);
  *len = static_cast<int64_t>(a.ElementLength());
  static float empty = 0.f;
  return *len == 0 ? &empty : a.Data();
}

int64_t dim_of(const Napi::Object& o, const char* key, int64_t min) {
  const int64_t v = get_int(o, key, 0, true);
  if (v < min || v > (int64_t(1) << 40))
    throw_js(o.Env(), kDim, std::string(key) + " must be an integer >= " + std::to_string(min));
  return v;
}

// A number (NaN passes through: the kernels reject non-finite hyperparameters with NON_FINITE).
float num(const Napi::Object& o, const char* key, float fallback) {
  if (!present(o, key)) return fallback;
  Napi::Value v = o.Get(key);
  if (!v.IsNumber()) throw_js(o.Env(), kInvalid, std::string(key) + " must be a number");
  return static_cast<float>(v.As<Napi::Number>().DoubleValue());
}

bool flag(const Napi::Object& o, const char* key, bool fallback) {
  if (!present(o, key)) return fallback;
  Napi::Value v = o.Get(key);
  if (!v.IsBoolean()) throw_js(o.Env(), kInvalid, std::string(key) + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

int threads_of(const Napi::Object& o) { return static_cast<int>(get_int(o, "threads", 0, false)); }

template <class F>
Napi::Value run(Napi::Env env, F&& fn) {
  guard(env, [&] {
    fn();
    return 0;
  });
  return env.Undefined();
}

// {x, w, b?, y, batch, inFeatures, outFeatures, threads?}
Napi::Value LinearForward(const Napi::CallbackInfo& info) {
  Napi::Object o = args_of(info, "nnLinearForward");
  LinearParams p;
  p.batch = dim_of(o, "batch", 0);
  p.in_features = dim_of(o, "inFeatures", 1);
  p.out_features = dim_of(o, "outFeatures", 1);
  p.x = f32(o, "x", p.batch * p.in_features, true);
  p.w = f32(o, "w", p.out_features * p.in_features, true);
  p.b = f32(o, "b", p.out_features, false);
  p.y = f32(o, "y", p.batch * p.out_features, true);
  p.threads = threads_of(o);
  return run(info.Env(), [&] { linear_forward(p); });
}

// {x, w, dy, dx?, dw?, db?, batch, inFeatures, outFeatures, accumulate?, threads?}
Napi::Value LinearBackward(const Napi::CallbackInfo& info) {
  Napi::Object o = args_of(info, "nnLinearBackward");
  LinearBackwardParams p;
  p.batch = dim_of(o, "batch", 0);
  p.in_features = dim_of(o, "inFeatures", 1);
  p.out_features = dim_of(o, "outFeatures", 1);
  p.x = f32(o, "x", p.batch * p.in_features, true);
  p.w = f32(o, "w", p.out_features * p.in_features, true);
  p.dy = f32(o, "dy", p.batch * p.out_features, true);
  p.dx = f32(o, "dx", p.batch * p.in_features, false);
  p.dw = f32(o, "dw", p.out_features * p.in_features, false);
  p.db = f32(o, "db", p.out_features, false);
  p.accumulate = flag(o, "accumulate", false);
  p.threads = threads_of(o);
  return run(info.Env(), [&] { linear_backward(p); });
}

// {x, y, threads?}: y = max(x, 0), same lengths.
Napi::Value ReluForward(const Napi::CallbackInfo& info) {
  Napi::Object o = args_of(info, "nnReluForward");
  ReluParams p;
  p.x = f32_any(o, "x", &p.n);
  p.y = f32(o, "y", p.n, true);
  p.threads = threads_of(o);
  return run(info.Env(), [&] { relu_forward(p); });
}

// {y, dy, dx, threads?}
Napi::Value ReluBackward(const Napi::CallbackInfo& info) {
  Napi::Object o = args_of(info, "nnReluBackward");
  ReluBackwardParams p;
  p.y = f32_any(o, "y", &p.n);
  p.dy = f32(o, "dy", p.n, true);
  p.dx = f32(o, "dx", p.n, true);
  p.threads = threads_of(o);
  return run(info.Env(), [&] { relu_backward(p); });
}

// {x, y, norms, rows, dim, eps?, threads?}
Napi::Value L2NormalizeForward(const Napi::CallbackInfo& info) {
  Napi::Object o = args_of(info, "nnL2NormalizeForward");
  L2NormParams p;
  p.rows = dim_of(o, "rows", 0);
  p.dim = dim_of(o, "dim", 1);
  p.eps = num(o, "eps", p.eps);
  p.x = f32(o, "x", p.rows * p.dim, true);
  p.y = f32(o, "y", p.rows * p.dim, true);
  p.norms = f32(o, "norms", p.rows, true);
  p.threads = threads_of(o);
  return run(info.Env(), [&] { l2normalize_forward(p); });
}

// {y, norms, dy, dx, rows, dim, eps?, threads?}
Napi::Value L2NormalizeBackward(const Napi::CallbackInfo& info) {
  Napi::Object o = args_of(info, "nnL2NormalizeBackward");
  L2NormBackwardParams p;
  p.rows = dim_of(o, "rows", 0);
  p.dim = dim_of(o, "dim", 1);
  p.eps = num(o, "eps", p.eps);
  p.y = f32(o, "y", p.rows * p.dim, true);
  p.norms = f32(o, "norms", p.rows, true);
  p.dy = f32(o, "dy", p.rows * p.dim, true);
  p.dx = f32(o, "dx", p.rows * p.dim, true);
  p.threads = threads_of(o);
  return run(info.Env(), [&] { l2normalize_backward(p); });
}

// {x, gamma?, beta?, y, mean, rstd, rows, dim, eps?, threads?}
Napi::Value LayerNormForward(const Napi::CallbackInfo& info) {
  Napi::Object o = args_of(info, "nnLayerNormForward");
  LayerNormParams p;
  p.rows = dim_of(o, "rows", 0);
  p.dim = dim_of(o, "dim", 1);
  p.eps = num(o, "eps", p.eps);
  p.x = f32(o, "x", p.rows * p.dim, true);
  p.gamma = f32(o, "gamma", p.dim, false);
  p.beta = f32(o, "beta", p.dim, false);
  p.y = f32(o, "y", p.rows * p.dim, true);
  p.mean = f32(o, "mean", p.rows, true);
  p.rstd = f32(o, "rstd", p.rows, true);
  p.threads = threads_of(o);
  return run(info.Env(), [&] { layernorm_forward(p); });
}

// {x, gamma?, mean, rstd, dy, dx, dgamma?, dbeta?, rows, dim, accumulate?, threads?}
Napi::Value LayerNormBackward(const Napi::CallbackInfo& info) {
  Napi::Object o = args_of(info, "nnLayerNormBackward");
  LayerNormBackwardParams p;
  p.rows = dim_of(o, "rows", 0);
  p.dim = dim_of(o, "dim", 1);
  p.x = f32(o, "x", p.rows * p.dim, true);
  p.gamma = f32(o, "gamma", p.dim, false);
  p.mean = f32(o, "mean", p.rows, true);
  p.rstd = f32(o, "rstd", p.rows, true);
  p.dy = f32(o, "dy", p.rows * p.dim, true);
  p.dx = f32(o, "dx", p.rows * p.dim, true);
  p.dgamma = f32(o, "dgamma", p.dim, false);
  p.dbeta = f32(o, "dbeta", p.dim, false);
  p.accumulate = flag(o, "accumulate", false);
  p.threads = threads_of(o);
  return run(info.Env(), [&] { layernorm_backward(p); });
}

// {param, grad, velocity?, lr, momentum?, weightDecay?, nesterov?, threads?}
Napi::Value SgdStep(const Napi::CallbackInfo& info) {
  Napi::Object o = args_of(info, "nnSgdStep");
  SgdParams p;
  p.param = f32_any(o, "param", &p.n);
  p.grad = f32(o, "grad", p.n, true);
  p.velocity = f32(o, "velocity", p.n, false);
  p.lr = num(o, "lr", NAN);
  if (!present(o, "lr")) throw_js(o.Env(), kInvalid, "lr is required");
  p.momentum = num(o, "momentum", 0.f);
  p.weight_decay = num(o, "weightDecay", 0.f);
  p.nesterov = flag(o, "nesterov", false);
  p.threads = threads_of(o);
  return run(info.Env(), [&] { sgd_step(p); });
}

// {param, grad, m, v, step, lr?, beta1?, beta2?, eps?, weightDecay?, decoupled?, threads?}
Napi::Value AdamStep(const Napi::CallbackInfo& info) {
  Napi::Object o = args_of(info, "nnAdamStep");
  AdamParams p;
  p.param = f32_any(o, "param", &p.n);
  p.grad = f32(o, "grad", p.n, true);
  p.m = f32(o, "m", p.n, true);
  p.v = f32(o, "v", p.n, true);
  p.step = get_int(o, "step", 0, true);
  p.lr = num(o, "lr", p.lr);
  p.beta1 = num(o, "beta1", p.beta1);
  p.beta2 = num(o, "beta2", p.beta2);
  p.eps = num(o, "eps", p.eps);
  p.weight_decay = num(o, "weightDecay", 0.f);
  p.decoupled = flag(o, "decoupled", false);
  p.threads = threads_of(o);
  return run(info.Env(), [&] { adam_step(p); });
}

}  // namespace

void RegisterNn(Napi::Env env, Napi::Object exports) {
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
