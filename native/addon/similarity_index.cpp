// NativeIndex: the JS handle of a VectorStore. Every method takes one arguments object.
//
//   new NativeIndex({ dim, metric, storage?: 'f32' | 'bf16' | 'f16' | 'i8', keepF32?: boolean })
//   add({ ids, vectors, normalized? }) / addAsync(...) -> Promise<void>
//   remove({ ids }) -> number   has({ id }) -> boolean   size()   reserve({ rows })
//   searchSync(search args) / searchAsync(search args) -> Promise   (search.h)
//   exportInto({ vectors, ids }) -> rows   stats() -> { storage, keepF32, vectorBytes, recordBytes,
//   heldBytes, quantizeSeconds, quantizedRows }   dispose()   disposed()
//   addRecordsAsync({ ids, records }) -> Promise<void>   exportRecordsInto({ records, ids }) -> rows
//   (reduced precision: rows as stored records, the index file's layout; VectorStore::add_records)
//
// The store is shared with in-flight async work (shared_ptr), so dispose() while a search or an
// addAsync runs frees the memory only when that work ends. The native memory the store holds is
// reported to V8 (AdjustExternalMemory) after every mutation and released on dispose() or, for an
// index never disposed, by the finalizer.
#include <memory>

#include "addon/addon.h"
#include "addon/async_worker.h"
#include "addon/search.h"
#include "similarity/similarity.h"

namespace simsage {
namespace addon {

namespace {

// Bytes a store holds: the vector panels (capacity x dim f32), per-row bookkeeping reserved for the
// capacity (|x|^2 f32, id i64, hash bucket) and one id -> row hash node per stored row. An estimate
// of the allocator's view, within a few percent for dim >= 16.
// Reduced precision: the coded panels (padded dim), the i8 scales, the f32 copies when kept.
int64_t held_bytes(const VectorStore& s) {
  const int64_t cap = s.capacity();
  const int64_t per_row = s.vector_bytes() - (s.metric() == Metric::L2 ? 4 : 0);  // |x|^2 is below
  return cap * per_row + cap * (4 + 8 + 8) + s.size() * 32;
}

// What this index has reported to V8; shared with async mutations, which measure the store on
// their worker thread and apply the difference on the main thread.
struct ExternalMemory {
  int64_t reported = 0;
  bool released = false;

  void set(Napi::Env env, int64_t bytes) {
    if (released || bytes == reported) return;
    Napi::MemoryManagement::AdjustExternalMemory(env, bytes - reported);
    reported = bytes;
  }
  // Never throws: also runs from the finalizer, possibly while the environment shuts down.
  void release(Napi::Env env) noexcept {
    if (released) return;
    released = true;
    if (reported == 0) return;
    try {
      Napi::MemoryManagement::AdjustExternalMemory(env, -reported);
    } catch (...) {
    }
    reported = 0;
  }
};

// Searches with the outputs sized under the store's lock: nq x min(k, size()) (search.h), on the
// preferred backend (CUDA for f32 / bf16 / f16 indexes when a device is present; stats.backend says
// which ran).
TopkStats search(const VectorStore& s, const SearchRequest& r, SearchOutput& out) {
  TopkParams p;
  return s.search_sized(p, r.spec(), [&](int64_t rows, TopkParams* q) { *q = out.params(r, rows); });
}

class NativeIndex : public Napi::ObjectWrap<NativeIndex> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(
        env, "NativeIndex",
        {InstanceMethod<&NativeIndex::Add>("add"), InstanceMethod<&NativeIndex::AddAsync>("addAsync"),
         InstanceMethod<&NativeIndex::Remove>("remove"), InstanceMethod<&NativeIndex::Has>("has"),
         InstanceMethod<&NativeIndex::Size>("size"), InstanceMethod<&NativeIndex::Reserve>("reserve"),
         InstanceMethod<&NativeIndex::SearchSync>("searchSync"),
         InstanceMethod<&NativeIndex::SearchAsync>("searchAsync"),
         InstanceMethod<&NativeIndex::ExportInto>("exportInto"), InstanceMethod<&NativeIndex::Stats>("stats"),
         InstanceMethod<&NativeIndex::AddRecordsAsync>("addRecordsAsync"),
         InstanceMethod<&NativeIndex::ExportRecordsInto>("exportRecordsInto"),
         InstanceMethod<&NativeIndex::DimScales>("dimScales"),
         InstanceMethod<&NativeIndex::SetDimScales>("setDimScales"), InstanceMethod<&NativeIndex::Dispose>("dispose"),
         InstanceMethod<&NativeIndex::Disposed>("disposed")});
  }

