// Conversions between JS values and the native params structs, and C++ -> JS error mapping.
// The only code (with the other files in this folder) that sees Napi:: types.
#pragma once
#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"
#include "similarity/similarity.h"

namespace simsage {
namespace addon {

// A JS Error with a stable `code` property.
Napi::Error make_error(Napi::Env env, const char* code, const std::string& message);
[[noreturn]] void throw_js(Napi::Env env, const char* code, const std::string& message);

// Runs fn, turning simsage::Error / std::exception into JS errors with codes.
template <class F>
auto guard(Napi::Env env, F&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const Napi::Error&) {
    throw;
  } catch (const Error& e) {
    throw_js(env, e.code_name(), e.what());
  } catch (const std::bad_alloc&) {
    throw_js(env, "ERR_SIMSAGE_OUT_OF_MEMORY", "out of memory");
  } catch (const std::exception& e) {
    throw_js(env, "ERR_SIMSAGE_INTERNAL", e.what());
  }
}

// Typed array accessors; throw ERR_SIMSAGE_INVALID_ARGUMENT naming `what` on a wrong type.
Napi::Float32Array get_f32(const Napi::Value& v, const char* what);
Napi::Float64Array get_f64(const Napi::Value& v, const char* what);
int64_t get_int(const Napi::Object& o, const char* key, int64_t fallback, bool required);

// A search request copied out of JS (safe to use off the main thread).
struct SearchRequest {
  std::vector<float> queries;  // nq x dim
  int64_t nq = 0, dim = 0, k = 0;
  Metric metric = Metric::InnerProduct;
  int threads = 0;
  std::vector<int64_t> allow, deny, exclude_offsets, exclude_ids;
  bool has_allow = false;
  FilterSpec spec() const;
};

// Reads {queries, nq, dim, k, metric, threads, allow?, deny?, excludeOffsets?, excludeIds?}.
// ids arrive as Float64Array holding non-negative safe integers (checked in TS, again here).
SearchRequest parse_search(const Napi::Object& o, bool copy_queries);

// Output buffers for one search.
struct SearchOutput {
  std::vector<int64_t> ids;
  std::vector<float> scores;
  std::vector<int32_t> counts;
  TopkStats stats;
  void resize(int64_t nq, int64_t k);
  TopkParams params(const SearchRequest& r, const float* queries);
  Napi::Object to_js(Napi::Env env, int64_t k) const;  // {ids, scores, counts, k, simd, threads, backend}
};

std::vector<int64_t> ids_from_f64(const Napi::Float64Array& a, const char* what);

}  // namespace addon
}  // namespace simsage
