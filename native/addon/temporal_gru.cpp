// Bindings of the temporal family's GRU (native/temporal/temporal.h), registered by
// register_temporal_gru. Every call takes one arguments object (typed in
// lib/native/temporal-gru-types.ts): the shape {layers, inputSize, hiddenSize}, the parameters as
// an array of 4 * layers Float32Arrays in PyTorch's order (weight_ih_l0, weight_hh_l0, bias_ih_l0,
// bias_hh_l0, ...), and caller-provided outputs written in place. The calls are synchronous: a
// forward or backward is one step of a training loop, and a stream step serves one event batch.
// NativeGruStream wraps a GruStreamer (the weights copied and packed once); the stream states stay
// in a caller-held Float32Array, so state(), reset(), save() and restore() are plain array work.
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "addon/addon.h"
#include "addon/args.h"
#include "addon/owned.h"
#include "temporal/temporal.h"

namespace simsage {
namespace addon {

namespace {

int64_t dim_of(const Args& a, const char* key, int64_t min) {
  return a.integer(key, min, int64_t(1) << 40, kDimMismatch);
}

// The shape keys {layers, inputSize, hiddenSize}.
GruWeights shape_of(const Args& a) {
  GruWeights w;
  w.layers = a.integer("layers", 1, 64, kDimMismatch);
  w.input_size = a.integer("inputSize", 1, int64_t(1) << 24, kDimMismatch);
  w.hidden_size = a.integer("hiddenSize", 1, int64_t(1) << 24, kDimMismatch);
  return w;
}

// The parameter array under `key` (weights or grads): 4 * layers Float32Arrays, lengths checked.
std::vector<float*> tensor_list(const Args& a, const GruWeights& w, const char* key) {
  Napi::Value v = a.get(key);
  if (!v.IsArray()) throw_js(a.env(), kInvalidArgument, std::string(key) + " must be an array of Float32Arrays");
  Napi::Array arr = v.As<Napi::Array>();
  const int64_t n = 4 * w.layers;
  if (static_cast<int64_t>(arr.Length()) != n)
    throw_js(a.env(), kDimMismatch,
             std::string(key) + " has " + std::to_string(arr.Length()) + " tensors, expected " + std::to_string(n));
  std::vector<float*> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    Napi::Value e = arr.Get(static_cast<uint32_t>(i));
    const std::string name = std::string(key) + "[" + std::to_string(i) + "]";
    if (!e.IsTypedArray() || e.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
      throw_js(a.env(), kInvalidArgument, name + " must be a Float32Array");
    Napi::Float32Array f = e.As<Napi::Float32Array>();
    const int64_t want = gru_tensor_size(w, i);
    if (static_cast<int64_t>(f.ElementLength()) != want)
      throw_js(a.env(), kDimMismatch,
               name + " has length " + std::to_string(f.ElementLength()) + ", expected " + std::to_string(want));
    out[static_cast<size_t>(i)] = f.Data();
  }
  return out;
}

// An optional Uint8Array of exactly len elements (nullptr when absent).
const uint8_t* u8_opt(const Args& a, const char* key, int64_t len) {
  if (!a.has(key)) return nullptr;
  Napi::Value v = a.get(key);
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
    throw_js(a.env(), kInvalidArgument, std::string(key) + " must be a Uint8Array");
  Napi::Uint8Array u = v.As<Napi::Uint8Array>();
  if (static_cast<int64_t>(u.ElementLength()) != len)
    throw_js(
        a.env(), kDimMismatch,
        std::string(key) + " has length " + std::to_string(u.ElementLength()) + ", expected " + std::to_string(len));
  return len == 0 ? static_cast<const uint8_t*>(empty_data()) : u.Data();
}

// {layers, inputSize, hiddenSize, weights, batch, steps, x, h0?, carry?, mask?, y, hN?, workspace,
//  threads?}
Napi::Value GruForward(const Napi::CallbackInfo& info) {
  Args o(info, "gruForward");
  GruForwardParams p;
  p.w = shape_of(o);
  const int64_t L = p.w.layers, D = p.w.input_size, H = p.w.hidden_size;
  std::vector<float*> t = tensor_list(o, p.w, "weights");
  std::vector<const float*> ct(t.begin(), t.end());
  p.w.tensors = ct.data();
  p.batch = dim_of(o, "batch", 1);
  p.steps = dim_of(o, "steps", 1);
  const int64_t B = p.batch, T = p.steps;
  p.x = o.f32("x", B * T * D);
  p.h0 = o.f32_opt("h0", L * B * H);
  p.carry = o.f32_opt("carry", B * T);
  p.mask = u8_opt(o, "mask", B * T);
  p.y = o.f32("y", B * T * H);
  p.h_n = o.f32_opt("hN", L * B * H);
  p.workspace = o.f32("workspace", gru_workspace_size(L, B, T, H));
  p.threads = o.threads();
  guard(info.Env(), [&] { gru_forward(p); });
  return info.Env().Undefined();
}

// {layers, inputSize, hiddenSize, weights, batch, steps, x, carry?, mask?, workspace, dy, dhN?, dx?,
//  dh0?, grads?, threads?}
Napi::Value GruBackward(const Napi::CallbackInfo& info) {
  Args o(info, "gruBackward");
  GruBackwardParams p;
  p.w = shape_of(o);
  const int64_t L = p.w.layers, D = p.w.input_size, H = p.w.hidden_size;
  std::vector<float*> t = tensor_list(o, p.w, "weights");
  std::vector<const float*> ct(t.begin(), t.end());
  p.w.tensors = ct.data();
  std::vector<float*> g;
  if (o.has("grads")) {
    g = tensor_list(o, p.w, "grads");
    p.grads.tensors = g.data();
  }
  p.batch = dim_of(o, "batch", 1);
  p.steps = dim_of(o, "steps", 1);
  const int64_t B = p.batch, T = p.steps;
  p.x = o.f32("x", B * T * D);
  p.carry = o.f32_opt("carry", B * T);
  p.mask = u8_opt(o, "mask", B * T);
  p.workspace = o.f32("workspace", gru_workspace_size(L, B, T, H));
  p.dy = o.f32("dy", B * T * H);
  p.dh_n = o.f32_opt("dhN", L * B * H);
  p.dx = o.f32_opt("dx", B * T * D);
  p.dh0 = o.f32_opt("dh0", L * B * H);
  p.threads = o.threads();
  guard(info.Env(), [&] { gru_backward(p); });
  return info.Env().Undefined();
}

// {layers, inputSize, hiddenSize, weights, streams, state, x, active?, carry?, y, threads?}
Napi::Value GruStreamStep(const Napi::CallbackInfo& info) {
  Args o(info, "gruStreamStep");
  GruStreamStepParams p;
  p.w = shape_of(o);
  const int64_t L = p.w.layers, D = p.w.input_size, H = p.w.hidden_size;
  std::vector<float*> t = tensor_list(o, p.w, "weights");
  std::vector<const float*> ct(t.begin(), t.end());
  p.w.tensors = ct.data();
  p.streams = dim_of(o, "streams", 1);
  p.state = o.f32("state", p.streams * L * H);
  if (o.has("active")) {
    p.active = o.i32_any("active", &p.rows);
  } else {
    p.rows = p.streams;
  }
  p.x = o.f32("x", p.rows * D);
  p.carry = o.f32_opt("carry", p.rows);
  p.y = o.f32("y", p.rows * H);
  p.threads = o.threads();
  guard(info.Env(), [&] { gru_stream_step(p); });
  return info.Env().Undefined();
}

// {layers, inputSize, hiddenSize, state} -> Uint8Array: one stream's state (layers x H) as a blob.
Napi::Value GruStateSave(const Napi::CallbackInfo& info) {
  Args o(info, "gruStateSave");
  const GruWeights w = shape_of(o);
  const float* state = o.f32("state", w.layers * w.hidden_size);
  const size_t n = guard(info.Env(), [&] { return gru_state_bytes(w); });
  Napi::Uint8Array out;
  if (o.has("out")) {  // a Uint8Array of exactly n bytes (a view into a larger record): no allocation
    Napi::Value v = o.get("out");
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
      throw_js(info.Env(), kInvalidArgument, "out must be a Uint8Array");
    out = v.As<Napi::Uint8Array>();
    if (out.ElementLength() != n)
      throw_js(info.Env(), kDimMismatch,
               "out has " + std::to_string(out.ElementLength()) + " bytes; the state has " + std::to_string(n));
  } else {
    out = Napi::Uint8Array::New(info.Env(), n);
  }
  guard(info.Env(), [&] { gru_state_save(w, state, out.Data()); });
  return out;
}

// {layers, inputSize, hiddenSize, bytes: Uint8Array, state}: restores into state (layers x H).
Napi::Value GruStateRestore(const Napi::CallbackInfo& info) {
  Args o(info, "gruStateRestore");
  const GruWeights w = shape_of(o);
  float* state = o.f32("state", w.layers * w.hidden_size);
  Napi::Value v = o.get("bytes");
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
    throw_js(info.Env(), kInvalidArgument, "bytes must be a Uint8Array");
  Napi::Uint8Array u = v.As<Napi::Uint8Array>();
  const size_t n = u.ElementLength();
  const uint8_t* data = n == 0 ? static_cast<const uint8_t*>(empty_data()) : u.Data();
  guard(info.Env(), [&] { gru_state_restore(w, data, n, state); });
  return info.Env().Undefined();
}

class NativeGruStream : public Napi::ObjectWrap<NativeGruStream> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(
        env, "NativeGruStream",
        {InstanceMethod<&NativeGruStream::Step>("step"), InstanceMethod<&NativeGruStream::Dispose>("dispose"),
         InstanceMethod<&NativeGruStream::Disposed>("disposed")});
  }

