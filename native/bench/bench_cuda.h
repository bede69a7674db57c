// The GPU benchmark's shared pieces: each family's file (bench_cuda_<family>.cpp) registers one
// section; bench_cuda.cpp parses the arguments, measures the device's peaks and runs the sections.
// Every measured cell is one JSON line on stdout,
//   {"tool":"simsage","family":"similarity","case":"topk n=10000000 d=128 q=1 k=10","seconds":...,
//    "flops":...,"bytes":...}
// where `case` is exactly the string native/bench/bench_cuda_torch.py prints for PyTorch on the same
// shapes, so native/bench/bench_cuda_report.py can pair them and print ratios; a readable line goes
// to stderr. Times are device times (CUDA events around the call, best of --reps after a warm-up).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace simsage_bench {

struct BenchArgs {
  int64_t topk_n = 10000000;  // corpus rows for the top-k cells
  int reps = 5;
  bool quick = false;  // small shapes: checks that the benchmark runs, not a measurement
};

struct Section {
  const char* family;
  std::function<void(const BenchArgs&)> run;
};
std::vector<Section>& sections();
struct RegisterSection {
  RegisterSection(const char* family, std::function<void(const BenchArgs&)> run) {
    sections().push_back({family, std::move(run)});
  }
};

// Prints one measured cell (flops / bytes: the work the cell does, 0 when not meaningful).
void emit(const char* family, const std::string& name, double seconds, double flops, double bytes);

// Best device time of `fn` over args.reps runs after one warm-up (CUDA events on this thread's stream).
double time_device(const BenchArgs& args, const std::function<void()>& fn);

}  // namespace simsage_bench
