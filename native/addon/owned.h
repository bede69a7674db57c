// A native object held by a JS wrapper (an ObjectWrap's member): the object, the bytes it holds as
// last reported to V8 (AdjustExternalMemory), and its release on dispose() or finalisation. T has
// `size_t native_bytes() const`. Use after release is a coded ERR_SIMSAGE_DISPOSED error naming
// what was disposed. (EmbeddingIndex's NativeIndex keeps its own shared record instead: async jobs
// outlive a dispose() there.)
#pragma once
#include <napi.h>

#include <cstdint>
#include <memory>

#include "errors.h"

namespace simsage {
namespace addon {

template <class T>
class OwnedNative {
 public:
  explicit OwnedNative(const char* what) : what_(what) {}
  OwnedNative(const OwnedNative&) = delete;
  OwnedNative& operator=(const OwnedNative&) = delete;

  // Takes the object and reports its bytes.
  void reset(Napi::Env env, std::unique_ptr<T> p) {
    release(env);
    p_ = std::move(p);
    account(env);
  }
  // The object, or a coded error once released.
  T& get(Napi::Env env) {
    if (!p_) throw_js(env, "ERR_SIMSAGE_DISPOSED", std::string("the ") + what_ + " has been disposed");
    return *p_;
  }
  bool disposed() const { return !p_; }
  // Reports a change of native_bytes() since the last report (after a call that may grow buffers).
  void account(Napi::Env env) {
    const int64_t now = p_ ? static_cast<int64_t>(p_->native_bytes()) : 0;
    if (now != reported_) {
      Napi::MemoryManagement::AdjustExternalMemory(env, now - reported_);
      reported_ = now;
    }
  }
  // Frees the object and un-reports its bytes; safe to call twice and from a finaliser.
  void release(Napi::Env env) noexcept {
    p_.reset();
    if (reported_ == 0) return;
    try {
      Napi::MemoryManagement::AdjustExternalMemory(env, -reported_);
    } catch (...) {
    }
    reported_ = 0;
  }

 private:
  const char* what_;
  std::unique_ptr<T> p_;
  int64_t reported_ = 0;
};

}  // namespace addon
}  // namespace simsage
