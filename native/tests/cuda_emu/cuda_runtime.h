// A stand-in for <cuda_runtime.h> that lets the CPU emulation (run.sh in this folder) compile a
// family's CUDA sources as plain C++: kernels run on the CPU, each block's threads as fibers
// (emu_device.h) that switch at barriers: __syncthreads() and its _or/_and/_count forms, and the
// warp-synchronous intrinsics (__shfl*_sync, __ballot_sync, __any/__all_sync, __syncwarp), which
// exchange values through per-thread slots between two warp barriers. A block's static shared memory
// is a function-local static and dynamic shared memory (SIMSAGE_CUDA_DYNAMIC_SHARED) a per-launch
// buffer; blocks run one at a time; device memory is host memory, so ASan/UBSan see every kernel load
// and store, and a barrier not reached by every thread it waits for aborts with a message. It checks
// indexing, bounds, barrier placement and the host logic around the launches, not timing or races
// (one fiber runs at a time, so a missing barrier between a write and a read of another thread's
// shared memory can go unseen).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>

#define SIMSAGE_CUDA_EMU 1
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __noinline__
#define __launch_bounds__(...)
#define __shared__ static
#define __restrict__ __restrict
#define __align__(n) __attribute__((aligned(n)))

struct dim3 {
  unsigned x, y, z;
  constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
struct alignas(16) float4 {
  float x, y, z, w;
};
struct alignas(8) float2 {
  float x, y;
};
struct alignas(16) int4 {
  int x, y, z, w;
};
struct alignas(8) uint2 {
  unsigned x, y;
};
struct alignas(8) int2 {
  int x, y;
};
struct alignas(16) uint4 {
  unsigned x, y, z, w;
};
inline float4 make_float4(float x, float y, float z, float w) { return {x, y, z, w}; }
inline float2 make_float2(float x, float y) { return {x, y}; }

typedef int cudaError_t;
enum : int { cudaSuccess = 0, cudaErrorMemoryAllocation = 2 };
typedef struct CUstream_emu* cudaStream_t;
#define cudaStreamPerThread (reinterpret_cast<cudaStream_t>(2))
inline cudaError_t cudaGetLastError() { return cudaSuccess; }
enum cudaFuncAttribute { cudaFuncAttributeMaxDynamicSharedMemorySize = 8 };
template <class F>
inline cudaError_t cudaFuncSetAttribute(F, cudaFuncAttribute, int) {
  return cudaSuccess;  // the emulation checks dynamic shared memory against max_shared_per_block()
}
template <class F>
inline cudaError_t cudaOccupancyMaxActiveBlocksPerMultiprocessor(int* blocks, F, int, size_t) {
  *blocks = 2;
  return cudaSuccess;
}
inline const char* cudaGetErrorName(cudaError_t) { return "cudaErrorEmulated"; }
inline const char* cudaGetErrorString(cudaError_t) { return "emulated error"; }

namespace simsage_emu {
extern dim3 thread_idx, block_idx, block_dim, grid_dim;
void sync_threads();
int sync_threads_count(int pred);  // number of threads of the block with pred != 0
void sync_warp(unsigned mask);
uint64_t exchange(unsigned mask, uint64_t bits, int src_lane);  // the value src_lane deposited
unsigned ballot(unsigned mask, int pred);
void* dynamic_shared();
// Every lane of `mask` deposits `bytes` (<= 64) from `mine`; `all` receives 32 such records, lane order.
void warp_gather(unsigned mask, const void* mine, size_t bytes, void* all);
// Runs body once per thread of every block of the grid (blocks in order, threads as fibers), with
// `shared_bytes` of dynamic shared memory per block.
void run_grid(dim3 grid, dim3 block, size_t shared_bytes, const std::function<void()>& body);
int lane_id();

template <class... P>
struct Launcher {
  void (*kernel)(P...);
  dim3 grid, block;
  size_t shared;
  template <class... A>
  void operator()(A&&... a) const {
    auto k = kernel;
    run_grid(grid, block, shared, [&] { k(static_cast<P>(a)...); });
  }
};
template <class... P>
Launcher<P...> launcher(dim3 grid, dim3 block, size_t shared, void (*kernel)(P...)) {
  return {kernel, grid, block, shared};
}

template <class T>
T shuffle(unsigned mask, T v, int src_lane) {
  static_assert(sizeof(T) <= 8, "shuffle of a value wider than 8 bytes");
  uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof(T));
  bits = exchange(mask, bits, src_lane);
  T r;
  std::memcpy(&r, &bits, sizeof(T));
  return r;
}
}  // namespace simsage_emu

