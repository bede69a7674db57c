// Argument checks of the GRU entry points: sizes, pointers, stream indices and finite inputs.
#include "temporal/cpu/gru_checks.h"

#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/finite.h"

namespace simsage {

namespace {

constexpr int64_t kMaxDim = int64_t(1) << 24;  // a bound that keeps every size product in int64

void need_size(const char* fn, int64_t v, const char* name, int64_t min = 1) {
  need(v >= min && v <= kMaxDim, ErrorCode::DimMismatch, fn,
       std::string(name) + " must be in [" + std::to_string(min) + ", 2^24], got " + std::to_string(v));
}

void need_ptr(const char* fn, const void* p, const char* name) {
  need(p != nullptr, ErrorCode::InvalidArgument, fn, std::string(name) + " is null");
}

void need_finite(const char* fn, const float* data, int64_t n, const char* name) {
  if (!data) return;
  const int64_t at = find_non_finite(data, n);
  need(at < 0, ErrorCode::NonFinite, fn, std::string(name) + "[" + std::to_string(at) + "] is not finite");
}

void check_sequence(const char* fn, int64_t batch, int64_t steps, const GruWeights& w) {
  need_size(fn, batch, "batch");
  need_size(fn, steps, "steps");
  need(batch * steps <= (int64_t(1) << 31), ErrorCode::DimMismatch, fn, "batch * steps must be <= 2^31");
  need(batch * steps * 6 * w.hidden_size * w.layers <= (int64_t(1) << 40), ErrorCode::DimMismatch, fn,
       "the sequence is too large (workspace over 2^40 floats)");
}

}  // namespace

namespace temporal {
namespace cpu {

void check_gru_shape(const char* fn, const GruWeights& w) {
  need_size(fn, w.layers, "layers");
  need(w.layers <= 64, ErrorCode::DimMismatch, fn, "layers must be <= 64");
  need_size(fn, w.input_size, "input_size");
  need_size(fn, w.hidden_size, "hidden_size");
}

void check_gru_weights(const char* fn, const GruWeights& w) {
  check_gru_shape(fn, w);
  need_ptr(fn, w.tensors, "weights");
  static const char* const kNames[4] = {"weight_ih", "weight_hh", "bias_ih", "bias_hh"};
  for (int64_t i = 0; i < 4 * w.layers; ++i)
    need(w.tensors[i] != nullptr, ErrorCode::InvalidArgument, fn,
         std::string(kNames[i % 4]) + "_l" + std::to_string(i / 4) + " is null");
}

void check_gru_forward(const GruForwardParams& p) {
  const char* fn = "gru_forward";
  check_gru_weights(fn, p.w);
  check_sequence(fn, p.batch, p.steps, p.w);
  need_ptr(fn, p.x, "x");
  need_ptr(fn, p.y, "y");
  const int64_t B = p.batch, T = p.steps;
  need_finite(fn, p.x, B * T * p.w.input_size, "x");
  need_finite(fn, p.h0, p.w.layers * B * p.w.hidden_size, "h0");
  need_finite(fn, p.carry, B * T, "carry");
}

void check_gru_backward(const GruBackwardParams& p) {
  const char* fn = "gru_backward";
  check_gru_weights(fn, p.w);
  check_sequence(fn, p.batch, p.steps, p.w);
  need_ptr(fn, p.x, "x");
  need_ptr(fn, p.workspace, "workspace");
  need_ptr(fn, p.dy, "dy");
  if (p.grads.tensors)
    for (int64_t i = 0; i < 4 * p.w.layers; ++i) need_ptr(fn, p.grads.tensors[i], "a gradient tensor");
  need_finite(fn, p.dy, p.batch * p.steps * p.w.hidden_size, "dy");
  need_finite(fn, p.dh_n, p.w.layers * p.batch * p.w.hidden_size, "dh_n");
}

void check_gru_stream_step(const GruStreamStepParams& p) {
  const char* fn = "gru_stream_step";
  check_gru_weights(fn, p.w);
  need_size(fn, p.streams, "streams");
  need(p.streams <= (int64_t(1) << 31) - 1, ErrorCode::DimMismatch, fn, "streams must be < 2^31");
  need_size(fn, p.rows, "rows", 0);
  need_ptr(fn, p.state, "state");
  if (p.rows == 0) return;  // nothing steps
  if (!p.active) {
    need(p.rows == p.streams, ErrorCode::DimMismatch, fn,
         "without active indices rows (" + std::to_string(p.rows) + ") must equal streams (" +
             std::to_string(p.streams) + ")");
  } else {
    need(p.rows <= p.streams, ErrorCode::DimMismatch, fn, "more active rows than streams");
    std::vector<bool> seen(static_cast<size_t>(p.streams), false);
    for (int64_t i = 0; i < p.rows; ++i) {
      const int64_t s = p.active[i];
      need(s >= 0 && s < p.streams, ErrorCode::InvalidArgument, fn,
           "active[" + std::to_string(i) + "] = " + std::to_string(s) + " is not a stream index");
      need(!seen[static_cast<size_t>(s)], ErrorCode::InvalidArgument, fn,
           "stream " + std::to_string(s) + " is active twice");
      seen[static_cast<size_t>(s)] = true;
    }
  }
  need_ptr(fn, p.x, "x");
  need_ptr(fn, p.y, "y");
  need_finite(fn, p.x, p.rows * p.w.input_size, "x");
  need_finite(fn, p.carry, p.rows, "carry");
}

}  // namespace cpu
}  // namespace temporal
}  // namespace simsage
