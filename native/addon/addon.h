// The binding families. Each file registers its functions on the module's exports; addon.cpp
// calls them once per environment (main thread or worker thread).
//
// Per-environment state: none is kept in statics (no static Napi::Reference or FunctionReference);
// everything a binding needs travels in its arguments object or in its ObjectWrap instance, so the
// addon loads and runs in any number of worker threads at once. Kernel settings (threads, SIMD
// level, backend) are process-wide by design: they describe the machine, not a JS realm.
#pragma once
#include <napi.h>

namespace simsage {
namespace addon {

void register_similarity(Napi::Env env, Napi::Object exports);  // topkSync, topkAsync, NativeIndex
void register_info(Napi::Env env, Napi::Object exports);        // info, settings, probes, externalMemory
void register_nn(Napi::Env env, Napi::Object exports);          // nn*
void register_nn_spatial(Napi::Env env, Napi::Object exports);  // nn* pooling and group norm
void register_nn_conv(Napi::Env env, Napi::Object exports);     // nnConv2d* (nn_conv.cpp)
void register_mining(Napi::Env env, Napi::Object exports);      // mining*
void register_temporal(Napi::Env env, Napi::Object exports);    // temporal* (conv, block), NativeTcnStream
// gru* (the temporal family's GRU)
void register_temporal_gru(Napi::Env env, Napi::Object exports);
void register_text(Napi::Env env, Napi::Object exports);  // text* (featurise, hash bag, sparse optimizers)

// Defined in similarity_index.cpp, called by register_similarity.
Napi::Function define_native_index(Napi::Env env);

}  // namespace addon
}  // namespace simsage
