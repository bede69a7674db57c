// Bindings of the mining family (native/mining/): registered by RegisterMining. All calls are
// synchronous (a B = 4096 batch-hard pass is tens of milliseconds; training loops call them
// between native steps). Outputs whose size is known (distance matrix, gradient) go into
// caller-provided typed arrays; triplet lists come back as new Int32Arrays.
//
//   miningPairwise({ embeddings, dim, metric, out, threads? }) -> simd level name
//   miningMine({ embeddings, labels, dim, miner, metric?, margin?, type?, maxTriplets?, cutoff?,
//                nonzeroLossCutoff?, seed?, threads? }) -> { triplets: Int32Array, total }
//   miningTripletLoss({ embeddings, dim, triplets, margin?, distance?, softMargin?, grad?, threads? })
//       -> { loss, active }
#include <cstring>
#include <string>
#include <vector>

#include "addon/addon.h"
#include "mining/mining.h"

namespace simsage {
namespace addon {

namespace {

Napi::Object args_of(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsObject())
    throw_js(info.Env(), "ERR_SIMSAGE_INVALID_ARGUMENT", "expected an arguments object");
  return info[0].As<Napi::Object>();
}

Napi::Int32Array get_i32(const Napi::Value& v, const char* what) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    throw_js(v.Env(), "ERR_SIMSAGE_INVALID_ARGUMENT", std::string(what) + " must be an Int32Array");
  return v.As<Napi::Int32Array>();
}

double get_num(const Napi::Object& o, const char* key, double fallback) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return fallback;
  if (!v.IsNumber()) throw_js(o.Env(), "ERR_SIMSAGE_INVALID_ARGUMENT", std::string(key) + " must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

std::string get_str(const Napi::Object& o, const char* key, const char* fallback) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return fallback;
  if (!v.IsString()) throw_js(o.Env(), "ERR_SIMSAGE_INVALID_ARGUMENT", std::string(key) + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

// embeddings (Float32Array, b x dim) -> b.
int64_t rows_of(const Napi::Object& o, const Napi::Float32Array& e, int64_t dim) {
  if (dim <= 0) throw_js(o.Env(), "ERR_SIMSAGE_DIM_MISMATCH", "dim must be a positive integer");
  if (e.ElementLength() % dim != 0)
    throw_js(o.Env(), "ERR_SIMSAGE_DIM_MISMATCH",
             "embeddings length " + std::to_string(e.ElementLength()) + " is not a multiple of dim " + std::to_string(dim));
  return static_cast<int64_t>(e.ElementLength()) / dim;
}

Napi::Value Pairwise(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = args_of(info);
  Napi::Float32Array e = get_f32(o.Get("embeddings"), "embeddings");
  const int64_t dim = get_int(o, "dim", 0, true);
  const int64_t b = rows_of(o, e, dim);
  Napi::Float32Array out = get_f32(o.Get("out"), "out");
  if (static_cast<int64_t>(out.ElementLength()) != b * b)
    throw_js(env, "ERR_SIMSAGE_DIM_MISMATCH", "out must hold B * B = " + std::to_string(b * b) + " floats");
  PairwiseParams p;
  p.embeddings = e.Data(), p.b = b, p.dim = dim, p.out = out.Data();
  p.threads = static_cast<int>(get_int(o, "threads", 0, false));
  const std::string metric = get_str(o, "metric", "sqeuclidean");
  guard(env, [&] {
    p.metric = parse_distance_metric(metric.c_str());
    pairwise_distances(p);
    return 0;
  });
  return Napi::String::New(env, simd_level_name(active_simd_level()));
}

Napi::Value Mine(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = args_of(info);
  Napi::Float32Array e = get_f32(o.Get("embeddings"), "embeddings");
  const int64_t dim = get_int(o, "dim", 0, true);
  const int64_t b = rows_of(o, e, dim);
  Napi::Int32Array labels = get_i32(o.Get("labels"), "labels");
  if (static_cast<int64_t>(labels.ElementLength()) != b)
    throw_js(env, "ERR_SIMSAGE_DIM_MISMATCH", "labels length " + std::to_string(labels.ElementLength()) +
                                                  " does not match the batch size " + std::to_string(b));
  MineParams p;
  p.embeddings = e.Data(), p.labels = labels.Data(), p.b = b, p.dim = dim;
  p.margin = static_cast<float>(get_num(o, "margin", 0.0));
  p.threads = static_cast<int>(get_int(o, "threads", 0, false));
  const std::string miner = get_str(o, "miner", "");
  const std::string metric = get_str(o, "metric", "sqeuclidean");
  const std::string type = get_str(o, "type", "all");
  const int64_t max_triplets = get_int(o, "maxTriplets", -1, false);
  DistanceWeightedParams dw;
  dw.cutoff = static_cast<float>(get_num(o, "cutoff", dw.cutoff));
  dw.nonzero_loss_cutoff = static_cast<float>(get_num(o, "nonzeroLossCutoff", dw.nonzero_loss_cutoff));
  dw.seed = static_cast<uint64_t>(get_int(o, "seed", 0, false));
  std::vector<int32_t> trip;
  int64_t total = guard(env, [&]() -> int64_t {
    p.metric = parse_distance_metric(metric.c_str());
    check_margin(p.margin);
    if (miner == "filter") return mine_filtered(p, parse_triplet_filter(type.c_str()), max_triplets, &trip);
    if (miner == "batchHard") mine_batch_hard(p, &trip);
    else if (miner == "semiHard") mine_semi_hard(p, &trip);
    else if (miner == "distanceWeighted") mine_distance_weighted(p, dw, &trip);
    else throw_error(ErrorCode::InvalidArgument, "unknown miner '" + miner + "'");
    return static_cast<int64_t>(trip.size() / 3);
  });
  Napi::Int32Array t = Napi::Int32Array::New(env, trip.size());
  if (!trip.empty()) std::memcpy(t.Data(), trip.data(), trip.size() * sizeof(int32_t));
  Napi::Object r = Napi::Object::New(env);
  r.Set("triplets", t);
  r.Set("total", Napi::Number::New(env, static_cast<double>(total)));
  return r;
}

Napi::Value TripletLoss(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = args_of(info);
  Napi::Float32Array e = get_f32(o.Get("embeddings"), "embeddings");
  const int64_t dim = get_int(o, "dim", 0, true);
  const int64_t b = rows_of(o, e, dim);
  Napi::Int32Array t = get_i32(o.Get("triplets"), "triplets");
  if (t.ElementLength() % 3 != 0)
    throw_js(env, "ERR_SIMSAGE_DIM_MISMATCH", "triplets length must be a multiple of 3");
  TripletLossParams p;
  p.embeddings = e.Data(), p.b = b, p.dim = dim;
  p.triplets = t.Data(), p.n_triplets = static_cast<int64_t>(t.ElementLength() / 3);
  p.margin = static_cast<float>(get_num(o, "margin", 0.0));
  p.soft_margin = o.Get("softMargin").ToBoolean().Value();
  p.threads = static_cast<int>(get_int(o, "threads", 0, false));
  const std::string distance = get_str(o, "distance", "squared");
  if (distance == "euclidean") p.distance = TripletDistance::Euclidean;
  else if (distance != "squared")
    throw_js(env, "ERR_SIMSAGE_INVALID_ARGUMENT", "distance must be 'squared' or 'euclidean'");
  Napi::Value g = o.Get("grad");
  if (!g.IsUndefined() && !g.IsNull()) {
    Napi::Float32Array grad = get_f32(g, "grad");
    if (static_cast<int64_t>(grad.ElementLength()) != b * dim)
      throw_js(env, "ERR_SIMSAGE_DIM_MISMATCH", "grad must hold B * dim floats");
    p.grad = grad.Data();
  }
  TripletLossResult r = guard(env, [&] { return triplet_loss(p); });
  Napi::Object out = Napi::Object::New(env);
  out.Set("loss", Napi::Number::New(env, r.loss));
  out.Set("active", Napi::Number::New(env, static_cast<double>(r.active)));
  return out;
}

}  // namespace

void RegisterMining(Napi::Env env, Napi::Object exports) {
  exports.Set("miningPairwise", Napi::Function::New(env, Pairwise, "miningPairwise"));
  exports.Set("miningMine", Napi::Function::New(env, Mine, "miningMine"));
  exports.Set("miningTripletLoss", Napi::Function::New(env, TripletLoss, "miningTripletLoss"));
}

}  // namespace addon
}  // namespace simsage