  // new NativeGruStream({ layers, inputSize, hiddenSize, weights }): the weights are copied and
  // packed here.
  explicit NativeGruStream(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeGruStream>(info) {
    Napi::Env env = info.Env();
    Args o(info, "NativeGruStream");
    GruWeights w = shape_of(o);
    std::vector<float*> t = tensor_list(o, w, "weights");
    std::vector<const float*> ct(t.begin(), t.end());
    w.tensors = ct.data();
    st_.reset(env, guard(env, [&] { return std::make_unique<GruStreamer>(w); }));
  }

  ~NativeGruStream() override { st_.release(Env()); }

 private:
  GruStreamer& st(Napi::Env env) { return st_.get(env); }
  void account(Napi::Env env) { st_.account(env); }

  // step({ streams, state, x, active?, carry?, y, threads? }): as gruStreamStep without the model.
  Napi::Value Step(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Args o(info, "step");
    GruStreamer& s = st(env);
    GruStreamStepParams p;
    p.w = s.weights();
    const int64_t L = p.w.layers, D = p.w.input_size, H = p.w.hidden_size;
    p.streams = dim_of(o, "streams", 1);
    p.state = o.f32("state", p.streams * L * H);
    if (o.has("active")) {
      p.active = o.i32_any("active", &p.rows);
    } else {
      p.rows = p.streams;
    }
    p.x = o.f32("x", p.rows * D);
    p.carry = o.f32_opt("carry", p.rows);
    p.y = o.f32("y", p.rows * H);
    p.threads = o.threads();
    guard(env, [&] { s.step(p); });
    account(env);
    return env.Undefined();
  }

  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    st_.release(info.Env());
    return info.Env().Undefined();
  }

  Napi::Value Disposed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), st_.disposed()); }

  OwnedNative<GruStreamer> st_{"GRU stream"};
};

}  // namespace

void register_temporal_gru(Napi::Env env, Napi::Object exports) {
  exports.Set("gruForward", Napi::Function::New(env, GruForward, "gruForward"));
  exports.Set("gruBackward", Napi::Function::New(env, GruBackward, "gruBackward"));
  exports.Set("gruStreamStep", Napi::Function::New(env, GruStreamStep, "gruStreamStep"));
  exports.Set("gruStateSave", Napi::Function::New(env, GruStateSave, "gruStateSave"));
  exports.Set("gruStateRestore", Napi::Function::New(env, GruStateRestore, "gruStateRestore"));
  exports.Set("NativeGruStream", NativeGruStream::Define(env));
}

}  // namespace addon
}  // namespace simsage
