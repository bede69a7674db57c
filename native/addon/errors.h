// C++ -> JS error mapping, in one place: every binding (synchronous through guard(), asynchronous
// through PromiseWorker) turns the same exceptions into the same stable `code`s.
#pragma once
#include <napi.h>

#include <string>

#include "core/error.h"

namespace simsage {
namespace addon {

inline constexpr const char* kInvalidArgument = "ERR_SIMSAGE_INVALID_ARGUMENT";
inline constexpr const char* kDimMismatch = "ERR_SIMSAGE_DIM_MISMATCH";
inline constexpr const char* kInvalidId = "ERR_SIMSAGE_INVALID_ID";
inline constexpr const char* kInternal = "ERR_SIMSAGE_INTERNAL";

// A JS Error with a stable `code` property.
Napi::Error make_error(Napi::Env env, const char* code, const std::string& message);
[[noreturn]] void throw_js(Napi::Env env, const char* code, const std::string& message);

// The code and message of an exception that is not a Napi::Error.
struct NativeFailure {
  const char* code = kInternal;  // a string literal or error_code_name(): static storage
  std::string message;
};

// Call only inside a catch block: maps the exception being handled. simsage::Error keeps its code,
// std::bad_alloc -> ERR_SIMSAGE_OUT_OF_MEMORY, any other exception -> ERR_SIMSAGE_INTERNAL.
NativeFailure current_failure() noexcept;

// Runs fn on the main thread, turning any C++ exception into a JS error with a code (a Napi::Error,
// already a JS error, passes through).
template <class F>
auto guard(Napi::Env env, F&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const Napi::Error&) {
    throw;
  } catch (...) {
    NativeFailure f = current_failure();
    throw_js(env, f.code, f.message);
  }
}

}  // namespace addon
}  // namespace simsage
