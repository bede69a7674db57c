// The CUDA tests' entry: run the cases on a device, or skip with the reason. ctest reads exit code 77
// as "skipped" (SKIP_RETURN_CODE in CMakeLists.txt), so CI machines without a GPU (or built without
// nvcc) report these tests skipped, with the reason in the log, not passed.
#pragma once
#include <cstdio>

#include "check.h"
#include "core/backend.h"

namespace simsage_test {

constexpr int kSkipped = 77;

inline int run_cuda_cases(const char* what) {
#if SIMSAGE_WITH_CUDA
  const simsage::BackendStatus& s = simsage::backend_status();
  if (!s.cuda_available) {
    std::printf("SKIP %s: no CUDA device (%s)\n", what, s.cuda_message.c_str());
    return kSkipped;
  }
  std::printf("%s on %s (sm_%d%d)\n", what, s.devices.front().name.c_str(), s.devices.front().compute_major,
              s.devices.front().compute_minor);
  return run_all();
#else
  std::printf("SKIP %s: built without CUDA (no nvcc when CMake ran)\n", what);
  return kSkipped;
#endif
}

}  // namespace simsage_test

// A CUDA test file ends with SIMSAGE_CUDA_TEST_MAIN("what it tests") instead of TEST_MAIN().
#define SIMSAGE_CUDA_TEST_MAIN(what) \
  int main() { return simsage_test::run_cuda_cases(what); }
