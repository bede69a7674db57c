// PromiseWorker: the one AsyncWorker of the addon. It runs `execute` on a libuv worker thread and,
// back on the main thread, settles a Promise with what `resolve` builds, or rejects it with the
// stable code of the exception `execute` threw (the mapping of errors.h, shared with guard()).
//
//   return PromiseWorker::queue(env, "simsage:search",
//       [state] { state->run(); },                             // worker thread: no Napi:: calls
//       [state](Napi::Env env) { return state->to_js(env); },  // main thread
//       {corpus});                                             // JS values kept alive until settled
//
// `execute` must not touch JS values; typed-array memory it reads is kept alive by `keep_alive`
// (the caller must not modify it until the promise settles). Anything else it needs (copied
// inputs, outputs) lives in state shared by the two functions.
//
// Shutdown: when the environment that queued the work is going away (a worker thread terminated or
// calling process.exit()), completion still runs on that thread but no JS can run. Settling is then
// a no-op: every failure while settling is swallowed, none escapes as a C++ exception (which would
// abort the process from inside libuv).
#pragma once
#include <napi.h>

#include <functional>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "addon/errors.h"

namespace simsage {
namespace addon {

class PromiseWorker : public Napi::AsyncWorker {
 public:
  using ExecuteFn = std::function<void()>;
  using ResolveFn = std::function<Napi::Value(Napi::Env)>;

  // Creates, queues and returns the promise. Throws a JS error (nothing queued) if queuing fails.
  static Napi::Promise queue(Napi::Env env, const char* name, ExecuteFn execute, ResolveFn resolve,
                             std::initializer_list<Napi::Value> keep_alive = {}) {
    auto* w = new PromiseWorker(env, name, std::move(execute), std::move(resolve), keep_alive);
    Napi::Promise p = w->deferred_.Promise();
    try {
      w->Queue();
    } catch (...) {
      delete w;
      throw;
    }
    return p;
  }

  void Execute() override {
    try {
      execute_();
    } catch (...) {
      failure_ = current_failure();
      failed_ = true;
    }
  }

  // Replaces AsyncWorker's completion (which lets a failed Resolve/Reject escape as a C++ throw).
  void OnWorkComplete(Napi::Env env, napi_status status) override {
    settle(env, status);
    try {
      refs_.clear();
    } catch (...) {
    }
    Destroy();
  }

 private:
  PromiseWorker(Napi::Env env, const char* name, ExecuteFn execute, ResolveFn resolve,
                std::initializer_list<Napi::Value> keep_alive)
      : Napi::AsyncWorker(env, name),
        deferred_(Napi::Promise::Deferred::New(env)),
        execute_(std::move(execute)),
        resolve_(std::move(resolve)) {
    for (const Napi::Value& v : keep_alive)
      if (v.IsObject()) refs_.push_back(Napi::Persistent(v.As<Napi::Object>()));
  }

  void settle(Napi::Env env, napi_status status) noexcept {
    try {
      Napi::HandleScope scope(env);
      if (status == napi_cancelled) {
        deferred_.Reject(make_error(env, kInternal, "the operation was cancelled").Value());
        return;
      }
      if (failed_) {
        deferred_.Reject(make_error(env, failure_.code, failure_.message).Value());
        return;
      }
      Napi::Value result;
      try {
        result = resolve_(env);
      } catch (const Napi::Error& e) {
        deferred_.Reject(e.Value());
        return;
      } catch (...) {
        NativeFailure f = current_failure();
        deferred_.Reject(make_error(env, f.code, f.message).Value());
        return;
      }
      deferred_.Resolve(result);
    } catch (...) {
      // No JS can run in this environment any more (it is shutting down): nothing to settle.
    }
  }

  Napi::Promise::Deferred deferred_;
  ExecuteFn execute_;
  ResolveFn resolve_;
  std::vector<Napi::ObjectReference> refs_;
  bool failed_ = false;
  NativeFailure failure_;
};

}  // namespace addon
}  // namespace simsage
