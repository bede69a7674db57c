// A stand-in for <cuda_runtime.h> that lets the CPU emulation (run.sh in this folder) compile a
// family's CUDA sources as plain C++: kernels run on the CPU, each block's threads as fibers that
// switch at __syncthreads() (a block's shared memory is a function-local static, blocks run one at a
// time), device memory is host memory, so ASan/UBSan see every kernel load and store. It checks
// indexing, bounds and the host logic around the launches, not timing, warp behaviour or races.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static
#define __align__(n) __attribute__((aligned(n)))

struct dim3 {
  unsigned x, y, z;
  constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
struct alignas(16) float4 {
  float x, y, z, w;
};
inline float4 make_float4(float x, float y, float z, float w) { return {x, y, z, w}; }

typedef int cudaError_t;
enum : int { cudaSuccess = 0, cudaErrorMemoryAllocation = 2 };
typedef struct CUstream_emu* cudaStream_t;
#define cudaStreamPerThread (reinterpret_cast<cudaStream_t>(2))
inline cudaError_t cudaGetLastError() { return cudaSuccess; }

namespace simsage_emu {
extern dim3 thread_idx, block_idx, block_dim, grid_dim;
void sync_threads();
// Runs body once per thread of every block of the grid (blocks in order, threads as fibers).
void run_grid(dim3 grid, dim3 block, const std::function<void()>& body);
template <class... P>
struct Launcher {
  void (*kernel)(P...);
  dim3 grid, block;
  template <class... A>
  void operator()(A&&... a) const {
    auto k = kernel;
    run_grid(grid, block, [&] { k(static_cast<P>(a)...); });
  }
};
template <class... P>
Launcher<P...> launcher(void (*kernel)(P...), dim3 grid, dim3 block) {
  return {kernel, grid, block};
}
}  // namespace simsage_emu

#define threadIdx ::simsage_emu::thread_idx
#define blockIdx ::simsage_emu::block_idx
#define blockDim ::simsage_emu::block_dim
#define gridDim ::simsage_emu::grid_dim
#define __syncthreads() ::simsage_emu::sync_threads()
#define TEMPORAL_CUDA_LAUNCH(kernel, grid, block) ::simsage_emu::launcher(kernel, grid, block)

template <class T>
inline T min(T a, T b) {
  return b < a ? b : a;
}
