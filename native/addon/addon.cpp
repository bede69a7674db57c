// Module registration. Everything heavy is in native/<family>/; this folder only converts.
#include "addon/addon.h"

namespace {

Napi::Object init(Napi::Env env, Napi::Object exports) {
  simsage::addon::register_similarity(env, exports);
  simsage::addon::register_info(env, exports);
  simsage::addon::register_nn(env, exports);
  simsage::addon::register_nn_spatial(env, exports);
  simsage::addon::register_nn_conv(env, exports);
  simsage::addon::register_mining(env, exports);
  simsage::addon::register_temporal(env, exports);
  simsage::addon::register_temporal_gru(env, exports);
  simsage::addon::register_text(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(simsage, init)
