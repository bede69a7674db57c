#include "core/backend.h"

#include <atomic>
#include <cstdlib>

#include "core/cuda/backend_probe.h"
#include "core/error.h"

namespace simsage {
namespace {
// -1: auto (not yet resolved from the environment), 0: cpu, 1: cuda, 2: auto
std::atomic<int> g_backend{-1};

int initial_backend() {
  if (const char* env = std::getenv("SIMSAGE_BACKEND")) {
    std::string v = env;
    if (v == "cpu") return 0;
    if (v == "cuda") return 1;
  }
  return 2;
}
}  // namespace

const BackendStatus& backend_status() {
  static const BackendStatus s = probe_cuda_backend();
  return s;
}

const char* backend_name(Backend b) { return b == Backend::Cuda ? "cuda" : "cpu"; }

Backend parse_backend(const std::string& name) {
  if (name == "cpu") return Backend::Cpu;
  if (name == "cuda") return Backend::Cuda;
  if (name == "auto") return backend_status().cuda_available ? Backend::Cuda : Backend::Cpu;
  throw_error(ErrorCode::InvalidArgument, "unknown backend '" + name + "' (expected cpu, cuda or auto)");
}

bool preferred_backend_is_auto() {
  int v = g_backend.load();
  if (v < 0) {
    v = initial_backend();
    g_backend.store(v);
  }
  return v == 2;
}

Backend preferred_backend() {
  int v = g_backend.load();
  if (v < 0) {
    v = initial_backend();
    g_backend.store(v);
  }
  if (v == 0) return Backend::Cpu;
  // cuda or auto: only when a device is there
  return backend_status().cuda_available ? Backend::Cuda : Backend::Cpu;
}

void set_preferred_backend(Backend b) { g_backend.store(static_cast<int>(b)); }

}  // namespace simsage
