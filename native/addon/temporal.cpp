// Bindings of the temporal family's conv, block and TCN streaming parts (native/temporal/temporal.h),
// registered by register_temporal. Conv and block calls take one arguments object of Float32Arrays
// and shapes (typed in lib/native/temporal-types.ts), check each array's length against the shapes
// and run synchronously (per-batch ops of a training loop, like the nn bindings). NativeTcnStream
// wraps a TcnStreamer: its rings and packed weights are native memory reported to V8 and released
// on dispose() or by the finalizer.
#include "temporal/temporal.h"

#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "addon/addon.h"
#include "addon/args.h"
#include "addon/owned.h"

namespace simsage {
namespace addon {

namespace {

int64_t dim_of(const Args& a, const char* key, int64_t min) {
  return a.integer(key, min, int64_t(1) << 40, kDimMismatch);
}

// kernelSize / dilation: integers; < 1 is ERR_SIMSAGE_INVALID_ARGUMENT (checked before any length).
int64_t option_of(const Args& a, const char* key, int64_t fallback) {
  const int64_t v = a.integer_or(key, fallback, -(int64_t(1) << 40), int64_t(1) << 40);
  if (v < 1) throw_js(a.env(), kInvalidArgument, std::string(key) + " must be >= 1, got " + std::to_string(v));
  return v;
}

struct Shape {
  int64_t batch, steps, in, out, k, d;
};

Shape shape_of(const Args& o) {
  Shape s;
  s.k = option_of(o, "kernelSize", 1);
  s.d = option_of(o, "dilation", 1);
  s.batch = dim_of(o, "batch", 0);
  s.steps = dim_of(o, "steps", 0);
  s.in = dim_of(o, "inChannels", 1);
  s.out = dim_of(o, "outChannels", 1);
  if (s.k > 4096) throw_js(o.env(), kInvalidArgument, "kernelSize must be <= 4096");
  return s;
}

template <class F>
Napi::Value run(Napi::Env env, F&& fn) {
  guard(env, std::forward<F>(fn));
  return env.Undefined();
}

// {x, w, b?, y, batch, steps, inChannels, outChannels, kernelSize, dilation?, relu?, threads?}
Napi::Value Conv1dForward(const Napi::CallbackInfo& info) {
  Args o(info, "temporalConv1dForward");
  const Shape s = shape_of(o);
  Conv1dParams p;
  p.batch = s.batch;
  p.steps = s.steps;
  p.in_channels = s.in;
  p.out_channels = s.out;
  p.kernel_size = s.k;
  p.dilation = s.d;
  p.x = o.f32("x", s.batch * s.steps * s.in);
  p.w = o.f32("w", s.out * s.in * s.k);
  p.b = o.f32_opt("b", s.out);
  p.y = o.f32("y", s.batch * s.steps * s.out);
  p.relu = o.boolean_or("relu", false);
  p.threads = o.threads();
  return run(info.Env(), [&] { conv1d_forward(p); });
}

// {x?, w?, dy, dx?, dw?, db?, shapes, accumulate?, accumulateDx?, threads?}
Napi::Value Conv1dBackward(const Napi::CallbackInfo& info) {
  Args o(info, "temporalConv1dBackward");
  const Shape s = shape_of(o);
  Conv1dBackwardParams p;
  p.batch = s.batch;
  p.steps = s.steps;
  p.in_channels = s.in;
  p.out_channels = s.out;
  p.kernel_size = s.k;
  p.dilation = s.d;
  p.x = o.f32_opt("x", s.batch * s.steps * s.in);
  p.w = o.f32_opt("w", s.out * s.in * s.k);
  p.dy = o.f32("dy", s.batch * s.steps * s.out);
  p.dx = o.f32_opt("dx", s.batch * s.steps * s.in);
  p.dw = o.f32_opt("dw", s.out * s.in * s.k);
  p.db = o.f32_opt("db", s.out);
  p.accumulate = o.boolean_or("accumulate", false);
  p.accumulate_dx = o.boolean_or("accumulateDx", false);
  p.threads = o.threads();
  return run(info.Env(), [&] { conv1d_backward(p); });
}

// {x, w1, b1?, w2, b2?, wd?, bd?, a1, a2, y, shapes, dropout?, training?, seed?, threads?}
Napi::Value BlockForward(const Napi::CallbackInfo& info) {
  Args o(info, "temporalBlockForward");
  const Shape s = shape_of(o);
  const int64_t rows = s.batch * s.steps;
  TemporalBlockParams p;
  p.batch = s.batch;
  p.steps = s.steps;
  p.in_channels = s.in;
  p.out_channels = s.out;
  p.kernel_size = s.k;
  p.dilation = s.d;
  p.x = o.f32("x", rows * s.in);
  p.w1 = o.f32("w1", s.out * s.in * s.k);
  p.b1 = o.f32_opt("b1", s.out);
  p.w2 = o.f32("w2", s.out * s.out * s.k);
  p.b2 = o.f32_opt("b2", s.out);
  p.wd = o.f32_opt("wd", s.out * s.in);
  p.bd = o.f32_opt("bd", s.out);
  p.a1 = o.f32("a1", rows * s.out);
  p.a2 = o.f32("a2", rows * s.out);
  p.y = o.f32("y", rows * s.out);
  p.dropout = static_cast<float>(o.number_or("dropout", 0.0));
  p.training = o.boolean_or("training", false);
  p.seed = static_cast<uint64_t>(o.integer_or("seed", 0, 0, kMaxSafeInteger));
  p.threads = o.threads();
  return run(info.Env(), [&] { temporal_block_forward(p); });
}

// {x, w1, w2, wd?, a1, a2, y, dy, dx?, dw1?, db1?, dw2?, db2?, dwd?, dbd?, shapes, dropout?,
//  training?, accumulate?, threads?}
Napi::Value BlockBackward(const Napi::CallbackInfo& info) {
  Args o(info, "temporalBlockBackward");
  const Shape s = shape_of(o);
  const int64_t rows = s.batch * s.steps;
  TemporalBlockBackwardParams p;
  p.batch = s.batch;
  p.steps = s.steps;
  p.in_channels = s.in;
  p.out_channels = s.out;
  p.kernel_size = s.k;
  p.dilation = s.d;
  p.x = o.f32("x", rows * s.in);
  p.w1 = o.f32("w1", s.out * s.in * s.k);
  p.w2 = o.f32("w2", s.out * s.out * s.k);
  p.wd = o.f32_opt("wd", s.out * s.in);
  p.a1 = o.f32("a1", rows * s.out);
  p.a2 = o.f32("a2", rows * s.out);
  p.y = o.f32("y", rows * s.out);
  p.dy = o.f32("dy", rows * s.out);
  p.dx = o.f32_opt("dx", rows * s.in);
  p.dw1 = o.f32_opt("dw1", s.out * s.in * s.k);
  p.db1 = o.f32_opt("db1", s.out);
  p.dw2 = o.f32_opt("dw2", s.out * s.out * s.k);
  p.db2 = o.f32_opt("db2", s.out);
  p.dwd = o.f32_opt("dwd", s.out * s.in);
  p.dbd = o.f32_opt("dbd", s.out);
  p.dropout = static_cast<float>(o.number_or("dropout", 0.0));
  p.training = o.boolean_or("training", false);
  p.accumulate = o.boolean_or("accumulate", false);
  p.threads = o.threads();
  return run(info.Env(), [&] { temporal_block_backward(p); });
}

// Uint8Array under `key`, required.
const uint8_t* bytes_of(const Args& a, const char* key, size_t* len) {
  Napi::Value v = a.get(key);
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
    throw_js(a.env(), kInvalidArgument, std::string(key) + " must be a Uint8Array");
  Napi::Uint8Array arr = v.As<Napi::Uint8Array>();
  *len = arr.ElementLength();
  return *len ? arr.Data() : static_cast<const uint8_t*>(empty_data());
}

class NativeTcnStream : public Napi::ObjectWrap<NativeTcnStream> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(
        env, "NativeTcnStream",
        {InstanceMethod<&NativeTcnStream::Step>("step"), InstanceMethod<&NativeTcnStream::Reset>("reset"),
         InstanceMethod<&NativeTcnStream::Save>("save"), InstanceMethod<&NativeTcnStream::Restore>("restore"),
         InstanceMethod<&NativeTcnStream::Position>("position"), InstanceMethod<&NativeTcnStream::Describe>("describe"),
         InstanceMethod<&NativeTcnStream::Dispose>("dispose"), InstanceMethod<&NativeTcnStream::Disposed>("disposed")});
  }