  // new NativeIndex({ dim, metric, storage?, keepF32?, i8Scales?: 'vector' | 'dimension' })
  explicit NativeIndex(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeIndex>(info) {
    Napi::Env env = info.Env();
    Args a(info, "NativeIndex");
    const int64_t dim = a.integer("dim");
    const std::string metric = a.string("metric");
    const std::string storage = a.string_or("storage", "f32");
    const bool keep = a.boolean_or("keepF32", false);
    const std::string scales = a.string_or("i8Scales", "vector");
    if (scales != "vector" && scales != "dimension")
      throw_js(env, kInvalidArgument, "i8Scales must be 'vector' or 'dimension', got '" + scales + "'");
    store_ = guard(env, [&] {
      return std::make_shared<VectorStore>(dim, parse_metric(metric.c_str()), parse_storage(storage.c_str()), keep,
                                           scales == "dimension");
    });
  }

  ~NativeIndex() override { memory_->release(Env()); }

 private:
  VectorStore& store(Napi::Env env) {
    if (!store_) throw_js(env, "ERR_SIMSAGE_DISPOSED", "the index has been disposed");
    return *store_;
  }

  void account(Napi::Env env) {
    if (store_) memory_->set(env, held_bytes(*store_));
  }

  // The checked inputs of add/addAsync: ids copied, vectors pointing into the JS array.
  struct AddInput {
    std::vector<int64_t> ids;
    const float* vectors = nullptr;
    bool normalized = false;
  };

  AddInput read_add(const Args& a, const VectorStore& s) {
    AddInput in;
    in.ids = a.ids("ids");
    int64_t len = 0;
    in.vectors = a.f32_any("vectors", &len);
    if (len != static_cast<int64_t>(in.ids.size()) * s.dim())
      throw_js(a.env(), kDimMismatch,
               "vectors length " + std::to_string(len) + " != ids.length " + std::to_string(in.ids.size()) + " x dim " +
                   std::to_string(s.dim()));
    in.normalized = a.boolean_or("normalized", false);
    return in;
  }

  // add({ ids: Float64Array | BigInt64Array, vectors: Float32Array (n x dim), normalized?: boolean })
  Napi::Value Add(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Args a(info, "add");
    VectorStore& s = store(env);
    AddInput in = read_add(a, s);
    guard(env, [&] { s.add(in.ids.data(), in.vectors, static_cast<int64_t>(in.ids.size()), in.normalized); });
    account(env);
    return env.Undefined();
  }

  // addAsync(same) -> Promise<void>: the add on a libuv worker thread. The vectors are not copied
  // (kept alive by a reference); the caller must not modify them until the promise settles.
  Napi::Value AddAsync(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Args a(info, "addAsync");
    VectorStore& s = store(env);
    auto in = std::make_shared<AddInput>(read_add(a, s));
    auto bytes = std::make_shared<int64_t>(0);
    std::shared_ptr<VectorStore> keep = store_;
    std::shared_ptr<ExternalMemory> memory = memory_;
    return PromiseWorker::queue(
        env, "simsage:add",
        [in, keep, bytes] {
          keep->add(in->ids.data(), in->vectors, static_cast<int64_t>(in->ids.size()), in->normalized);
          *bytes = held_bytes(*keep);
        },
        [bytes, memory](Napi::Env env) -> Napi::Value {
          memory->set(env, *bytes);
          return env.Undefined();
        },
        {a.get("vectors"), info.This()});
  }

  // remove({ ids }) -> how many were removed
  Napi::Value Remove(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Args a(info, "remove");
    VectorStore& s = store(env);
    std::vector<int64_t> ids = a.ids("ids");
    const int64_t n = guard(env, [&] { return s.remove(ids.data(), static_cast<int64_t>(ids.size())); });
    account(env);
    return Napi::Number::New(env, static_cast<double>(n));
  }

  // has({ id }) -> false for anything that is not a stored id (including non-integers)
  Napi::Value Has(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Args a(info, "has");
    VectorStore& s = store(env);
    Napi::Value v = a.get("id");
    if (!v.IsNumber()) return Napi::Boolean::New(env, false);
    const double d = v.As<Napi::Number>().DoubleValue();
    if (!(d >= 0) || d > static_cast<double>(kMaxSafeInteger) || d != static_cast<double>(static_cast<int64_t>(d)))
      return Napi::Boolean::New(env, false);
    return Napi::Boolean::New(env, s.has(static_cast<int64_t>(d)));
  }

  Napi::Value Size(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(store(info.Env()).size()));
  }

