// The CPU emulation's device (see cuda_runtime.h here): fibers for a block's threads, and
// simsage::cuda's runtime seam (core/cuda/runtime.h) over host memory. An allocation over 16 GiB
// fails with ERR_SIMSAGE_OUT_OF_MEMORY, as cudaMalloc would on a device that size; sm_count() is 4.
// Definitions in a header (no .cpp: this folder is not part of the build; run.sh compiles it once),
// ending with the entry that runs the CUDA test's cases (the test's own main renamed by -Dmain=...).
#pragma once
#include <ucontext.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "core/backend.h"
#include "core/cuda/check.cuh"
#include "core/cuda/runtime.h"
#include "core/error.h"

namespace simsage_emu {

dim3 thread_idx, block_idx, block_dim, grid_dim;

namespace {

// A fiber is one CUDA thread of the running block. It runs until it finishes or waits at a barrier
// (block or warp); the scheduler resumes waiting fibers round-robin and each one re-checks its
// barrier's generation. A round in which no fiber arrives at, leaves or finishes anything is a
// deadlock (a barrier some thread never reaches): the emulation aborts with a message.
struct Fiber {
  ucontext_t ctx;
  std::vector<char> stack;
  bool done = false;
};
struct Barrier {
  unsigned arrived = 0;
  unsigned generation = 0;
};
// A fiber's stack. ASan clears the shadow of the whole stack at every switch, so the size is the
// emulation's main cost: kernels keep small frames (registers, not big local arrays).
constexpr size_t kStackBytes = 32 * 1024;
ucontext_t g_sched;
std::vector<Fiber> g_fibers;
size_t g_current = 0, g_threads = 0, g_live = 0;
uint64_t g_progress = 0;
const std::function<void()>* g_body = nullptr;
Barrier g_block;
std::vector<Barrier> g_warps;
std::vector<uint64_t> g_slots;  // one exchange value per thread
std::vector<char> g_records;    // 64 bytes per thread (warp_gather)
std::vector<unsigned char> g_dynamic;

void trampoline() {
  (*g_body)();
  g_fibers[g_current].done = true;
}  // returns to uc_link (the scheduler)

void yield() { swapcontext(&g_fibers[g_current].ctx, &g_sched); }

// Waits until `expected` threads arrived at `b` (the last one to arrive releases the others).
void wait_at(Barrier& b, unsigned expected) {
  const unsigned gen = b.generation;
  ++g_progress;
  if (++b.arrived >= expected) {
    b.arrived = 0;
    ++b.generation;
    return;
  }
  while (b.generation == gen) yield();
}

unsigned warp_of(size_t t) { return unsigned(t / 32); }
// The lanes of warp w that exist in this block (the last warp of a block may be partial).
unsigned warp_lanes(unsigned w) {
  const size_t first = size_t(w) * 32;
  const size_t n = std::min<size_t>(32, g_threads - first);
  return n == 32 ? 0xffffffffu : ((1u << n) - 1);
}
void warp_barrier(unsigned mask) {
  const unsigned w = warp_of(g_current);
  const unsigned lanes = mask & warp_lanes(w);
  if (!(lanes >> (g_current % 32) & 1)) {
    std::fprintf(stderr, "cuda_emu: a warp intrinsic called by lane %zu outside its mask %08x\n", g_current % 32, mask);
    std::abort();
  }
  wait_at(g_warps[w], unsigned(__builtin_popcount(lanes)));
}

}  // namespace

int lane_id() { return int(g_current % 32); }

void sync_threads() { wait_at(g_block, unsigned(g_threads)); }

int sync_threads_count(int pred) {
  g_slots[g_current] = pred != 0;
  sync_threads();
  int n = 0;
  for (size_t t = 0; t < g_threads; ++t) n += int(g_slots[t]);
  sync_threads();
  return n;
}

void sync_warp(unsigned mask) { warp_barrier(mask); }

uint64_t exchange(unsigned mask, uint64_t bits, int src_lane) {
  g_slots[g_current] = bits;
  warp_barrier(mask);
  const size_t src = size_t(warp_of(g_current)) * 32 + size_t(src_lane);
  const uint64_t r = src < g_threads && src_lane >= 0 && src_lane < 32 ? g_slots[src] : bits;
  warp_barrier(mask);
  return r;
}

unsigned ballot(unsigned mask, int pred) {
  g_slots[g_current] = pred != 0;
  warp_barrier(mask);
  const unsigned lanes = mask & warp_lanes(warp_of(g_current));
  const size_t base = size_t(warp_of(g_current)) * 32;
  unsigned r = 0;
  for (unsigned l = 0; l < 32; ++l)
    if ((lanes >> l & 1) && g_slots[base + l]) r |= 1u << l;
  warp_barrier(mask);
  return r;
}

void* dynamic_shared() { return g_dynamic.data(); }

void warp_gather(unsigned mask, const void* mine, size_t bytes, void* all) {
  if (bytes > 64) {
    std::fprintf(stderr, "cuda_emu: warp_gather of %zu bytes (at most 64)\n", bytes);
    std::abort();
  }
  std::memcpy(g_records.data() + g_current * 64, mine, bytes);
  warp_barrier(mask);
  const size_t base = size_t(warp_of(g_current)) * 32;
  for (size_t l = 0; l < 32; ++l)
    std::memcpy(static_cast<char*>(all) + l * bytes, g_records.data() + std::min(base + l, g_threads - 1) * 64, bytes);
  warp_barrier(mask);
}

void run_grid(dim3 grid, dim3 block, size_t shared_bytes, const std::function<void()>& body) {
  const size_t n = size_t(block.x) * block.y * block.z;
  if (n == 0 || n > 1024 || grid.x == 0 || grid.y == 0 || grid.z == 0 || grid.y > 65535 || grid.z > 65535) {
    std::fprintf(stderr, "cuda_emu: invalid launch configuration grid (%u, %u, %u) block (%u, %u, %u)\n", grid.x,
                 grid.y, grid.z, block.x, block.y, block.z);
    std::abort();
  }
  if (shared_bytes > simsage::cuda::max_shared_per_block()) {
    std::fprintf(stderr, "cuda_emu: %zu bytes of dynamic shared memory exceed the block limit\n", shared_bytes);
    std::abort();
  }
  block_dim = block;
  grid_dim = grid;
  g_body = &body;
  g_threads = n;
  g_fibers.resize(n);
  g_slots.assign(n, 0);
  g_records.assign(n * 64, 0);
  for (Fiber& f : g_fibers) f.stack.resize(kStackBytes);
  g_dynamic.assign(shared_bytes + 16, 0xFF);  // NaN bytes: a kernel that reads shared memory it never wrote shows it
  for (unsigned bz = 0; bz < grid.z; ++bz)
    for (unsigned by = 0; by < grid.y; ++by)
      for (unsigned bx = 0; bx < grid.x; ++bx) {
        block_idx = dim3(bx, by, bz);
        g_block = Barrier{};
        g_warps.assign((n + 31) / 32, Barrier{});
        for (Fiber& f : g_fibers) {
          getcontext(&f.ctx);
          f.ctx.uc_stack.ss_sp = f.stack.data();
          f.ctx.uc_stack.ss_size = f.stack.size();
          f.ctx.uc_link = &g_sched;
          makecontext(&f.ctx, trampoline, 0);
          f.done = false;
        }
        g_live = n;
        while (g_live > 0) {
          const uint64_t before = g_progress;
          for (size_t t = 0; t < n; ++t) {
            if (g_fibers[t].done) continue;
            g_current = t;
            thread_idx = dim3(unsigned(t % block.x), unsigned(t / block.x % block.y), unsigned(t / block.x / block.y));
            swapcontext(&g_sched, &g_fibers[t].ctx);
            if (g_fibers[t].done) {
              --g_live;
              ++g_progress;
            }
          }
          if (g_live > 0 && g_progress == before) {
            std::fprintf(stderr,
                         "cuda_emu: deadlock in block (%u, %u, %u): %zu threads wait at a barrier (__syncthreads or a "
                         "warp intrinsic) that the other threads of its block or warp never reach\n",
                         bx, by, bz, g_live);
            std::abort();
          }
        }
      }
}

}  // namespace simsage_emu

