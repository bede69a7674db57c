#include "addon/convert.h"

#include <cmath>
#include <cstring>

#include "core/finite.h"

namespace simsage {
namespace addon {

Napi::Error make_error(Napi::Env env, const char* code, const std::string& message) {
  Napi::Error err = Napi::Error::New(env, message);
  err.Set("code", Napi::String::New(env, code));
  return err;
}

void throw_js(Napi::Env env, const char* code, const std::string& message) { throw make_error(env, code, message); }

Napi::Float32Array get_f32(const Napi::Value& v, const char* what) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throw_js(v.Env(), "ERR_SIMSAGE_INVALID_ARGUMENT", std::string(what) + " must be a Float32Array");
  return v.As<Napi::Float32Array>();
}

Napi::Float64Array get_f64(const Napi::Value& v, const char* what) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
    throw_js(v.Env(), "ERR_SIMSAGE_INVALID_ARGUMENT", std::string(what) + " must be a Float64Array");
  return v.As<Napi::Float64Array>();
}

int64_t get_int(const Napi::Object& o, const char* key, int64_t fallback, bool required) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) {
    if (required) throw_js(o.Env(), "ERR_SIMSAGE_INVALID_ARGUMENT", std::string(key) + " is required");
    return fallback;
  }
  if (!v.IsNumber()) throw_js(o.Env(), "ERR_SIMSAGE_INVALID_ARGUMENT", std::string(key) + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || d != std::floor(d) || std::fabs(d) > 9007199254740991.0)
    throw_js(o.Env(), "ERR_SIMSAGE_INVALID_ARGUMENT", std::string(key) + " must be an integer");
  return static_cast<int64_t>(d);
}

std::vector<int64_t> ids_from_f64(const Napi::Float64Array& a, const char* what) {
  std::vector<int64_t> out(a.ElementLength());
  const double* p = a.Data();
  for (size_t i = 0; i < out.size(); ++i) {
    double d = p[i];
    if (!(d >= 0) || d > 9007199254740991.0 || d != std::floor(d))
      throw_js(a.Env(), "ERR_SIMSAGE_INVALID_ID",
               std::string(what) + "[" + std::to_string(i) + "] is not a non-negative safe integer");
    out[i] = static_cast<int64_t>(d);
  }
  return out;
}

FilterSpec SearchRequest::spec() const {
  FilterSpec s;
  s.has_allow = has_allow;
  s.allow = allow.data();
  s.n_allow = static_cast<int64_t>(allow.size());
  s.deny = deny.data();
  s.n_deny = static_cast<int64_t>(deny.size());
  if (!exclude_offsets.empty()) {
    s.exclude_offsets = exclude_offsets.data();
    s.exclude_ids = exclude_ids.data();
  }
  return s;
}