  // reserve({ rows })
  Napi::Value Reserve(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Args a(info, "reserve");
    VectorStore& s = store(env);
    const int64_t rows = a.integer("rows", 0);
    guard(env, [&] { s.reserve(rows); });
    account(env);
    return env.Undefined();
  }

  Napi::Value SearchSync(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Args a(info, "searchSync");
    VectorStore& s = store(env);
    SearchRequest r = parse_search(a, false);
    r.metric = s.metric();
    SearchOutput out;
    guard(env, [&] { out.stats = search(s, r, out); });
    return out.to_js(env);
  }

  Napi::Value SearchAsync(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Args a(info, "searchAsync");
    store(env);
    auto r = std::make_shared<SearchRequest>(parse_search(a, true));
    r->metric = store_->metric();
    auto out = std::make_shared<SearchOutput>();
    std::shared_ptr<VectorStore> keep = store_;
    return PromiseWorker::queue(
        env, "simsage:search", [r, out, keep] { out->stats = search(*keep, *r, *out); },
        [out](Napi::Env env) { return out->to_js(env); });
  }

  // exportInto({ vectors: Float32Array (size x dim), ids: Float64Array (size) }) -> rows written
  Napi::Value ExportInto(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Args a(info, "exportInto");
    VectorStore& s = store(env);
    Napi::Float64Array ids = a.f64_array("ids");
    const int64_t rows = static_cast<int64_t>(ids.ElementLength());
    Napi::Float32Array v = a.f32_array("vectors");
    if (static_cast<int64_t>(v.ElementLength()) != rows * s.dim())
      throw_js(env, kDimMismatch, "export buffers do not match");
    std::vector<int64_t> tmp(static_cast<size_t>(rows));
    guard(env, [&] {
      if (s.size() != rows) throw Error(ErrorCode::InvalidArgument, "export buffers must hold exactly size() rows");
      s.export_rows(v.Data(), tmp.data(), rows);
    });
    double* out = ids.Data();
    for (int64_t i = 0; i < rows; ++i) out[i] = static_cast<double>(tmp[i]);
    return Napi::Number::New(env, static_cast<double>(rows));
  }

  // A Uint8Array argument of exactly `len` bytes.
  static uint8_t* u8(const Args& a, const char* key, int64_t len) {
    Napi::Value v = a.get(key);
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
      throw_js(a.env(), kInvalidArgument, std::string(key) + " must be a Uint8Array");
    Napi::Uint8Array arr = v.As<Napi::Uint8Array>();
    if (static_cast<int64_t>(arr.ElementLength()) != len)
      throw_js(
          a.env(), kDimMismatch,
          std::string(key) + " has " + std::to_string(arr.ElementLength()) + " bytes, expected " + std::to_string(len));
    return arr.Data();
  }

  // addRecordsAsync({ ids: Float64Array | BigInt64Array, records: Uint8Array (n x recordBytes) })
  // -> Promise<void>: VectorStore::add_records on a libuv worker thread (reduced precision only; a
  // loaded index file's rows). `records` is not copied: do not modify it until the promise settles.
  Napi::Value AddRecordsAsync(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Args a(info, "addRecordsAsync");
    VectorStore& s = store(env);
    auto ids = std::make_shared<std::vector<int64_t>>(a.ids("ids"));
    const uint8_t* rec = u8(a, "records", static_cast<int64_t>(ids->size()) * s.record_bytes());
    auto bytes = std::make_shared<int64_t>(0);
    std::shared_ptr<VectorStore> keep = store_;
    std::shared_ptr<ExternalMemory> memory = memory_;
    return PromiseWorker::queue(
        env, "simsage:addRecords",
        [ids, rec, keep, bytes] {
          keep->add_records(ids->data(), rec, static_cast<int64_t>(ids->size()));
          *bytes = held_bytes(*keep);
        },
        [bytes, memory](Napi::Env env) -> Napi::Value {
          memory->set(env, *bytes);
          return env.Undefined();
        },
        {a.get("records"), info.This()});
  }

