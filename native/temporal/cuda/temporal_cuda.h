// CUDA twins of the temporal family's causal dilated conv1d and TCN streaming (temporal.h), in
// namespace simsage::temporal::cuda with the CPU side's names and params structs. A plain C++ header
// (no CUDA types): tests, benchmarks and the CPU dispatcher (conv.cpp, under SIMSAGE_WITH_CUDA)
// include it. Definitions in conv.cu, conv_backward.cu and stream.cu, built only with nvcc.
//
// Two forms per entry point: `name(p)` takes HOST pointers exactly like the CPU function (uploads,
// runs, downloads; what the dispatcher calls); `name_device(p)` takes DEVICE pointers in the same
// struct (stream-ordered on cudaStreamPerThread, returns before the kernels finish). Both run the
// CPU's argument checks first, so bad input gets the CPU's coded errors; `threads` is ignored.
// FP32 on CUDA cores, accumulation in FP32 within a tile (dW and db are reduced over B*T in fixed
// row splits, so results are deterministic on a given device); results equal the CPU's within
// rounding (tests: relative 1e-4 of the output's scale).
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "temporal/temporal.h"

namespace simsage {
namespace temporal {
namespace cuda {

// The shapes the CUDA conv handles (channels <= 2^22, K * channels <= 2^30, fewer than 2^31 row
// tiles); the dispatcher runs the CPU path otherwise.
bool conv1d_supported(int64_t batch, int64_t steps, int64_t in_channels, int64_t out_channels, int64_t kernel_size);

// y = (relu)(causal conv(x) + b): an implicit GEMM over B*T rows x C_out with the K taps folded
// into a reduction of K*C_in (shared-memory tiles of x rows shifted by (K-1-k)*d; no im2col buffer).
void conv1d_forward(const Conv1dParams& p);
void conv1d_forward_device(const Conv1dParams& p);

// dx: the same implicit GEMM over dy with the shifts reversed; dW: per tap, dy^T x_shifted reduced
// over B*T in fixed row splits; db: column sums of dy. accumulate / accumulate_dx as the CPU.
void conv1d_backward(const Conv1dBackwardParams& p);
void conv1d_backward_device(const Conv1dBackwardParams& p);

// The twin of simsage::TcnStreamer (same constructor checks, same results within rounding, the same
// per-stream state blob byte for byte in format, so a state saved on one backend restores on the
// other). Per-stream rings (streams x state floats, the CPU's layout) and positions live on the
// device. One step at a time per streamer (not thread-safe).
class TcnStreamer {
 public:
  TcnStreamer(int64_t kernel_size, const std::vector<TcnBlockWeights>& blocks, int64_t streams);
  ~TcnStreamer();
  TcnStreamer(const TcnStreamer&) = delete;
  TcnStreamer& operator=(const TcnStreamer&) = delete;

  int64_t streams() const;
  int64_t input_size() const;
  int64_t output_size() const;
  uint64_t fingerprint() const;
  size_t native_bytes() const;  // device bytes held (state, weights, scratch)

  // Host pointers: x rows x input_size, y rows x output_size, active rows distinct stream indices
  // (or null: rows == streams); checked exactly as the CPU streamer checks them.
  void step(const float* x, int64_t rows, const int32_t* active, float* y);
  // Device pointers (x, active, y): the same shapes; `active` is trusted (distinct and in range;
  // an out-of-range index is skipped, never read or written). Stream-ordered, no synchronisation.
  void step_device(const float* x, int64_t rows, const int32_t* active, float* y);
  void reset(int64_t stream);
  void reset_all();
  int64_t position(int64_t stream) const;
  size_t state_size() const;
  std::vector<uint8_t> save(int64_t stream) const;
  void save_into(int64_t stream, uint8_t* out) const;  // state_size() bytes, the CPU's format
  void restore(int64_t stream, const uint8_t* data, size_t size);

 private:
  struct Impl;
  Impl* impl_ = nullptr;
};

}  // namespace cuda
}  // namespace temporal
}  // namespace simsage