namespace simsage {
// The backend registry sees one device, so the family's dispatch code (its cpu/*.cpp files that
// mention SIMSAGE_WITH_CUDA, recompiled by run.sh with it defined) sends calls to the emulated twins.
BackendStatus probe_cuda_backend() {
  BackendStatus s;
  s.cuda_built = true;
  s.cuda_available = true;
  CudaDeviceInfo d;
  d.name = "cuda_emu (CPU emulation)";
  d.total_memory = size_t(16) << 30;
  d.compute_major = 9;
  s.devices.push_back(d);
  return s;
}
}  // namespace simsage

namespace simsage::cuda {

void throw_cuda(cudaError_t err, const char* what, const char* file, int line) {
  throw_error(err == cudaErrorMemoryAllocation ? ErrorCode::OutOfMemory : ErrorCode::Cuda,
              std::string("emulated CUDA error in ") + what + " (" + file + ":" + std::to_string(line) + ")");
}
void select_device() {}
void synchronize() {}
void* device_alloc(size_t bytes) {
  if (bytes == 0) return nullptr;
  if (bytes > (size_t(16) << 30)) throw_cuda(cudaErrorMemoryAllocation, "cudaMalloc", __FILE__, __LINE__);
  void* p = std::malloc(bytes);
  if (!p) throw_cuda(cudaErrorMemoryAllocation, "cudaMalloc", __FILE__, __LINE__);
  std::memset(p, 0xFF, bytes);  // NaN: a kernel that reads memory it never wrote shows it
  return p;
}
void device_free(void* p) noexcept { std::free(p); }
void copy_to_device(void* dst, const void* src, size_t bytes) {
  if (bytes) std::memcpy(dst, src, bytes);
}
void copy_to_host(void* dst, const void* src, size_t bytes) {
  if (bytes) std::memcpy(dst, src, bytes);
}
void copy_on_device(void* dst, const void* src, size_t bytes) {
  if (bytes) std::memmove(dst, src, bytes);
}
void fill_zero(void* dst, size_t bytes) {
  if (bytes) std::memset(dst, 0, bytes);
}
int sm_count() { return 4; }
size_t max_shared_per_block() { return 227 * 1024; }

}  // namespace simsage::cuda

#include "check.h"

int main() { return simsage_test::run_all(); }