  // exportRecordsInto({ records: Uint8Array (size x recordBytes), ids: Float64Array (size) }) -> rows
  Napi::Value ExportRecordsInto(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Args a(info, "exportRecordsInto");
    VectorStore& s = store(env);
    Napi::Float64Array ids = a.f64_array("ids");
    const int64_t rows = static_cast<int64_t>(ids.ElementLength());
    uint8_t* rec = u8(a, "records", rows * s.record_bytes());
    std::vector<int64_t> tmp(static_cast<size_t>(rows));
    guard(env, [&] {
      if (s.size() != rows) throw Error(ErrorCode::InvalidArgument, "export buffers must hold exactly size() rows");
      s.export_records(rec, tmp.data(), rows);
    });
    double* out = ids.Data();
    for (int64_t i = 0; i < rows; ++i) out[i] = static_cast<double>(tmp[i]);
    return Napi::Number::New(env, static_cast<double>(rows));
  }

  // dimScales() -> Float32Array (dim) of the per-dimension i8 scales, or null while none are learned
  Napi::Value DimScales(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const std::vector<float> sc = store(env).dim_scales();
    if (sc.empty()) return env.Null();
    Napi::Float32Array out = Napi::Float32Array::New(env, sc.size());
    std::copy(sc.begin(), sc.end(), out.Data());
    return out;
  }

  // setDimScales({ scales: Float32Array (dim) }): an empty dim-scaled index takes these scales
  Napi::Value SetDimScales(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Args a(info, "setDimScales");
    VectorStore& s = store(env);
    Napi::Float32Array sc = a.f32_array("scales");
    if (static_cast<int64_t>(sc.ElementLength()) != s.dim())
      throw_js(env, kDimMismatch,
               "scales has " + std::to_string(sc.ElementLength()) + " values, expected " + std::to_string(s.dim()));
    guard(env, [&] { s.set_dim_scales(sc.Data()); });
    return env.Undefined();
  }

  // stats() -> { storage, keepF32, rows, vectorBytes, heldBytes, quantizeSeconds, quantizedRows,
  //              i8Scales, saturatedValues }
  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    VectorStore& s = store(env);
    Napi::Object o = Napi::Object::New(env);
    o.Set("storage", Napi::String::New(env, storage_name(s.storage())));
    o.Set("keepF32", Napi::Boolean::New(env, s.keeps_f32()));
    o.Set("rows", Napi::Number::New(env, static_cast<double>(s.size())));
    o.Set("vectorBytes", Napi::Number::New(env, static_cast<double>(s.vector_bytes())));
    o.Set("recordBytes", Napi::Number::New(env, static_cast<double>(s.record_bytes())));
    o.Set("heldBytes", Napi::Number::New(env, static_cast<double>(held_bytes(s))));
    o.Set("quantizeSeconds", Napi::Number::New(env, s.quantize_seconds()));
    o.Set("quantizedRows", Napi::Number::New(env, static_cast<double>(s.quantized_rows())));
    o.Set("i8Scales", Napi::String::New(env, s.dim_scaled() ? "dimension" : "vector"));
    o.Set("saturatedValues", Napi::Number::New(env, static_cast<double>(s.saturated_values())));
    return o;
  }

  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    memory_->release(info.Env());
    store_.reset();
    return info.Env().Undefined();
  }

  Napi::Value Disposed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), !store_); }

  std::shared_ptr<VectorStore> store_;
  std::shared_ptr<ExternalMemory> memory_ = std::make_shared<ExternalMemory>();
};

}  // namespace

Napi::Function define_native_index(Napi::Env env) { return NativeIndex::Define(env); }

}  // namespace addon
}  // namespace simsage
