// Core: error codes, SIMD level parsing and step-down, thread pool scheduling and error propagation.
#include <atomic>
#include <stdexcept>
#include <vector>

#include "check.h"
#include "core/backend.h"
#include "core/cpu_features.h"
#include "core/error.h"
#include "core/probe.h"
#include "core/thread_pool.h"

using namespace simsage;

TEST_CASE(error_codes_are_stable) {
  CHECK(std::string(error_code_name(ErrorCode::DimMismatch)) == "ERR_SIMSAGE_DIM_MISMATCH", "dim");
  CHECK(std::string(error_code_name(ErrorCode::CorruptFile)) == "ERR_SIMSAGE_CORRUPT_FILE", "file");
  Error e(ErrorCode::InvalidK, "k");
  CHECK(std::string(e.code_name()) == "ERR_SIMSAGE_INVALID_K", "code_name");
}

TEST_CASE(simd_levels) {
  CHECK(parse_simd_level("scalar") == SimdLevel::Scalar, "scalar");
  CHECK(parse_simd_level("auto") == best_simd_level(), "auto");
  EXPECT_THROW_CODE(parse_simd_level("sse9"), ErrorCode::InvalidArgument);
  SimdLevel before = active_simd_level();
  CHECK(set_simd_level(SimdLevel::Scalar) == SimdLevel::Scalar, "set scalar");
  SimdLevel got = set_simd_level(SimdLevel::Avx512);
  CHECK(simd_level_supported(got), "set steps down to a supported level");
  set_simd_level(before);
}

TEST_CASE(thread_pool_runs_every_task_once) {
  for (int threads : {1, 2, 4}) {
    std::vector<std::atomic<int>> hits(1000);
    for (auto& h : hits) h = 0;
    parallel_for(1000, threads, [&](int64_t t, int w) {
      CHECK(w >= 0 && w < threads, "worker slot %d of %d", w, threads);
      hits[t]++;
    });
    int bad = 0;
    for (auto& h : hits) bad += h.load() != 1;
    CHECK(bad == 0, "%d tasks not run exactly once with %d threads", bad, threads);
  }
}

TEST_CASE(thread_pool_rethrows_on_caller) {
  bool caught = false;
  try {
    parallel_for(100, 2, [&](int64_t t, int) {
      if (t == 37) throw Error(ErrorCode::Internal, "boom");
    });
  } catch (const Error& e) {
    caught = e.code() == ErrorCode::Internal;
  }
  CHECK(caught, "exception from a task reaches the caller");
  // the pool still works afterwards
  std::atomic<int> n{0};
  parallel_for(10, 2, [&](int64_t, int) { n++; });
  CHECK(n == 10, "pool usable after an error");
}

TEST_CASE(backend_and_probe) {
  const BackendStatus& s = backend_status();
  CHECK(!s.cuda_available || !s.devices.empty(), "cuda_available implies devices");
  if (!s.cuda_available) CHECK(!s.cuda_message.empty(), "a reason is given");
  CHECK(preferred_backend() == Backend::Cpu || s.cuda_available, "cuda preferred only when available");
  ProbeResult r = probe_fma_peak(SimdLevel::Scalar, 0.01);
  CHECK(r.gflops > 0, "fma probe measures something");
  std::vector<float> data(1 << 16, 1.f);
  ProbeResult b = probe_read_bandwidth(data.data(), static_cast<int64_t>(data.size()), 2, 1);
  CHECK(b.gflops > 0, "read probe measures something");
}

TEST_MAIN()
