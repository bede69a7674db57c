// The temporal family: sequence kernels for next-item recommendation (HierTCN, You et al. WWW 2019)
// and their streaming forms for serving.
//
// Layouts: every tensor is dense and row-major. Outputs are caller-provided and overwritten unless
// a params struct says they are added to. Shapes and pointers are checked: ERR_SIMSAGE_DIM_MISMATCH
// for a bad shape, ERR_SIMSAGE_INVALID_ARGUMENT for a null pointer or bad option,
// ERR_SIMSAGE_NON_FINITE for NaN/Inf in a checked input.
#pragma once
#include <cstddef>
#include <cstdint>

#include "core/cpu_features.h"

namespace simsage {

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
