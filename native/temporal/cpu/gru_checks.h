// Argument checks of the GRU entry points (temporal.h), shared by the drivers and the reference.
// Each throws simsage::Error: a bad size or shape -> DimMismatch, a null pointer or bad index ->
// InvalidArgument, NaN/Inf in a checked input -> NonFinite.
#pragma once
#include "temporal/temporal.h"

namespace simsage {
namespace temporal {
namespace cpu {

// Sizes only (tensors not looked at).
void check_gru_shape(const char* fn, const GruWeights& w);
// Sizes and the 4 * layers tensor pointers.
void check_gru_weights(const char* fn, const GruWeights& w);
void check_gru_forward(const GruForwardParams& p);
void check_gru_backward(const GruBackwardParams& p);
void check_gru_stream_step(const GruStreamStepParams& p);

}  // namespace cpu
}  // namespace temporal
}  // namespace simsage
