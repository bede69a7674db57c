// Bindings of the mining family (native/mining/): registered by RegisterMining.
#include "addon/addon.h"

namespace simsage {
namespace addon {

void RegisterMining(Napi::Env env, Napi::Object exports) {
  (void)env;
  (void)exports;
}

}  // namespace addon
}  // namespace simsage
