// Built instead of backend_probe.cu when there is no CUDA compiler (node-gyp builds, or CMake
// without nvcc): the CUDA backend reports itself as not built.
#include "core/cuda/backend_probe.h"

namespace simsage {

BackendStatus probe_cuda_backend() {
  BackendStatus s;
  s.cuda_built = false;
  s.cuda_message = "built without CUDA";
  return s;
}

}  // namespace simsage
