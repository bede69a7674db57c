// Entry points the module registers (one file per group).
#pragma once
#include <napi.h>

#include "addon/convert.h"

namespace simsage {
namespace addon {

Napi::Value TopkSync(const Napi::CallbackInfo& info);
Napi::Value TopkAsync(const Napi::CallbackInfo& info);
Napi::Function DefineNativeIndex(Napi::Env env);
Napi::Value Info(const Napi::CallbackInfo& info);
Napi::Value SetThreads(const Napi::CallbackInfo& info);
Napi::Value SetSimd(const Napi::CallbackInfo& info);
Napi::Value SetBackend(const Napi::CallbackInfo& info);
Napi::Value ProbeFmaPeak(const Napi::CallbackInfo& info);
Napi::Value ProbeReadBandwidth(const Napi::CallbackInfo& info);
// Family registrations (one file each).
void RegisterNn(Napi::Env env, Napi::Object exports);
void RegisterMining(Napi::Env env, Napi::Object exports);

}  // namespace addon
}  // namespace simsage
