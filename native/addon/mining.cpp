// Bindings of the mining family (native/mining/): registered by register_mining. All calls are
// synchronous (a B = 4096 batch-hard pass is tens of milliseconds; training loops call them
// between native steps). Outputs whose size is known (distance matrix, gradient) go into
// caller-provided typed arrays, and so does a miner's B x B distance matrix (`distanceBuffer`, which
// a miner object keeps between calls). Triplet lists come back as new Int32Arrays of exactly T x 3
// (the caller keeps them); the native list they are copied from keeps its capacity per thread.
//
//   miningPairwise({ embeddings, dim, metric, out, threads? }) -> { simd, backend: 'cpu' | 'cuda' }
//   miningMine({ embeddings, labels, dim, miner, metric?, margin?, type?, maxTriplets?, cutoff?,
//                nonzeroLossCutoff?, seed?, threads?, distanceBuffer? })
//       -> { triplets: Int32Array, total, backend: 'cpu' | 'cuda' }
//   miningTripletLoss({ embeddings, dim, triplets, margin?, distance?, softMargin?, grad?, threads? })
//       -> { loss, active, backend: 'cpu' | 'cuda' }
// `backend` is where the call ran (mining.h: CUDA when preferred and built; distance-weighted: CPU).
#include "mining/mining.h"

#include <cstring>
#include <string>
#include <vector>

#include "addon/addon.h"
#include "addon/args.h"

namespace simsage {
namespace addon {

namespace {

// embeddings (Float32Array, b x dim): reads dim and the array, returns b.
struct Batch {
  const float* embeddings;
  int64_t dim, b;
};

Batch batch_of(const Args& a) {
  Batch x;
  int64_t len = 0;
  x.embeddings = a.f32_any("embeddings", &len);
  x.dim = a.integer("dim");
  if (x.dim <= 0) throw_js(a.env(), kDimMismatch, "dim must be a positive integer");
  if (len % x.dim != 0)
    throw_js(a.env(), kDimMismatch,
             "embeddings length " + std::to_string(len) + " is not a multiple of dim " + std::to_string(x.dim));
  x.b = len / x.dim;
  return x;
}

Napi::Value Pairwise(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args a(info, "miningPairwise");
  const Batch x = batch_of(a);
  PairwiseParams p;
  p.embeddings = x.embeddings, p.b = x.b, p.dim = x.dim;
  p.out = a.f32("out", x.b * x.b);  // B x B
  p.threads = a.threads();
  const std::string metric = a.string_or("metric", "sqeuclidean");
  const Backend ran = guard(env, [&] {
    p.metric = parse_distance_metric(metric.c_str());
    return pairwise_distances(p);
  });
  Napi::Object r = Napi::Object::New(env);
  r.Set("simd", Napi::String::New(env, simd_level_name(active_simd_level())));
  r.Set("backend", Napi::String::New(env, backend_name(ran)));
  return r;
}

Napi::Value Mine(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args a(info, "miningMine");
  const Batch x = batch_of(a);
  MineParams p;
  p.embeddings = x.embeddings, p.b = x.b, p.dim = x.dim;
  p.labels = a.i32("labels", x.b);
  p.distance_buffer = a.f32_opt("distanceBuffer", x.b * x.b);  // B x B, overwritten
  p.margin = static_cast<float>(a.number_or("margin", 0.0));
  p.threads = a.threads();
  const std::string miner = a.string_or("miner", "");
  const std::string metric = a.string_or("metric", "sqeuclidean");
  const std::string type = a.string_or("type", "all");
  const int64_t max_triplets = a.integer_or("maxTriplets", -1);
  DistanceWeightedParams dw;
  dw.cutoff = static_cast<float>(a.number_or("cutoff", dw.cutoff));
  dw.nonzero_loss_cutoff = static_cast<float>(a.number_or("nonzeroLossCutoff", dw.nonzero_loss_cutoff));
  dw.seed = static_cast<uint64_t>(a.integer_or("seed", 0));
  thread_local std::vector<int32_t> trip;  // keeps its capacity: no allocation per call
  trip.clear();
  Backend ran = Backend::Cpu;
  const int64_t total = guard(env, [&]() -> int64_t {
    p.metric = parse_distance_metric(metric.c_str());
    check_margin(p.margin);
    if (miner == "filter") return mine_filtered(p, parse_triplet_filter(type.c_str()), max_triplets, &trip, &ran);
    if (miner == "batchHard")
      ran = mine_batch_hard(p, &trip);
    else if (miner == "semiHard")
      ran = mine_semi_hard(p, &trip);
    else if (miner == "distanceWeighted")
      mine_distance_weighted(p, dw, &trip);
    else
      throw_error(ErrorCode::InvalidArgument, "unknown miner '" + miner + "'");
    return static_cast<int64_t>(trip.size() / 3);
  });
  Napi::Int32Array t = Napi::Int32Array::New(env, trip.size());
  if (!trip.empty()) std::memcpy(t.Data(), trip.data(), trip.size() * sizeof(int32_t));
  Napi::Object r = Napi::Object::New(env);
  r.Set("triplets", t);
  r.Set("total", Napi::Number::New(env, static_cast<double>(total)));
  r.Set("backend", Napi::String::New(env, backend_name(ran)));
  return r;
}

Napi::Value TripletLoss(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args a(info, "miningTripletLoss");
  const Batch x = batch_of(a);
  int64_t n = 0;
  const int32_t* triplets = a.i32_any("triplets", &n);
  if (n % 3 != 0) throw_js(env, kDimMismatch, "triplets length must be a multiple of 3");
  TripletLossParams p;
  p.embeddings = x.embeddings, p.b = x.b, p.dim = x.dim;
  p.triplets = triplets, p.n_triplets = n / 3;
  p.margin = static_cast<float>(a.number_or("margin", 0.0));
  p.soft_margin = a.boolean_or("softMargin", false);
  p.threads = a.threads();
  const std::string distance = a.string_or("distance", "squared");
  if (distance == "euclidean")
    p.distance = TripletDistance::Euclidean;
  else if (distance != "squared")
    throw_js(env, kInvalidArgument, "distance must be 'squared' or 'euclidean'");
  p.grad = a.f32_opt("grad", x.b * x.dim);  // B x dim, overwritten when given
  const TripletLossResult r = guard(env, [&] { return triplet_loss(p); });
  Napi::Object out = Napi::Object::New(env);
  out.Set("loss", Napi::Number::New(env, r.loss));
  out.Set("active", Napi::Number::New(env, static_cast<double>(r.active)));
  out.Set("backend", Napi::String::New(env, backend_name(r.backend)));
  return out;
}

}  // namespace

void register_mining(Napi::Env env, Napi::Object exports) {
  exports.Set("miningPairwise", Napi::Function::New(env, Pairwise, "miningPairwise"));
  exports.Set("miningMine", Napi::Function::New(env, Mine, "miningMine"));
  exports.Set("miningTripletLoss", Napi::Function::New(env, TripletLoss, "miningTripletLoss"));
}

}  // namespace addon
}  // namespace simsage
