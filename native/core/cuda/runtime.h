// The CUDA runtime seam every family's CUDA code shares: device selection, device memory, copies and
// errors. A plain C++ header (no CUDA types), so C++ tests and benchmarks include it; the definitions
// are in runtime.cu, built only when CMake finds a CUDA compiler (SIMSAGE_WITH_CUDA). Every call runs
// on the calling thread's per-thread default stream (cudaStreamPerThread), so calls from different
// threads (the addon's async workers) do not serialise on one stream; copies back to the host
// synchronise that stream. Every CUDA error becomes a simsage::Error (ERR_SIMSAGE_CUDA, or
// ERR_SIMSAGE_OUT_OF_MEMORY for a failed allocation), never an abort.
#pragma once
#include <cstddef>
#include <cstdint>
#include <utility>

namespace simsage::cuda {

// Makes device 0 current on this thread (once per thread). Throws ERR_SIMSAGE_CUDA when no device answers.
void select_device();

// Waits for this thread's stream; throws the first error a kernel on it raised.
void synchronize();

void* device_alloc(size_t bytes);  // ERR_SIMSAGE_OUT_OF_MEMORY when the device is full; 0 bytes: nullptr
void device_free(void* p) noexcept;
void copy_to_device(void* dst, const void* src, size_t bytes);  // stream-ordered
void copy_to_host(void* dst, const void* src, size_t bytes);    // synchronises the stream
void copy_on_device(void* dst, const void* src, size_t bytes);  // stream-ordered
void fill_zero(void* dst, size_t bytes);                        // stream-ordered

// The device's multiprocessor count and shared memory per block opt-in limit (bytes).
int sm_count();
size_t max_shared_per_block();

// Device memory owned by one object: freed in the destructor, moved not copied.
template <class T>
class DeviceArray {
 public:
  DeviceArray() = default;
  explicit DeviceArray(size_t n) { resize(n); }
  ~DeviceArray() { device_free(p_); }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;
  DeviceArray(DeviceArray&& o) noexcept : p_(std::exchange(o.p_, nullptr)), n_(std::exchange(o.n_, 0)) {}
  DeviceArray& operator=(DeviceArray&& o) noexcept {
    if (this != &o) {
      device_free(p_);
      p_ = std::exchange(o.p_, nullptr);
      n_ = std::exchange(o.n_, 0);
    }
    return *this;
  }

  // Discards the contents unless n == size().
  void resize(size_t n) {
    if (n == n_) return;
    device_free(p_);
    p_ = nullptr;
    n_ = 0;
    p_ = static_cast<T*>(device_alloc(n * sizeof(T)));
    n_ = n;
  }
  // Grows to at least n elements (contents discarded when it grows).
  void reserve(size_t n) {
    if (n > n_) resize(n);
  }
  void upload(const T* host, size_t n, size_t offset = 0) { copy_to_device(p_ + offset, host, n * sizeof(T)); }
  void download(T* host, size_t n, size_t offset = 0) const { copy_to_host(host, p_ + offset, n * sizeof(T)); }
  void zero() { fill_zero(p_, n_ * sizeof(T)); }

  T* data() { return p_; }
  const T* data() const { return p_; }
  size_t size() const { return n_; }
  size_t bytes() const { return n_ * sizeof(T); }

 private:
  T* p_ = nullptr;
  size_t n_ = 0;
};

// Uploads a host array into a new device array (n elements; nullptr host with n == 0 is fine).
template <class T>
DeviceArray<T> to_device(const T* host, size_t n) {
  DeviceArray<T> d(n);
  if (n) d.upload(host, n);
  return d;
}

}  // namespace simsage::cuda
