// Built instead of similarity_cuda.cu when there is no CUDA compiler (node-gyp builds, or CMake
// without nvcc): the CUDA backend reports itself as not built.
#include "similarity/cuda/similarity_cuda.h"

namespace simsage {

BackendStatus probe_cuda() {
  BackendStatus s;
  s.cuda_built = false;
  s.cuda_message = "built without CUDA";
  return s;
}

}  // namespace simsage
