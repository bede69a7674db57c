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

#include "core/cuda/check.cuh"
#include "core/cuda/runtime.h"
#include "core/error.h"

namespace simsage_emu {

dim3 thread_idx, block_idx, block_dim, grid_dim;

namespace {

struct Fiber {
  ucontext_t ctx;
  std::vector<char> stack;
  bool done = false;
};
ucontext_t g_sched;
std::vector<Fiber> g_fibers;
size_t g_current = 0;
const std::function<void()>* g_body = nullptr;

void trampoline() {
  (*g_body)();
  g_fibers[g_current].done = true;
}  // returns to uc_link (the scheduler)

}  // namespace

void sync_threads() { swapcontext(&g_fibers[g_current].ctx, &g_sched); }

void run_grid(dim3 grid, dim3 block, const std::function<void()>& body) {
  const size_t n = size_t(block.x) * block.y * block.z;
  block_dim = block;
  grid_dim = grid;
  g_body = &body;
  g_fibers.resize(n);
  for (Fiber& f : g_fibers) f.stack.resize(256 * 1024);
  for (unsigned bz = 0; bz < grid.z; ++bz)
    for (unsigned by = 0; by < grid.y; ++by)
      for (unsigned bx = 0; bx < grid.x; ++bx) {
        block_idx = dim3(bx, by, bz);
        for (Fiber& f : g_fibers) {
          getcontext(&f.ctx);
          f.ctx.uc_stack.ss_sp = f.stack.data();
          f.ctx.uc_stack.ss_size = f.stack.size();
          f.ctx.uc_link = &g_sched;
          makecontext(&f.ctx, trampoline, 0);
          f.done = false;
        }
        for (;;) {  // one round: every live thread runs to its next __syncthreads() or its end
          size_t finished = 0, waiting = 0;
          for (size_t t = 0; t < n; ++t) {
            if (g_fibers[t].done) continue;
            g_current = t;
            thread_idx = dim3(unsigned(t % block.x), unsigned(t / block.x % block.y), unsigned(t / block.x / block.y));
            swapcontext(&g_sched, &g_fibers[t].ctx);
            (g_fibers[t].done ? finished : waiting) += 1;
          }
          if (waiting == 0) break;
          if (finished > 0) {
            std::fprintf(stderr, "cuda_emu: __syncthreads() not reached by every thread of a block\n");
            std::abort();
          }
        }
      }
}

}  // namespace simsage_emu

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
