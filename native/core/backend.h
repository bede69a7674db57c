// Backend registry. CPU always works. CUDA is available when the library was built with it and a
// device answers at run time; a machine without a GPU or driver simply reports it unavailable.
// SIMSAGE_BACKEND=cpu|cuda|auto sets the initial preference.
#pragma once
#include <string>
#include <vector>

namespace simsage {

enum class Backend { Cpu = 0, Cuda = 1 };

struct CudaDeviceInfo {
  int index = 0;
  std::string name;
  size_t total_memory = 0;
  int compute_major = 0;
  int compute_minor = 0;
};

struct BackendStatus {
  bool cuda_built = false;      // compiled with the CUDA backend
  bool cuda_available = false;  // built and at least one device answered
  std::string cuda_message;     // why CUDA is unavailable, when it is
  std::vector<CudaDeviceInfo> devices;
};

const BackendStatus& backend_status();
const char* backend_name(Backend b);
Backend parse_backend(const std::string& name);  // cpu | cuda | auto

// The backend kernels run on. "cuda" is honoured only where a kernel has a CUDA implementation and
// a device is present; otherwise calls run on the CPU and report it.
Backend preferred_backend();
void set_preferred_backend(Backend b);
bool preferred_backend_is_auto();

}  // namespace simsage
