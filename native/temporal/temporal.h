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

#include "core/backend.h"
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
// Runs on CUDA (temporal/cuda/temporal_cuda.h, host pointers as here) when preferred_backend() is
// Cuda and the shapes are within the CUDA kernel's limits, else on the CPU at active_simd_level();
// returns the backend that ran. The `_at` forms are CPU-only.
Backend conv1d_forward(const Conv1dParams& p);
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
Backend conv1d_backward(const Conv1dBackwardParams& p);  // dispatched as conv1d_forward
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
  void save_into(int64_t stream, uint8_t* out) const;  // writes state_size() bytes
  void restore(int64_t stream, const uint8_t* data, size_t size);

 private:
  struct Impl;
  Impl* impl_ = nullptr;
  int64_t streams_ = 0, input_size_ = 0, output_size_ = 0;
  uint64_t fingerprint_ = 0;
};

// ---- GRU ----
//
// A multi-layer GRU with PyTorch's conventions (torch.nn.GRU, batch_first = True, bias = True), so
// weights load from and check against PyTorch. Per layer l, with input x_t (D features for l = 0,
// H otherwise) and previous state h:
//   r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
//   z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
//   n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
//   h' = (1 - z) * n + z * h
// Two optional per-step extras (both [B x T], row-major like the input's first two axes):
//   carry[b, t] (float): before step t of row b, every layer's previous state is multiplied by it
//     (0 resets the state: a new user in that batch slot; exp(-gap / tau) decays it between
//     sessions; 1 is a plain step). Gradients flow through the product (not into carry itself).
//   mask[b, t] (uint8): 0 skips step t of row b: every layer's state stays as it was (carry is not
//     applied either) and the output row is that state. Gradients pass through a skipped step.
//
// Work: per layer, the input projection of all B*T steps is one GEMM (nn/nn.h); each step then runs
// one recurrent GEMM h[B, H] W_hh^T and the fused gate math (SIMD per level, rows split over the
// thread pool in fixed chunks). The backward computes the weight gradients as GEMMs over all B*T
// rows. Results do not depend on the thread count.

// The parameters, in PyTorch's order: tensors[4 l + 0..3] = weight_ih_l{l} [3H, in_l],
// weight_hh_l{l} [3H, H], bias_ih_l{l} [3H], bias_hh_l{l} [3H], with in_0 = D and in_l = H for
// l > 0. Row blocks of the weights and biases are the gates r, z, n in that order.
struct GruWeights {
  int64_t layers = 0;                     // >= 1
  int64_t input_size = 0;                 // D >= 1
  int64_t hidden_size = 0;                // H >= 1
  const float* const* tensors = nullptr;  // 4 * layers pointers
};

// Gradients of the same tensors, in the same order (each added to, never overwritten).
struct GruGrads {
  float* const* tensors = nullptr;  // 4 * layers pointers
};

// Floats in tensor i (0 <= i < 4 * layers) of the parameter list above.
int64_t gru_tensor_size(const GruWeights& w, int64_t i);

// Floats the forward saves for the backward: layers * B * T * 6 * H. Per layer l, at
// workspace + l * B*T*6H: the gates [B, T, 4H] (r, z, n, W_hn h + b_hn per step), the previous
// states after carry [B, T, H], and the layer's outputs [B, T, H] (the top layer's copy is in y).
int64_t gru_workspace_size(int64_t layers, int64_t batch, int64_t steps, int64_t hidden_size);

struct GruForwardParams {
  GruWeights w;
  int64_t batch = 0;              // B >= 1
  int64_t steps = 0;              // T >= 1
  const float* x = nullptr;       // B x T x D
  const float* h0 = nullptr;      // layers x B x H, or null (zeros)
  const float* carry = nullptr;   // B x T, or null (all 1)
  const uint8_t* mask = nullptr;  // B x T, or null (all steps run)
  float* y = nullptr;             // B x T x H: the top layer's output per step
  float* h_n = nullptr;           // layers x B x H: every layer's state after the last step, or null
  // gru_workspace_size floats, kept for gru_backward; null: a reusable per-thread buffer is used
  // (no backward possible).
  float* workspace = nullptr;
  int threads = 0;  // <= 0: default_threads()
};
// NaN/Inf in x, h0 or carry -> ERR_SIMSAGE_NON_FINITE.
void gru_forward(const GruForwardParams& p);
void gru_forward_at(SimdLevel level, const GruForwardParams& p);

