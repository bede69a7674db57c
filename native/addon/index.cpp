// NativeIndex: the JS handle of a VectorStore. The store is shared with in-flight async searches
// (shared_ptr), so dispose() while a search runs frees the memory only when that search ends.
#include <memory>

#include "addon/addon.h"
#include "addon/search_worker.h"
#include "similarity/similarity.h"

namespace simsage {
namespace addon {

namespace {

class NativeIndex : public Napi::ObjectWrap<NativeIndex> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativeIndex",
                       {InstanceMethod<&NativeIndex::Add>("add"), InstanceMethod<&NativeIndex::Remove>("remove"),
                        InstanceMethod<&NativeIndex::Has>("has"), InstanceMethod<&NativeIndex::Size>("size"),
                        InstanceMethod<&NativeIndex::Reserve>("reserve"),
                        InstanceMethod<&NativeIndex::SearchSync>("searchSync"),
                        InstanceMethod<&NativeIndex::SearchAsync>("searchAsync"),
                        InstanceMethod<&NativeIndex::ExportInto>("exportInto"),
                        InstanceMethod<&NativeIndex::Dispose>("dispose"),
                        InstanceMethod<&NativeIndex::Disposed>("disposed")});
  }

  // new NativeIndex(dim, metric)
  explicit NativeIndex(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeIndex>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsString())
      throw_js(env, "ERR_SIMSAGE_INVALID_ARGUMENT", "NativeIndex(dim, metric)");
    int64_t dim = info[0].As<Napi::Number>().Int64Value();
    std::string metric = info[1].As<Napi::String>().Utf8Value();
    store_ = guard(env, [&] { return std::make_shared<VectorStore>(dim, parse_metric(metric.c_str())); });
  }

 private:
  VectorStore& store(Napi::Env env) {
    if (!store_) throw_js(env, "ERR_SIMSAGE_DISPOSED", "the index has been disposed");
    return *store_;
  }

  // add(ids: Float64Array, vectors: Float32Array, normalized?: boolean)
  Napi::Value Add(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    VectorStore& s = store(env);
    std::vector<int64_t> ids = ids_from_f64(get_f64(info[0], "ids"), "ids");
    Napi::Float32Array v = get_f32(info[1], "vectors");
    if (static_cast<int64_t>(v.ElementLength()) != static_cast<int64_t>(ids.size()) * s.dim())
      throw_js(env, "ERR_SIMSAGE_DIM_MISMATCH",
               "vectors length " + std::to_string(v.ElementLength()) + " != ids.length " + std::to_string(ids.size()) +
                   " x dim " + std::to_string(s.dim()));
    bool normalized = info.Length() > 2 && info[2].IsBoolean() && info[2].As<Napi::Boolean>().Value();
    guard(env, [&] {
      s.add(ids.data(), v.Data(), static_cast<int64_t>(ids.size()), normalized);
      return 0;
    });
    return env.Undefined();
  }

  Napi::Value Remove(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    VectorStore& s = store(env);
    std::vector<int64_t> ids = ids_from_f64(get_f64(info[0], "ids"), "ids");
    int64_t n = guard(env, [&] { return s.remove(ids.data(), static_cast<int64_t>(ids.size())); });
    return Napi::Number::New(env, static_cast<double>(n));
  }

  Napi::Value Has(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    VectorStore& s = store(env);
    if (!info[0].IsNumber()) return Napi::Boolean::New(env, false);
    double d = info[0].As<Napi::Number>().DoubleValue();
    if (!(d >= 0) || d != static_cast<double>(static_cast<int64_t>(d))) return Napi::Boolean::New(env, false);
    return Napi::Boolean::New(env, s.has(static_cast<int64_t>(d)));
  }

  Napi::Value Size(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(store(info.Env()).size()));
  }

  Napi::Value Reserve(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    VectorStore& s = store(env);
    int64_t rows = info[0].As<Napi::Number>().Int64Value();
    guard(env, [&] {
      s.reserve(rows);
      return 0;
    });
    return env.Undefined();
  }

  Napi::Value SearchSync(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    VectorStore& s = store(env);
    if (!info[0].IsObject()) throw_js(env, "ERR_SIMSAGE_INVALID_ARGUMENT", "expected an arguments object");
    Napi::Object o = info[0].As<Napi::Object>();
    SearchRequest r = parse_search(o, false);
    r.metric = s.metric();
    const float* q = get_f32(o.Get("queries"), "queries").Data();
    SearchOutput out;
    guard(env, [&] {
      out.stats = s.search(out.params(r, q), r.spec());
      return 0;
    });
    return out.to_js(env, r.k);
  }

  Napi::Value SearchAsync(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    store(env);
    if (!info[0].IsObject()) throw_js(env, "ERR_SIMSAGE_INVALID_ARGUMENT", "expected an arguments object");
    auto r = std::make_shared<SearchRequest>(parse_search(info[0].As<Napi::Object>(), true));
    r->metric = store_->metric();
    std::shared_ptr<VectorStore> keep = store_;
    auto* w = new SearchWorker(
        env, [r, keep](SearchOutput& out) { out.stats = keep->search(out.params(*r, r->queries.data()), r->spec()); },
        r->k);
    Napi::Promise p = w->promise();
    w->Queue();
    return p;
  }

  // exportInto(vectors: Float32Array (size x dim), ids: Float64Array (size)) -> rows written
  Napi::Value ExportInto(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    VectorStore& s = store(env);
    Napi::Float32Array v = get_f32(info[0], "vectors");
    Napi::Float64Array ids = get_f64(info[1], "ids");
    int64_t rows = static_cast<int64_t>(ids.ElementLength());
    if (static_cast<int64_t>(v.ElementLength()) != rows * s.dim())
      throw_js(env, "ERR_SIMSAGE_DIM_MISMATCH", "export buffers do not match");
    std::vector<int64_t> tmp(static_cast<size_t>(rows));
    guard(env, [&] {
      if (s.size() != rows) throw Error(ErrorCode::InvalidArgument, "export buffers must hold exactly size() rows");
      s.export_rows(v.Data(), tmp.data(), rows);
      return 0;
    });
    double* out = ids.Data();
    for (int64_t i = 0; i < rows; ++i) out[i] = static_cast<double>(tmp[i]);
    return Napi::Number::New(env, static_cast<double>(rows));
  }

  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    store_.reset();
    return info.Env().Undefined();
  }

  Napi::Value Disposed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), !store_); }

  std::shared_ptr<VectorStore> store_;
};

}  // namespace

Napi::Function DefineNativeIndex(Napi::Env env) { return NativeIndex::Define(env); }

}  // namespace addon
}  // namespace simsage