#define threadIdx ::simsage_emu::thread_idx
#define blockIdx ::simsage_emu::block_idx
#define blockDim ::simsage_emu::block_dim
#define gridDim ::simsage_emu::grid_dim
#define warpSize 32
#define __syncthreads() ::simsage_emu::sync_threads()
#define SIMSAGE_CUDA_LAUNCH(grid, block, shared, ...) ::simsage_emu::launcher(grid, block, shared, __VA_ARGS__)
#define SIMSAGE_CUDA_DYNAMIC_SHARED(T, name) T* name = static_cast<T*>(::simsage_emu::dynamic_shared())

inline int __syncthreads_count(int p) { return simsage_emu::sync_threads_count(p); }
inline int __syncthreads_or(int p) { return simsage_emu::sync_threads_count(p) > 0; }
inline int __syncthreads_and(int p) {
  return simsage_emu::sync_threads_count(p) == int(blockDim.x * blockDim.y * blockDim.z);
}
inline void __syncwarp(unsigned mask = 0xffffffffu) { simsage_emu::sync_warp(mask); }
inline unsigned __ballot_sync(unsigned mask, int p) { return simsage_emu::ballot(mask, p); }
inline int __any_sync(unsigned mask, int p) { return simsage_emu::ballot(mask, p) != 0; }
inline int __all_sync(unsigned mask, int p) { return simsage_emu::ballot(mask, p) == (simsage_emu::ballot(mask, 1)); }
// Source lanes as the PTX shfl modes define them; a source outside the lane's segment of `width`
// lanes returns the caller's own value (down/up/xor), as on the GPU.
template <class T>
T __shfl_sync(unsigned mask, T v, int src, int width = 32) {
  const int lane = simsage_emu::lane_id(), base = lane & ~(width - 1);
  return simsage_emu::shuffle(mask, v, base + (src & (width - 1)));
}
template <class T>
T __shfl_xor_sync(unsigned mask, T v, int lane_mask, int width = 32) {
  const int lane = simsage_emu::lane_id(), base = lane & ~(width - 1), s = lane ^ lane_mask;
  return simsage_emu::shuffle(mask, v, s >= base + width || s < base ? lane : s);
}
template <class T>
T __shfl_down_sync(unsigned mask, T v, unsigned delta, int width = 32) {
  const int lane = simsage_emu::lane_id(), base = lane & ~(width - 1), s = lane + int(delta);
  return simsage_emu::shuffle(mask, v, s >= base + width ? lane : s);
}
template <class T>
T __shfl_up_sync(unsigned mask, T v, unsigned delta, int width = 32) {
  const int lane = simsage_emu::lane_id(), base = lane & ~(width - 1), s = lane - int(delta);
  return simsage_emu::shuffle(mask, v, s < base ? lane : s);
}

