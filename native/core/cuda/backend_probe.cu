// Built when CMake finds a CUDA compiler. Links cudart statically, which loads the driver lazily:
// on a machine with no GPU or no driver, cudaGetDeviceCount fails and the CPU path is used.
#include <cuda_runtime.h>

#include "core/cuda/backend_probe.h"

namespace simsage {

BackendStatus probe_cuda_backend() {
  BackendStatus s;
  s.cuda_built = true;
  int count = 0;
  cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    s.cuda_message = std::string("no usable CUDA device: ") + cudaGetErrorString(err);
    cudaGetLastError();  // clear the sticky error state
    return s;
  }
  if (count == 0) {
    s.cuda_message = "no CUDA device present";
    return s;
  }
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp prop;
    if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) continue;
    CudaDeviceInfo d;
    d.index = i;
    d.name = prop.name;
    d.total_memory = prop.totalGlobalMem;
    d.compute_major = prop.major;
    d.compute_minor = prop.minor;
    s.devices.push_back(d);
  }
  s.cuda_available = !s.devices.empty();
  if (!s.cuda_available) s.cuda_message = "CUDA devices did not answer";
  return s;
}

}  // namespace simsage
