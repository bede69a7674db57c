// The temporal family: causal dilated 1-D convolution (forward and backward), the residual temporal
// block of a TCN (Bai, Kolter & Koltun 2018), batched TCN streaming with serialisable per-stream
// state; and the GRU (its own section at the end of this file).
//
// Layout: sequences are channels-last, x is B x T x C row-major (batch, time, channels), like the
// GRU's B x T x D and the nn family's batch x features rows. A causal tap with shift
// s = (K-1-k)*d is then a GEMM whose A operand is x offset by s rows; zero left padding is "rows
// before the sequence start read as zero". The kernels fold the K taps into one reduction of length
// K*C_in: the A tile packer gathers the K shifted rows (an im2col that only ever lives in the packed
// register tile, never in memory) and W is packed once per call as the B operand, so every output
// element is accumulated in registers over all taps and written once.
// Weights follow PyTorch's Conv1d: W is C_out x C_in x K, bias C_out.
//
//   causal conv:  y[b, t, o] = bias[o] + sum_k sum_c W[o, c, k] * x[b, t - (K-1-k)*d, c]
//                 (terms with a negative time index are zero)
//
// Outputs are caller-provided and overwritten unless a params struct says `accumulate`. Shapes and
// pointers are checked: ERR_SIMSAGE_INVALID_ARGUMENT for a kernel size or dilation < 1, a null
// pointer or a bad option; ERR_SIMSAGE_DIM_MISMATCH for a bad shape. Data values are not scanned
// for NaN (as the nn family: one pass less per call; NaN propagates to the outputs).
//
// Each entry point runs the SIMD level active_simd_level(); the `_at` forms pick one (tests; an
// unsupported level steps down). Work is split over the thread pool in tasks whose edges depend
// only on the shapes, and every output element is computed by one task in a fixed order, so
// results do not depend on the thread count. Packing buffers are reused across calls.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/cpu_features.h"

