// An AsyncWorker that runs one search on a libuv worker thread and settles a Promise. Inputs are
// copied (or kept alive by references) before it is queued; errors keep their stable code.
#pragma once
#include <napi.h>

#include <functional>
#include <string>
#include <vector>

#include "addon/convert.h"

namespace simsage {
namespace addon {

class SearchWorker : public Napi::AsyncWorker {
 public:
  using Job = std::function<void(SearchOutput&)>;
  SearchWorker(Napi::Env env, Job job, int64_t k, std::vector<Napi::Value> keep_alive = {})
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), job_(std::move(job)), k_(k) {
    for (auto& v : keep_alive) refs_.push_back(Napi::Persistent(v.As<Napi::Object>()));
  }
  Napi::Promise promise() { return deferred_.Promise(); }

  void Execute() override {
    try {
      job_(out_);
    } catch (const Error& e) {
      code_ = e.code_name();
      SetError(e.what());
    } catch (const std::bad_alloc&) {
      code_ = "ERR_SIMSAGE_OUT_OF_MEMORY";
      SetError("out of memory");
    } catch (const std::exception& e) {
      code_ = "ERR_SIMSAGE_INTERNAL";
      SetError(e.what());
    } catch (...) {
      code_ = "ERR_SIMSAGE_INTERNAL";
      SetError("unknown native error");
    }
  }
  void OnOK() override {
    refs_.clear();
    deferred_.Resolve(out_.to_js(Env(), k_));
  }
  void OnError(const Napi::Error& e) override {
    refs_.clear();
    deferred_.Reject(make_error(Env(), code_.c_str(), e.Message()).Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  Job job_;
  int64_t k_;
  SearchOutput out_;
  std::string code_ = "ERR_SIMSAGE_INTERNAL";
  std::vector<Napi::ObjectReference> refs_;
};

}  // namespace addon
}  // namespace simsage
