// Module registration. Everything heavy is in native/<family>/; this folder only converts.
#include "addon/addon.h"

namespace simsage {
namespace addon {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("topkSync", Napi::Function::New(env, TopkSync, "topkSync"));
  exports.Set("topkAsync", Napi::Function::New(env, TopkAsync, "topkAsync"));
  exports.Set("NativeIndex", DefineNativeIndex(env));
  exports.Set("info", Napi::Function::New(env, Info, "info"));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads, "setThreads"));
  exports.Set("setSimd", Napi::Function::New(env, SetSimd, "setSimd"));
  exports.Set("setBackend", Napi::Function::New(env, SetBackend, "setBackend"));
  exports.Set("probeFmaPeak", Napi::Function::New(env, ProbeFmaPeak, "probeFmaPeak"));
  exports.Set("probeReadBandwidth", Napi::Function::New(env, ProbeReadBandwidth, "probeReadBandwidth"));
  RegisterNn(env, exports);
  RegisterMining(env, exports);
  return exports;
}

}  // namespace addon
}  // namespace simsage

static Napi::Object InitSimsage(Napi::Env env, Napi::Object exports) { return simsage::addon::Init(env, exports); }

NODE_API_MODULE(simsage, InitSimsage)