namespace simsage {

// ---- causal dilated conv1d ----------------------------------------------------------------------

struct Conv1dParams {
  int64_t batch = 0;         // B >= 0
  int64_t steps = 0;         // T >= 0
  int64_t in_channels = 0;   // C_in >= 1
  int64_t out_channels = 0;  // C_out >= 1
  int64_t kernel_size = 1;   // K >= 1
  int64_t dilation = 1;      // d >= 1
  const float* x = nullptr;  // B x T x C_in
  const float* w = nullptr;  // C_out x C_in x K
  const float* b = nullptr;  // C_out, or null (no bias)
  float* y = nullptr;        // B x T x C_out
  bool relu = false;         // y = max(conv, 0), fused into the epilogue
  int threads = 0;           // <= 0: default_threads()
};
void conv1d_check(const Conv1dParams& p);
void conv1d_forward(const Conv1dParams& p);
void conv1d_forward_at(SimdLevel level, const Conv1dParams& p);
// Plain loops with double accumulation (relu honoured): ground truth for tests.
void conv1d_reference(const Conv1dParams& p);

// From dL/dY:
//   dx[b, u, c]  = sum_k sum_o dy[b, u + (K-1-k)*d, o] * W[o, c, k]      (rows past T are zero)
//   dW[o, c, k]  = sum_b sum_t dy[b, t, o] * x[b, t - (K-1-k)*d, c]
//   db[o]        = sum_b sum_t dy[b, t, o]
// Any of dx, dw, db may be null to skip it. With accumulate, dw and db are added to; with
// accumulate_dx, dx is added to (a residual branch's gradient already there); otherwise overwritten.
struct Conv1dBackwardParams {
  int64_t batch = 0, steps = 0, in_channels = 0, out_channels = 0, kernel_size = 1, dilation = 1;
  const float* x = nullptr;   // B x T x C_in, the forward input (needed for dw)
  const float* w = nullptr;   // C_out x C_in x K (needed for dx)
  const float* dy = nullptr;  // B x T x C_out
  float* dx = nullptr;        // B x T x C_in or null
  float* dw = nullptr;        // C_out x C_in x K or null
  float* db = nullptr;        // C_out or null
  bool accumulate = false;
  bool accumulate_dx = false;
  int threads = 0;
};
void conv1d_backward_check(const Conv1dBackwardParams& p);
void conv1d_backward(const Conv1dBackwardParams& p);
void conv1d_backward_at(SimdLevel level, const Conv1dBackwardParams& p);
void conv1d_backward_reference(const Conv1dBackwardParams& p);

// ---- residual temporal block --------------------------------------------------------------------

// One block of Bai et al.'s TCN (without weight norm):
//   a1  = dropout(relu(conv1(x)))            conv1: C_in -> C_out, kernel K, dilation d
//   a2  = dropout(relu(conv2(a1)))           conv2: C_out -> C_out, kernel K, dilation d
//   res = x if C_in == C_out, else x Wd^T + bd (a 1x1 projection, Wd C_out x C_in)
//   y   = relu(a2 + res)
// Dropout (training and p > 0 only) zeroes an element with probability p and scales the rest by
// 1 / (1 - p); the mask is a hash of (seed, which conv, element index), so it is the same on every
// machine and thread count. a1 and a2 are saved for the backward; bias pointers may be null.
struct TemporalBlockParams {
  int64_t batch = 0, steps = 0, in_channels = 0, out_channels = 0, kernel_size = 1, dilation = 1;
  const float* x = nullptr;                  // B x T x C_in
  const float *w1 = nullptr, *b1 = nullptr;  // C_out x C_in x K, C_out
  const float *w2 = nullptr, *b2 = nullptr;  // C_out x C_out x K, C_out
  const float *wd = nullptr, *bd = nullptr;  // C_out x C_in, C_out; required iff C_in != C_out
  float dropout = 0.f;                       // in [0, 1)
  bool training = false;                     // dropout on
  uint64_t seed = 0;                         // dropout mask
  float* a1 = nullptr;                       // B x T x C_out (saved for backward)
  float* a2 = nullptr;                       // B x T x C_out (saved for backward)
  float* y = nullptr;                        // B x T x C_out
  int threads = 0;
};
void temporal_block_check(const TemporalBlockParams& p);
void temporal_block_forward(const TemporalBlockParams& p);
void temporal_block_forward_at(SimdLevel level, const TemporalBlockParams& p);

// Backward of temporal_block_forward from the saved a1, a2, y and dL/dy. Gradients of the weights
// and biases (each nullable) are overwritten, or added to with accumulate; dx (nullable) is
// overwritten. The dropout masks are recovered from a1, a2 (a kept element of a relu output is
// > 0 exactly when its gradient passes), so the seed is not needed.
struct TemporalBlockBackwardParams {
  int64_t batch = 0, steps = 0, in_channels = 0, out_channels = 0, kernel_size = 1, dilation = 1;
  const float* x = nullptr;
  const float *w1 = nullptr, *w2 = nullptr, *wd = nullptr;
  const float *a1 = nullptr, *a2 = nullptr, *y = nullptr;  // from the forward
  const float* dy = nullptr;                               // B x T x C_out
  float dropout = 0.f;
  bool training = false;  // as in the forward
  float* dx = nullptr;    // B x T x C_in or null
  float *dw1 = nullptr, *db1 = nullptr, *dw2 = nullptr, *db2 = nullptr, *dwd = nullptr, *dbd = nullptr;
  bool accumulate = false;
  int threads = 0;
};
void temporal_block_backward_check(const TemporalBlockBackwardParams& p);
void temporal_block_backward(const TemporalBlockBackwardParams& p);
void temporal_block_backward_at(SimdLevel level, const TemporalBlockBackwardParams& p);

// ---- TCN streaming ------------------------------------------------------------------------------

// The weights of one block of a TCN (pointers as TemporalBlockParams; copied by TcnStreamer).
struct TcnBlockWeights {
  int64_t in_channels = 0, out_channels = 0, dilation = 1;
  const float *w1 = nullptr, *b1 = nullptr, *w2 = nullptr, *b2 = nullptr, *wd = nullptr, *bd = nullptr;
};

// Eval-mode (no dropout) incremental TCN over many independent streams. Each stream keeps, for
// every conv, a ring of its last (K-1)*d input rows (zero-initialised: the causal padding) and a
// step count. step() consumes one time step for a set of streams and returns each one's output for
// that step, equal to the full-sequence forward at the same position. Per conv and tap, the rows
// of all stepping streams are gathered into one matrix and multiplied by the packed weights in one
// GEMM. The weights are snapshotted (packed) at construction: later changes to the caller's
// arrays do not affect the streamer.
//
// Serialised state of one stream (little-endian):
//   "STCNSTRM" | u32 version (1) | u64 model fingerprint | u64 step count | u64 float count
//   | float32 ring contents | u32 CRC-32 (IEEE) of everything before it.
// restore(): a short or corrupt blob -> ERR_SIMSAGE_CORRUPT_FILE; a blob from a model with other
// sizes, kernel size or dilations (fingerprint) -> ERR_SIMSAGE_STATE_MISMATCH.
class TcnStreamer {
 public:
  TcnStreamer(int64_t kernel_size, const std::vector<TcnBlockWeights>& blocks, int64_t streams);
  ~TcnStreamer();
  TcnStreamer(const TcnStreamer&) = delete;
  TcnStreamer& operator=(const TcnStreamer&) = delete;

  int64_t streams() const { return streams_; }
  int64_t input_size() const { return input_size_; }
  int64_t output_size() const { return output_size_; }
  uint64_t fingerprint() const { return fingerprint_; }
  // Bytes held (rings, packed weights, scratch).
  size_t native_bytes() const;

  // x: rows x input_size; y: rows x output_size. active: rows distinct stream indices (row r is
  // stream active[r]), or null for all streams (rows == streams).
  void step(const float* x, int64_t rows, const int32_t* active, float* y, int threads = 0);
  void step_at(SimdLevel level, const float* x, int64_t rows, const int32_t* active, float* y, int threads = 0);
  void reset(int64_t stream);  // back to the empty history
  void reset_all();
  int64_t position(int64_t stream) const;  // steps consumed since the last reset / restore
  size_t state_size() const;               // bytes of save()
  std::vector<uint8_t> save(int64_t stream) const;
  void restore(int64_t stream, const uint8_t* data, size_t size);

 private:
  struct Impl;
  Impl* impl_ = nullptr;
  int64_t streams_ = 0, input_size_ = 0, output_size_ = 0;
  uint64_t fingerprint_ = 0;
};

// CRC-32 (IEEE 802.3, reflected, as zlib's crc32) of n bytes, continuing from crc (0 to start).
uint32_t crc32_update(uint32_t crc, const uint8_t* data, size_t n);

}  // namespace simsage
