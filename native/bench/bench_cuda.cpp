// bench_cuda: the CUDA kernels' throughput on the GPU this runs on, with the device's measured copy
// bandwidth and FMA peak in the same run. Usage:
//   bench_cuda [--sections similarity,mining,temporal] [--n 10000000] [--reps 5] [--quick]
// Prints JSON lines (see bench_cuda.h). Built with -DSIMSAGE_BENCH=ON when CMake finds nvcc;
// scripts/gpu-check.sh runs it beside the PyTorch peer. Needs a GPU: exits 77 without one.
#include "bench_cuda.h"

#include <cuda_runtime.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "core/backend.h"
#include "core/cuda/peak.h"
#include "core/cuda/runtime.h"
#include "core/error.h"

namespace simsage_bench {

std::vector<Section>& sections() {
  static std::vector<Section> s;
  return s;
}

void emit(const char* family, const std::string& name, double seconds, double flops, double bytes) {
  std::printf(
      "{\"tool\":\"simsage\",\"family\":\"%s\",\"case\":\"%s\",\"seconds\":%.9g,\"flops\":%.6g,\"bytes\":%.6g}\n",
      family, name.c_str(), seconds, flops, bytes);
  std::fflush(stdout);
  std::fprintf(stderr, "%-11s %-52s %10.3f ms", family, name.c_str(), seconds * 1e3);
  if (flops > 0) std::fprintf(stderr, "  %8.2f TFLOP/s", flops / seconds * 1e-12);
  if (bytes > 0) std::fprintf(stderr, "  %8.1f GB/s", bytes / seconds * 1e-9);
  std::fprintf(stderr, "\n");
}

double time_device(const BenchArgs& args, const std::function<void()>& fn) {
  cudaEvent_t a, b;
  cudaEventCreate(&a);
  cudaEventCreate(&b);
  double best = 1e30;
  for (int r = 0; r <= args.reps; ++r) {  // run 0 warms up
    cudaEventRecord(a, cudaStreamPerThread);
    fn();
    cudaEventRecord(b, cudaStreamPerThread);
    cudaEventSynchronize(b);
    float ms = 0;
    cudaEventElapsedTime(&ms, a, b);
    if (r > 0 && ms * 1e-3 < best) best = ms * 1e-3;
  }
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  simsage::cuda::synchronize();  // a kernel fault inside fn surfaces here as ERR_SIMSAGE_CUDA
  return best;
}

}  // namespace simsage_bench

using namespace simsage_bench;

int main(int argc, char** argv) {
  BenchArgs args;
  std::string only;
  for (int i = 1; i < argc; ++i) {
    const char* a = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "bench_cuda: %s needs a value\n", a);
        std::exit(2);
      }
      return argv[++i];
    };
    if (!std::strcmp(a, "--sections")) {
      only = next();
    } else if (!std::strcmp(a, "--n")) {
      args.topk_n = std::strtoll(next(), nullptr, 10);
    } else if (!std::strcmp(a, "--reps")) {
      args.reps = std::atoi(next());
    } else if (!std::strcmp(a, "--quick")) {
      args.quick = true;
    } else {
      std::fprintf(stderr, "usage: bench_cuda [--sections a,b] [--n N] [--reps R] [--quick]\n");
      return 2;
    }
  }
  const simsage::BackendStatus& st = simsage::backend_status();
  if (!st.cuda_available) {
    std::fprintf(stderr, "bench_cuda: no CUDA device (%s)\n", st.cuda_message.c_str());
    return 77;
  }
  try {
    const auto& d = st.devices.front();
    std::fprintf(stderr, "device: %s, sm_%d%d, %.1f GiB\n", d.name.c_str(), d.compute_major, d.compute_minor,
                 double(d.total_memory) / (1 << 30));
    const double bw = simsage::cuda::measure_copy_read_bandwidth(size_t(1) << 30, args.reps);
    const double fma = simsage::cuda::measure_fma_peak(args.reps);
    std::printf("{\"tool\":\"simsage\",\"family\":\"peak\",\"case\":\"copy_read_bytes_per_s\",\"value\":%.6g}\n", bw);
    std::printf("{\"tool\":\"simsage\",\"family\":\"peak\",\"case\":\"fp32_fma_flops\",\"value\":%.6g}\n", fma);
    std::fprintf(stderr, "peak: device-to-device copy reads %.1f GB/s, FP32 FMA %.1f TFLOP/s\n", bw * 1e-9,
                 fma * 1e-12);
    for (const Section& s : sections()) {
      if (!only.empty() && ("," + only + ",").find(std::string(",") + s.family + ",") == std::string::npos) continue;
      s.run(args);
    }
  } catch (const simsage::Error& e) {
    std::fprintf(stderr, "bench_cuda: %s: %s\n", e.code_name(), e.what());
    return 1;
  }
  return 0;
}
