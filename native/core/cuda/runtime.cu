#include <cstdint>
#include <string>

#include "core/backend.h"
#include "core/cuda/check.cuh"
#include "core/cuda/runtime.h"
#include "core/error.h"

namespace simsage::cuda {

void throw_cuda(cudaError_t err, const char* what, const char* file, int line) {
  cudaGetLastError();  // clear a non-sticky error so the next call starts clean
  const std::string msg = std::string("CUDA error in ") + what + " (" + file + ":" + std::to_string(line) +
                          "): " + cudaGetErrorName(err) + ": " + cudaGetErrorString(err);
  throw_error(err == cudaErrorMemoryAllocation ? ErrorCode::OutOfMemory : ErrorCode::Cuda, msg);
}

void select_device() {
  thread_local bool selected = false;
  if (selected) return;
  const BackendStatus& s = backend_status();
  need(s.cuda_available, ErrorCode::Cuda, "cuda", "no CUDA device: " + s.cuda_message);
  SIMSAGE_CUDA_CHECK(cudaSetDevice(s.devices.front().index));
  selected = true;
}

void synchronize() { SIMSAGE_CUDA_CHECK(cudaStreamSynchronize(stream())); }

void* device_alloc(size_t bytes) {
  if (bytes == 0) return nullptr;
  select_device();
  void* p = nullptr;
  SIMSAGE_CUDA_CHECK(cudaMalloc(&p, bytes));
  return p;
}

void device_free(void* p) noexcept {
  if (p) cudaFree(p);  // errors here would only repeat an earlier fault; never throw from a destructor
}

void copy_to_device(void* dst, const void* src, size_t bytes) {
  if (bytes) SIMSAGE_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream()));
}

void copy_to_host(void* dst, const void* src, size_t bytes) {
  if (bytes) SIMSAGE_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream()));
  synchronize();
}

void copy_on_device(void* dst, const void* src, size_t bytes) {
  if (bytes) SIMSAGE_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream()));
}

void fill_zero(void* dst, size_t bytes) {
  if (bytes) SIMSAGE_CUDA_CHECK(cudaMemsetAsync(dst, 0, bytes, stream()));
}

namespace {
const cudaDeviceProp& props() {
  static const cudaDeviceProp p = [] {
    select_device();
    cudaDeviceProp q{};
    int dev = 0;
    SIMSAGE_CUDA_CHECK(cudaGetDevice(&dev));
    SIMSAGE_CUDA_CHECK(cudaGetDeviceProperties(&q, dev));
    return q;
  }();
  return p;
}
}  // namespace

int sm_count() { return props().multiProcessorCount; }
size_t max_shared_per_block() { return props().sharedMemPerBlockOptin; }

}  // namespace simsage::cuda
