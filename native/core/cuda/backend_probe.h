// The CUDA backend probe: whether CUDA was built in, which devices answer, or why none does.
// backend_probe.cu when CMake finds a CUDA compiler, backend_probe_stub.cpp otherwise; backend.cpp
// calls it once and caches the result (backend_status()).
#pragma once
#include "core/backend.h"

namespace simsage {

BackendStatus probe_cuda_backend();

}  // namespace simsage
