// CUDA error checks for .cu files: every failing runtime call or kernel launch throws a simsage::Error
// with the call, the file and line and CUDA's message (ERR_SIMSAGE_CUDA; a failed allocation
// ERR_SIMSAGE_OUT_OF_MEMORY). Never an abort.
#pragma once
#include <cuda_runtime.h>

namespace simsage::cuda {

[[noreturn]] void throw_cuda(cudaError_t err, const char* what, const char* file, int line);

inline void check(cudaError_t err, const char* what, const char* file, int line) {
  if (err != cudaSuccess) throw_cuda(err, what, file, line);
}

// The stream every simsage call runs on (see runtime.h).
inline cudaStream_t stream() { return cudaStreamPerThread; }

inline unsigned blocks_for(int64_t n, int threads) { return unsigned((n + threads - 1) / threads); }

}  // namespace simsage::cuda

// Every launch is written SIMSAGE_CUDA_LAUNCH(grid, block, dynamic shared bytes, kernel)(args...)
// (kernel last: a template kernel's commas stay inside __VA_ARGS__), on this thread's stream, and
// dynamic shared memory is declared SIMSAGE_CUDA_DYNAMIC_SHARED(T, name): native/tests/cuda_emu/
// defines both to run the same sources on the CPU (kernels as fibers, sanitizers on).
#ifndef SIMSAGE_CUDA_LAUNCH
#define SIMSAGE_CUDA_LAUNCH(grid, block, shared, ...) __VA_ARGS__<<<grid, block, shared, ::simsage::cuda::stream()>>>
#define SIMSAGE_CUDA_DYNAMIC_SHARED(T, name) extern __shared__ __align__(16) T name[]
#endif

#define SIMSAGE_CUDA_CHECK(expr) ::simsage::cuda::check((expr), #expr, __FILE__, __LINE__)
// After a <<<...>>> launch: a bad configuration is reported here; faults inside the kernel at the
// next synchronize().
#define SIMSAGE_CUDA_LAUNCHED(name) ::simsage::cuda::check(cudaGetLastError(), name, __FILE__, __LINE__)