inline int __popc(unsigned x) { return __builtin_popcount(x); }
inline int __popcll(unsigned long long x) { return __builtin_popcountll(x); }
inline int __ffs(int x) { return __builtin_ffs(x); }
inline int __clz(int x) { return x == 0 ? 32 : __builtin_clz(unsigned(x)); }
template <class To, class From>
inline To emu_bit_cast(From f) {
  To t;
  std::memcpy(&t, &f, sizeof(To));
  return t;
}
inline float __int_as_float(int x) { return emu_bit_cast<float>(x); }
inline int __float_as_int(float x) { return emu_bit_cast<int>(x); }
inline float __uint_as_float(unsigned x) { return emu_bit_cast<float>(x); }
inline unsigned __float_as_uint(float x) { return emu_bit_cast<unsigned>(x); }
inline double __longlong_as_double(long long x) { return emu_bit_cast<double>(x); }
inline long long __double_as_longlong(double x) { return emu_bit_cast<long long>(x); }
template <class T>
inline T __ldg(const T* p) {
  return *p;
}
// Fibers run one at a time and switch only at barriers: a read-modify-write is atomic.
template <class T>
inline T atomicAdd(T* p, T v) {
  T old = *p;
  *p = old + v;
  return old;
}
template <class T>
inline T atomicMax(T* p, T v) {
  T old = *p;
  *p = std::max(old, v);
  return old;
}
template <class T>
inline T atomicMin(T* p, T v) {
  T old = *p;
  *p = std::min(old, v);
  return old;
}
template <class T>
inline T atomicExch(T* p, T v) {
  T old = *p;
  *p = v;
  return old;
}
template <class T>
inline T atomicCAS(T* p, T cmp, T v) {
  T old = *p;
  if (old == cmp) *p = v;
  return old;
}
using std::isfinite;
using std::isinf;
using std::isnan;
inline float __fdividef(float a, float b) { return a / b; }
inline float rsqrtf(float x) { return 1.f / std::sqrt(x); }
inline float __saturatef(float x) { return std::min(1.f, std::max(0.f, x)); }

template <class T>
inline T min(T a, T b) {
  return b < a ? b : a;
}
template <class T>
inline T max(T a, T b) {
  return a < b ? b : a;
}

// mma.sync.aligned.m16n8k16.row.col.f32.{bf16,f16}.{bf16,f16}.f32 for one warp: c += A (16 x 16) B
// (16 x 8), fragments laid out as the PTX ISA's "Matrix fragments for mma.m16n8k16" (groupID = lane / 4,
// t = lane % 4: a regs (row g, k 2t..2t+1), (g + 8, 2t..), (g, 2t + 8..), (g + 8, 2t + 8..); b regs
// (k 2t..2t+1, col g), (k 2t + 8.., g); c (g, 2t..2t+1), (g + 8, 2t..2t+1); the lower 16 bits hold the
// lower index). `decode` turns a 16-bit code into float; products summed in k order in float.
template <class Decode>
void emu_mma_m16n8k16(float (&c)[4], const unsigned (&a)[4], unsigned b0, unsigned b1, Decode decode) {
  struct Frag {
    unsigned a[4], b[2];
  };
  const Frag mine{{a[0], a[1], a[2], a[3]}, {b0, b1}};
  Frag all[32];
  simsage_emu::warp_gather(0xffffffffu, &mine, sizeof mine, all);
  float A[16][16], B[16][8];
  auto lo = [&](unsigned r) { return decode(static_cast<unsigned short>(r & 0xffff)); };
  auto hi = [&](unsigned r) { return decode(static_cast<unsigned short>(r >> 16)); };
  for (int l = 0; l < 32; ++l) {
    const int g = l >> 2, t = l & 3;
    A[g][2 * t] = lo(all[l].a[0]), A[g][2 * t + 1] = hi(all[l].a[0]);
    A[g + 8][2 * t] = lo(all[l].a[1]), A[g + 8][2 * t + 1] = hi(all[l].a[1]);
    A[g][2 * t + 8] = lo(all[l].a[2]), A[g][2 * t + 9] = hi(all[l].a[2]);
    A[g + 8][2 * t + 8] = lo(all[l].a[3]), A[g + 8][2 * t + 9] = hi(all[l].a[3]);
    B[2 * t][g] = lo(all[l].b[0]), B[2 * t + 1][g] = hi(all[l].b[0]);
    B[2 * t + 8][g] = lo(all[l].b[1]), B[2 * t + 9][g] = hi(all[l].b[1]);
  }
  const int lane = simsage_emu::lane_id(), g = lane >> 2, t = lane & 3;
  for (int i = 0; i < 4; ++i) {
    const int row = g + (i >= 2 ? 8 : 0), col = 2 * t + (i & 1);
    float s = c[i];
    for (int k = 0; k < 16; ++k) s += A[row][k] * B[k][col];
    c[i] = s;
  }
}