// Backpropagation through time of the forward that filled `workspace` (same w, x, carry, mask).
// From dy (dL/dy) and optionally dh_n (dL/dh_n), writes dx and dh0 (each optional) and adds the
// parameter gradients into grads. Temporaries (about B*T*7H floats) live in a reusable per-thread
// buffer.
struct GruBackwardParams {
  GruWeights w;
  int64_t batch = 0, steps = 0;
  const float* x = nullptr;          // B x T x D, the forward input
  const float* carry = nullptr;      // the forward's carry, or null
  const uint8_t* mask = nullptr;     // the forward's mask, or null
  const float* workspace = nullptr;  // as the forward left it
  const float* dy = nullptr;         // B x T x H
  const float* dh_n = nullptr;       // layers x B x H, or null (zeros)
  float* dx = nullptr;               // B x T x D, or null to skip
  float* dh0 = nullptr;              // layers x B x H, or null to skip
  GruGrads grads;                    // tensors may be null to skip the parameter gradients
  int threads = 0;
};
void gru_backward(const GruBackwardParams& p);
void gru_backward_at(SimdLevel level, const GruBackwardParams& p);

// Plain scalar forward in double precision, the ground truth for tests (same semantics, every
// pointer as in GruForwardParams; tensors are 4 * layers double arrays; h_n may be null).
struct GruReferenceParams {
  int64_t layers = 0, input_size = 0, hidden_size = 0, batch = 0, steps = 0;
  const double* const* tensors = nullptr;
  const double* x = nullptr;
  const double* h0 = nullptr;
  const double* carry = nullptr;
  const uint8_t* mask = nullptr;
  double* y = nullptr;
  double* h_n = nullptr;
};
void gru_reference(const GruReferenceParams& p);

// ---- GRU streaming: one step for many streams (serving) ----
//
// A stream's state is [layers, H] (every layer's last state); S streams are [S, layers, H]. One
// call steps `rows` streams by one input each and returns the top layer's new state, equal to the
// full forward at that position. `active` picks the streams (distinct indices in [0, S)); without
// it rows == S and stream i takes row i. `carry` (optional, per row) multiplies every layer's state
// before the step, as in the forward.
struct GruStreamStepParams {
  GruWeights w;
  int64_t streams = 0;              // S >= 1
  float* state = nullptr;           // S x layers x H, updated in place
  int64_t rows = 0;                 // >= 0
  const int32_t* active = nullptr;  // rows stream indices, or null (rows == S)
  const float* x = nullptr;         // rows x D
  const float* carry = nullptr;     // rows, or null
  float* y = nullptr;               // rows x H
  int threads = 0;
};
void gru_stream_step(const GruStreamStepParams& p);
void gru_stream_step_at(SimdLevel level, const GruStreamStepParams& p);

// The same step with the weights snapshotted once: the constructor copies the parameters and packs
// W_ih and W_hh of every layer into the nn GEMM's B-panel layout (per SIMD level, on first use), so
// a step runs the packed GEMM kernels directly: fixed chunks of rows (about 4K floats of state
// each) run every layer on one thread, a single chunk (a few streams) on the calling thread,
// with scratch reused across steps (no allocation per step once warm). step_at(level, p) ignores
// p.w (the snapshot is used) and otherwise takes, checks and returns exactly what
// gru_stream_step_at does, with the same results. One step at a time per streamer (not
// thread-safe); later changes to the caller's arrays do not affect it.
class GruStreamer {
 public:
  explicit GruStreamer(const GruWeights& w);  // bad shape or null tensor -> coded error
  ~GruStreamer();
  GruStreamer(const GruStreamer&) = delete;
  GruStreamer& operator=(const GruStreamer&) = delete;

  // The snapshot's shape and tensors (owned by the streamer).
  const GruWeights& weights() const;
  // Bytes held (weight copies, packed panels, scratch).
  size_t native_bytes() const;
  void step(const GruStreamStepParams& p);
  void step_at(SimdLevel level, const GruStreamStepParams& p);

 private:
  struct Impl;
  Impl* impl_ = nullptr;
};

// One stream's state as bytes: magic "SGRU", u32 version, u64 fingerprint of (layers, D, H), u32
// float count, the floats (little endian), u32 CRC-32 (IEEE) of everything before it. Restoring
// checks all of it: a short, long or damaged blob -> ERR_SIMSAGE_CORRUPT_FILE; a blob from a GRU of
// another shape -> ERR_SIMSAGE_STATE_MISMATCH. (The fingerprint covers the shape, not the weights.)
// These three read only the shape of w (its tensors may be null).
size_t gru_state_bytes(const GruWeights& w);
// Writes gru_state_bytes(w) bytes of state (layers x H floats) to out.
void gru_state_save(const GruWeights& w, const float* state, uint8_t* out);
// Reads a blob of `size` bytes into state (layers x H floats); state is untouched on error.
void gru_state_restore(const GruWeights& w, const uint8_t* bytes, size_t size, float* state);

}  // namespace simsage