SearchRequest parse_search(const Napi::Object& o, bool copy_queries) {
  Napi::Env env = o.Env();
  SearchRequest r;
  r.dim = get_int(o, "dim", 0, true);
  r.k = get_int(o, "k", 0, true);
  r.threads = static_cast<int>(get_int(o, "threads", 0, false));
  if (r.dim <= 0) throw_js(env, "ERR_SIMSAGE_DIM_MISMATCH", "dim must be a positive integer");
  if (r.k <= 0) throw_js(env, "ERR_SIMSAGE_INVALID_K", "k must be a positive integer");
  Napi::Value m = o.Get("metric");
  if (m.IsString()) r.metric = guard(env, [&] { return parse_metric(m.As<Napi::String>().Utf8Value().c_str()); });
  Napi::Float32Array q = get_f32(o.Get("queries"), "queries");
  if (q.ElementLength() % r.dim != 0)
    throw_js(env, "ERR_SIMSAGE_DIM_MISMATCH",
             "queries length " + std::to_string(q.ElementLength()) + " is not a multiple of dim " + std::to_string(r.dim));
  r.nq = static_cast<int64_t>(q.ElementLength()) / r.dim;
  if (copy_queries) r.queries.assign(q.Data(), q.Data() + q.ElementLength());
  int64_t bad = find_non_finite(q.Data(), static_cast<int64_t>(q.ElementLength()));
  if (bad >= 0)
    throw_js(env, "ERR_SIMSAGE_NON_FINITE", "queries contain a non-finite value at row " + std::to_string(bad / r.dim));
  Napi::Value allow = o.Get("allow");
  if (!allow.IsUndefined() && !allow.IsNull()) {
    r.has_allow = true;
    r.allow = ids_from_f64(get_f64(allow, "allow"), "allow");
  }
  Napi::Value deny = o.Get("deny");
  if (!deny.IsUndefined() && !deny.IsNull()) r.deny = ids_from_f64(get_f64(deny, "deny"), "deny");
  Napi::Value exo = o.Get("excludeOffsets");
  if (!exo.IsUndefined() && !exo.IsNull()) {
    std::vector<int64_t> off = ids_from_f64(get_f64(exo, "excludeOffsets"), "excludeOffsets");
    std::vector<int64_t> ids = ids_from_f64(get_f64(o.Get("excludeIds"), "excludeIds"), "excludeIds");
    if (static_cast<int64_t>(off.size()) != r.nq + 1 || off[0] != 0 || off.back() != static_cast<int64_t>(ids.size()))
      throw_js(env, "ERR_SIMSAGE_INVALID_ARGUMENT", "exclude offsets do not match the queries and ids");
    for (size_t i = 1; i < off.size(); ++i)
      if (off[i] < off[i - 1]) throw_js(env, "ERR_SIMSAGE_INVALID_ARGUMENT", "exclude offsets must be non-decreasing");
    r.exclude_offsets = std::move(off);
    r.exclude_ids = std::move(ids);
    if (r.exclude_ids.empty()) r.exclude_ids.push_back(0);  // data() non-null; offsets say empty
  }
  return r;
}

void SearchOutput::resize(int64_t nq, int64_t k) {
  ids.assign(static_cast<size_t>(nq * k), -1);
  scores.assign(static_cast<size_t>(nq * k), 0.f);
  counts.assign(static_cast<size_t>(nq), 0);
}

TopkParams SearchOutput::params(const SearchRequest& r, const float* queries) {
  resize(r.nq, r.k);
  TopkParams p;
  p.queries = queries;
  p.nq = r.nq;
  p.dim = r.dim;
  p.k = r.k;
  p.metric = r.metric;
  p.threads = r.threads;
  p.out_ids = ids.data();
  p.out_scores = scores.data();
  p.out_counts = counts.data();
  return p;
}

Napi::Object SearchOutput::to_js(Napi::Env env, int64_t k) const {
  Napi::Object o = Napi::Object::New(env);
  Napi::Float64Array jid = Napi::Float64Array::New(env, ids.size());
  double* jd = jid.Data();
  for (size_t i = 0; i < ids.size(); ++i) jd[i] = static_cast<double>(ids[i]);
  Napi::Float32Array js = Napi::Float32Array::New(env, scores.size());
  if (!scores.empty()) std::memcpy(js.Data(), scores.data(), scores.size() * sizeof(float));
  Napi::Int32Array jc = Napi::Int32Array::New(env, counts.size());
  if (!counts.empty()) std::memcpy(jc.Data(), counts.data(), counts.size() * sizeof(int32_t));
  o.Set("ids", jid);
  o.Set("scores", js);
  o.Set("counts", jc);
  o.Set("k", Napi::Number::New(env, static_cast<double>(k)));
  o.Set("simd", Napi::String::New(env, simd_level_name(stats.simd)));
  o.Set("threads", Napi::Number::New(env, stats.threads_used));
  o.Set("backend", Napi::String::New(env, stats.backend));
  return o;
}

}  // namespace addon
}  // namespace simsage
