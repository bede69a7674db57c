// Bindings of the nn family (native/nn/): registered by RegisterNn.
#include "addon/addon.h"

namespace simsage {
namespace addon {

void RegisterNn(Napi::Env env, Napi::Object exports) {
  (void)env;
  (void)exports;
}

}  // namespace addon
}  // namespace simsage
