#include "addon/search.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "core/finite.h"

namespace simsage {
namespace addon {

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

SearchRequest parse_search(const Args& a, bool copy_queries) {
  Napi::Env env = a.env();
  SearchRequest r;
  r.dim = a.integer("dim");
  r.k = a.integer("k");
  r.threads = a.threads();
  if (a.has("rerank")) {
    r.rerank = a.integer("rerank");
    if (r.rerank < 0) throw_js(env, kInvalidArgument, "rerank must be a non-negative integer");
  }
  if (r.dim <= 0) throw_js(env, kDimMismatch, "dim must be a positive integer");
  if (r.k <= 0) throw_js(env, "ERR_SIMSAGE_INVALID_K", "k must be a positive integer");
  if (a.has("metric")) {
    const std::string m = a.string("metric");
    r.metric = guard(env, [&] { return parse_metric(m.c_str()); });
  }
  int64_t len = 0;
  const float* q = a.f32_any("queries", &len);
  if (len % r.dim != 0)
    throw_js(env, kDimMismatch,
             "queries length " + std::to_string(len) + " is not a multiple of dim " + std::to_string(r.dim));
  r.nq = len / r.dim;
  r.query_data = q;
  if (copy_queries) r.queries.assign(q, q + len);
  const int64_t bad = find_non_finite(q, len);
  if (bad >= 0)
    throw_js(env, "ERR_SIMSAGE_NON_FINITE", "queries contain a non-finite value at row " + std::to_string(bad / r.dim));
  r.has_allow = a.ids_opt("allow", &r.allow);
  a.ids_opt("deny", &r.deny);
  std::vector<int64_t> off;
  if (a.ids_opt("excludeOffsets", &off)) {
    std::vector<int64_t> ids = a.ids("excludeIds");
    if (static_cast<int64_t>(off.size()) != r.nq + 1 || off[0] != 0 || off.back() != static_cast<int64_t>(ids.size()))
      throw_js(env, kInvalidArgument, "exclude offsets do not match the queries and ids");
    for (size_t i = 1; i < off.size(); ++i)
      if (off[i] < off[i - 1]) throw_js(env, kInvalidArgument, "exclude offsets must be non-decreasing");
    r.exclude_offsets = std::move(off);
    r.exclude_ids = std::move(ids);
    if (r.exclude_ids.empty()) r.exclude_ids.push_back(0);  // data() non-null; offsets say empty
  }
  return r;
}

TopkParams SearchOutput::params(const SearchRequest& r, int64_t rows) {
  k_out = std::min(r.k, std::max<int64_t>(rows, 0));
  const int64_t width = std::max<int64_t>(k_out, 1);  // the search writes (padding) rows of >= 1 slot
  ids.assign(static_cast<size_t>(r.nq * width), -1);
  scores.assign(static_cast<size_t>(r.nq * width), 0.f);
  counts.assign(static_cast<size_t>(r.nq), 0);
  TopkParams p;
  p.queries = r.query_ptr();
  p.nq = r.nq;
  p.dim = r.dim;
  p.k = width;
  p.metric = r.metric;
  p.threads = r.threads;
  p.rerank = r.rerank;
  p.out_ids = ids.data();
  p.out_scores = scores.data();
  p.out_counts = counts.data();
  return p;
}

Napi::Object SearchOutput::to_js(Napi::Env env) const {
  Napi::Object o = Napi::Object::New(env);
  const size_t n = static_cast<size_t>(counts.size() * k_out);  // the buffers' first n slots
  Napi::Float64Array jid = Napi::Float64Array::New(env, n);
  double* jd = jid.Data();
  for (size_t i = 0; i < n; ++i) jd[i] = static_cast<double>(ids[i]);
  Napi::Float32Array js = Napi::Float32Array::New(env, n);
  if (n) std::memcpy(js.Data(), scores.data(), n * sizeof(float));
  Napi::Int32Array jc = Napi::Int32Array::New(env, counts.size());
  if (!counts.empty()) std::memcpy(jc.Data(), counts.data(), counts.size() * sizeof(int32_t));
  o.Set("ids", jid);
  o.Set("scores", js);
  o.Set("counts", jc);
  o.Set("k", Napi::Number::New(env, static_cast<double>(k_out)));
  o.Set("simd", Napi::String::New(env, simd_level_name(stats.simd)));
  o.Set("threads", Napi::Number::New(env, stats.threads_used));
  o.Set("backend", Napi::String::New(env, stats.backend));
  o.Set("kernel", Napi::String::New(env, stats.kernel));
  o.Set("reranked", Napi::Boolean::New(env, stats.reranked));
  return o;
}

}  // namespace addon
}  // namespace simsage