  // new NativeTcnStream({ kernelSize, streams, blocks: [{ inChannels, outChannels, dilation, w1,
  // b1?, w2, b2?, wd?, bd? }] }): the weights are copied (packed) here.
  explicit NativeTcnStream(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeTcnStream>(info) {
    Napi::Env env = info.Env();
    Args a(info, "NativeTcnStream");
    const int64_t k = option_of(a, "kernelSize", 1);
    const int64_t streams = a.integer("streams", 1, (int64_t(1) << 31) - 1);
    Napi::Value bv = a.get("blocks");
    if (!bv.IsArray()) throw_js(env, kInvalidArgument, "blocks must be an array");
    Napi::Array arr = bv.As<Napi::Array>();
    std::vector<TcnBlockWeights> blocks;
    for (uint32_t i = 0; i < arr.Length(); ++i) {
      Napi::Value e = arr.Get(i);
      if (!e.IsObject()) throw_js(env, kInvalidArgument, "blocks[" + std::to_string(i) + "] must be an object");
      Args b(e.As<Napi::Object>());
      TcnBlockWeights w;
      w.in_channels = dim_of(b, "inChannels", 1);
      w.out_channels = dim_of(b, "outChannels", 1);
      w.dilation = option_of(b, "dilation", 1);
      w.w1 = b.f32("w1", w.out_channels * w.in_channels * k);
      w.b1 = b.f32_opt("b1", w.out_channels);
      w.w2 = b.f32("w2", w.out_channels * w.out_channels * k);
      w.b2 = b.f32_opt("b2", w.out_channels);
      w.wd = b.f32_opt("wd", w.out_channels * w.in_channels);
      w.bd = b.f32_opt("bd", w.out_channels);
      blocks.push_back(w);
    }
    st_.reset(env, guard(env, [&] { return std::make_unique<TcnStreamer>(k, blocks, streams); }));
  }

  ~NativeTcnStream() override { st_.release(Env()); }

 private:
  TcnStreamer& st(Napi::Env env) { return st_.get(env); }
  void account(Napi::Env env) { st_.account(env); }

  int64_t stream_of(Napi::Env env, const Args& a) {
    return a.integer("stream", 0, st(env).streams() - 1, kInvalidArgument);
  }

  // step({ x, y, active?: Int32Array, threads? }): x rows x inputSize, y rows x outputSize, rows =
  // active.length or streams.
  Napi::Value Step(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Args a(info, "step");
    TcnStreamer& s = st(env);
    int64_t rows = s.streams();
    const int32_t* active = nullptr;
    if (a.has("active")) active = a.i32_any("active", &rows);
    const float* x = a.f32("x", rows * s.input_size());
    float* y = a.f32("y", rows * s.output_size());
    const int threads = a.threads();
    guard(env, [&] { s.step(x, rows, active, y, threads); });
    account(env);
    return env.Undefined();
  }

  // reset({ stream? }): one stream, or all without `stream`.
  Napi::Value Reset(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Args a(info, "reset");
    TcnStreamer& s = st(env);
    if (a.has("stream")) {
      const int64_t stream = stream_of(env, a);
      guard(env, [&] { s.reset(stream); });
    } else {
      s.reset_all();
    }
    return env.Undefined();
  }

  Napi::Value Save(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Args a(info, "save");
    TcnStreamer& s = st(env);
    const int64_t stream = stream_of(env, a);
    // With `out` (a Uint8Array of exactly stateSize bytes, e.g. a view into a larger record) the
    // state is written there and `out` returned: no allocation on a serving hot path.
    Napi::Uint8Array out;
    if (a.has("out")) {
      size_t len = 0;
      bytes_of(a, "out", &len);
      if (len != s.state_size())
        throw_js(env, kDimMismatch,
                 "out has " + std::to_string(len) + " bytes; the state has " + std::to_string(s.state_size()));
      out = a.get("out").As<Napi::Uint8Array>();
    } else {
      out = Napi::Uint8Array::New(env, s.state_size());
    }
    guard(env, [&] { s.save_into(stream, out.Data()); });
    return out;
  }

  Napi::Value Restore(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Args a(info, "restore");
    TcnStreamer& s = st(env);
    const int64_t stream = stream_of(env, a);
    size_t len = 0;
    const uint8_t* data = bytes_of(a, "bytes", &len);
    guard(env, [&] { s.restore(stream, data, len); });
    return env.Undefined();
  }

  Napi::Value Position(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Args a(info, "position");
    TcnStreamer& s = st(env);
    const int64_t stream = stream_of(env, a);
    return Napi::Number::New(env, static_cast<double>(s.position(stream)));
  }

  // describe() -> { streams, inputSize, outputSize, stateSize, fingerprint (16 hex digits) }
  Napi::Value Describe(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    TcnStreamer& s = st(env);
    Napi::Object o = Napi::Object::New(env);
    o.Set("streams", Napi::Number::New(env, static_cast<double>(s.streams())));
    o.Set("inputSize", Napi::Number::New(env, static_cast<double>(s.input_size())));
    o.Set("outputSize", Napi::Number::New(env, static_cast<double>(s.output_size())));
    o.Set("stateSize", Napi::Number::New(env, static_cast<double>(s.state_size())));
    char hex[17];
    std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(s.fingerprint()));
    o.Set("fingerprint", Napi::String::New(env, hex));
    return o;
  }

  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    st_.release(info.Env());
    return info.Env().Undefined();
  }

  Napi::Value Disposed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), st_.disposed()); }

  OwnedNative<TcnStreamer> st_{"TCN stream"};
};

}  // namespace

void register_temporal(Napi::Env env, Napi::Object exports) {
  exports.Set("temporalConv1dForward", Napi::Function::New(env, Conv1dForward, "temporalConv1dForward"));
  exports.Set("temporalConv1dBackward", Napi::Function::New(env, Conv1dBackward, "temporalConv1dBackward"));
  exports.Set("temporalBlockForward", Napi::Function::New(env, BlockForward, "temporalBlockForward"));
  exports.Set("temporalBlockBackward", Napi::Function::New(env, BlockBackward, "temporalBlockBackward"));
  exports.Set("NativeTcnStream", NativeTcnStream::Define(env));
}

}  // namespace addon
}  // namespace simsage
