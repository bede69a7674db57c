#include "addon/errors.h"

#include <exception>
#include <new>

namespace simsage {
namespace addon {

Napi::Error make_error(Napi::Env env, const char* code, const std::string& message) {
  Napi::Error err = Napi::Error::New(env, message);
  err.Set("code", Napi::String::New(env, code));
  return err;
}

void throw_js(Napi::Env env, const char* code, const std::string& message) { throw make_error(env, code, message); }

NativeFailure current_failure() noexcept {
  try {
    try {
      throw;
    } catch (const Error& e) {
      return {e.code_name(), e.what()};
    } catch (const std::bad_alloc&) {
      return {"ERR_SIMSAGE_OUT_OF_MEMORY", "out of memory"};
    } catch (const std::exception& e) {
      return {kInternal, e.what()};
    } catch (...) {
      return {kInternal, "unknown native error"};
    }
  } catch (...) {
    // Copying the message failed (out of memory): keep the code, drop the message.
    return {};
  }
}

}  // namespace addon
}  // namespace simsage
