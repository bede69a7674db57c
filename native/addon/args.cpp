#include "addon/args.h"

#include <cmath>

namespace simsage {
namespace addon {

namespace {
std::string str(const char* s) { return std::string(s); }
}  // namespace

void* empty_data() {
  alignas(64) static double sentinel[8] = {};
  return sentinel;
}

Args::Args(const Napi::CallbackInfo& info, const char* fn) {
  if (info.Length() < 1 || !info[0].IsObject() || info[0].IsArray() || info[0].IsTypedArray())
    throw_js(info.Env(), kInvalidArgument, str(fn) + ": expected an arguments object");
  o_ = info[0].As<Napi::Object>();
}

bool Args::has(const char* key) const {
  Napi::Value v = o_.Get(key);
  return !v.IsUndefined() && !v.IsNull();
}

Napi::Value Args::required(const char* key) const {
  Napi::Value v = o_.Get(key);
  if (v.IsUndefined() || v.IsNull()) throw_js(env(), kInvalidArgument, str(key) + " is required");
  return v;
}

Napi::TypedArray Args::typed(const char* key, napi_typedarray_type type, const char* type_name) const {
  Napi::Value v = required(key);
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != type)
    throw_js(env(), kInvalidArgument, str(key) + " must be a" + (type_name[0] == 'I' ? "n " : " ") + type_name);
  return v.As<Napi::TypedArray>();
}

void Args::check_length(const char* key, size_t actual, int64_t len) const {
  if (static_cast<int64_t>(actual) != len)
    throw_js(env(), kDimMismatch,
             str(key) + " has length " + std::to_string(actual) + ", expected " + std::to_string(len));
}

#define SIMSAGE_TYPED_READERS(T, NapiT, napi_type, name, prefix)                                        \
  NapiT Args::prefix##_array(const char* key) const { return typed(key, napi_type, name).As<NapiT>(); } \
  T* Args::prefix(const char* key, int64_t len) const {                                                 \
    NapiT a = prefix##_array(key);                                                                      \
    check_length(key, a.ElementLength(), len);                                                          \
    return len == 0 ? static_cast<T*>(empty_data()) : a.Data();                                         \
  }                                                                                                     \
  T* Args::prefix##_opt(const char* key, int64_t len) const { return has(key) ? prefix(key, len) : nullptr; }

SIMSAGE_TYPED_READERS(float, Napi::Float32Array, napi_float32_array, "Float32Array", f32)
SIMSAGE_TYPED_READERS(double, Napi::Float64Array, napi_float64_array, "Float64Array", f64)
SIMSAGE_TYPED_READERS(int32_t, Napi::Int32Array, napi_int32_array, "Int32Array", i32)
#undef SIMSAGE_TYPED_READERS

float* Args::f32_any(const char* key, int64_t* len) const {
  Napi::Float32Array a = f32_array(key);
  *len = static_cast<int64_t>(a.ElementLength());
  return *len == 0 ? static_cast<float*>(empty_data()) : a.Data();
}

int32_t* Args::i32_any(const char* key, int64_t* len) const {
  Napi::Int32Array a = i32_array(key);
  *len = static_cast<int64_t>(a.ElementLength());
  return *len == 0 ? static_cast<int32_t*>(empty_data()) : a.Data();
}

std::vector<int64_t> Args::ids(const char* key) const {
  Napi::Value v = required(key);
  if (v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_bigint64_array) {
    Napi::TypedArrayOf<int64_t> b = v.As<Napi::TypedArrayOf<int64_t>>();
    const int64_t* p = b.Data();
    std::vector<int64_t> out(p, p + b.ElementLength());
    for (size_t i = 0; i < out.size(); ++i)
      if (out[i] < 0 || out[i] > kMaxSafeInteger)
        throw_js(env(), kInvalidId, str(key) + "[" + std::to_string(i) + "] is not a non-negative safe integer");
    return out;
  }
  Napi::Float64Array a = f64_array(key);
  std::vector<int64_t> out(a.ElementLength());
  const double* p = a.Data();
  for (size_t i = 0; i < out.size(); ++i) {
    const double d = p[i];
    if (!(d >= 0) || d > static_cast<double>(kMaxSafeInteger) || d != std::floor(d))
      throw_js(env(), kInvalidId, str(key) + "[" + std::to_string(i) + "] is not a non-negative safe integer");
    out[i] = static_cast<int64_t>(d);
  }
  return out;
}

bool Args::ids_opt(const char* key, std::vector<int64_t>* out) const {
  if (!has(key)) return false;
  *out = ids(key);
  return true;
}

int64_t Args::integer(const char* key, int64_t min, int64_t max, const char* range_code) const {
  Napi::Value v = required(key);
  if (!v.IsNumber()) throw_js(env(), kInvalidArgument, str(key) + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || d != std::floor(d) || std::fabs(d) > static_cast<double>(kMaxSafeInteger))
    throw_js(env(), kInvalidArgument, str(key) + " must be an integer");
  const int64_t i = static_cast<int64_t>(d);
  if (i < min || i > max)
    throw_js(env(), range_code,
             str(key) + " must be an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "], got " +
                 std::to_string(i));
  return i;
}

int64_t Args::integer_or(const char* key, int64_t fallback, int64_t min, int64_t max, const char* range_code) const {
  return has(key) ? integer(key, min, max, range_code) : fallback;
}

double Args::number(const char* key) const {
  Napi::Value v = required(key);
  if (!v.IsNumber()) throw_js(env(), kInvalidArgument, str(key) + " must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

double Args::number_or(const char* key, double fallback) const { return has(key) ? number(key) : fallback; }

bool Args::boolean_or(const char* key, bool fallback) const {
  if (!has(key)) return fallback;
  Napi::Value v = o_.Get(key);
  if (!v.IsBoolean()) throw_js(env(), kInvalidArgument, str(key) + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

std::string Args::string(const char* key) const {
  Napi::Value v = required(key);
  if (!v.IsString()) throw_js(env(), kInvalidArgument, str(key) + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

std::string Args::string_or(const char* key, const char* fallback) const {
  return has(key) ? string(key) : std::string(fallback);
}

}  // namespace addon
}  // namespace simsage
