// Readers over the one arguments object every binding takes: `fn({ key: value, ... })`.
// Each reader names the key in its error (ERR_SIMSAGE_INVALID_ARGUMENT for a missing key or a
// wrong type, ERR_SIMSAGE_DIM_MISMATCH for a typed array of the wrong length, a caller-chosen code
// for an integer out of range). Absent means undefined or null.
//
// Typed-array pointers point into JS memory: valid while the array is alive and not detached, i.e.
// during the call, or off the main thread while a PromiseWorker holds a reference to the array.
// An empty typed array yields a non-null pointer (to a shared zero-length sentinel), never written.
#pragma once
#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "addon/errors.h"

namespace simsage {
namespace addon {

inline constexpr int64_t kMaxSafeInteger = 9007199254740991;  // 2^53 - 1

class Args {
 public:
  // info[0] as the arguments object; `fn` names the binding in the error when it is not an object.
  Args(const Napi::CallbackInfo& info, const char* fn);
  explicit Args(Napi::Object o) : o_(o) {}

  Napi::Env env() const { return o_.Env(); }
  Napi::Object object() const { return o_; }
  bool has(const char* key) const;
  Napi::Value get(const char* key) const { return o_.Get(key); }

  // Float32Array
  Napi::Float32Array f32_array(const char* key) const;  // required, any length
  float* f32(const char* key, int64_t len) const;       // required, exactly len elements
  float* f32_opt(const char* key, int64_t len) const;   // nullptr when absent
  float* f32_any(const char* key, int64_t* len) const;  // required, any length (written to *len)
  // Float64Array
  Napi::Float64Array f64_array(const char* key) const;
  double* f64(const char* key, int64_t len) const;
  double* f64_opt(const char* key, int64_t len) const;
  // Int32Array
  Napi::Int32Array i32_array(const char* key) const;
  int32_t* i32(const char* key, int64_t len) const;
  int32_t* i32_opt(const char* key, int64_t len) const;
  int32_t* i32_any(const char* key, int64_t* len) const;

  // Ids: a Float64Array (or BigInt64Array) of non-negative safe integers, copied out
  // (ERR_SIMSAGE_INVALID_ID naming the first bad element). ids_opt returns false (and leaves *out
  // alone) when the key is absent.
  std::vector<int64_t> ids(const char* key) const;
  bool ids_opt(const char* key, std::vector<int64_t>* out) const;

  // Integers: finite, integral numbers within [min, max]; out of range throws `range_code`.
  int64_t integer(const char* key, int64_t min = -kMaxSafeInteger, int64_t max = kMaxSafeInteger,
                  const char* range_code = kInvalidArgument) const;
  int64_t integer_or(const char* key, int64_t fallback, int64_t min = -kMaxSafeInteger, int64_t max = kMaxSafeInteger,
                     const char* range_code = kInvalidArgument) const;
  // Numbers (NaN and infinities pass; the kernels check hyperparameters themselves).
  double number(const char* key) const;
  double number_or(const char* key, double fallback) const;
  bool boolean_or(const char* key, bool fallback) const;
  std::string string(const char* key) const;
  std::string string_or(const char* key, const char* fallback) const;

  // The optional `threads` key: 0 (absent) means the global default.
  int threads() const { return static_cast<int>(integer_or("threads", 0, -(1 << 30), 1 << 30)); }

 private:
  Napi::Value required(const char* key) const;
  Napi::TypedArray typed(const char* key, napi_typedarray_type type, const char* type_name) const;
  void check_length(const char* key, size_t actual, int64_t len) const;

  Napi::Object o_;
};

// The shared non-null pointer given for empty typed arrays.
void* empty_data();

}  // namespace addon
}  // namespace simsage
