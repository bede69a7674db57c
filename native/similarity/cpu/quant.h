// Scalar encoders and decoders of the reduced-precision storage types (similarity.h), compiled once
// in the baseline TU quant.cpp. The search kernels decode with their own SIMD trait (core/simd);
// these are the reference the tests check them against, and what VectorStore uses to encode.
#pragma once
#include <cstdint>

#include "similarity/similarity.h"

namespace simsage {
namespace similarity {
namespace cpu {

uint16_t f32_to_bf16(float x);  // round to nearest even (x finite)
float bf16_to_f32(uint16_t h);
uint16_t f32_to_f16(float x);  // round to nearest even; overflow gives +-inf (0x7c00 | sign)
float f16_to_f32(uint16_t h);

// One row of dim values -> cdim = coded_dim(dim, s) codes in row order (padding zero), written to
// `codes` (uint16_t for bf16 / f16, int8_t for i8). i8 also returns its scale in *scale; cosine_unit:
// the row is unit length and the i8 scale is chosen so that the decoded row is (1 / |code|).
// Returns false when an f16 code overflows (|x| >= 65520).
bool encode_row(Storage s, const float* x, int64_t dim, bool cosine_unit, void* codes, float* scale);

// Element (r, d) of a coded panel corpus: index into the element array (see similarity.h).
inline int64_t coded_index(int64_t r, int64_t d, int64_t cdim, int g) {
  return (r / kPanel) * cdim * kPanel + (d / g) * kPanel * g + (r % kPanel) * g + d % g;
}

// Decoded value of code element `e` (i8: times the row scale).
float decode_element(Storage s, const void* coded, int64_t e, float scale);

}  // namespace cpu
}  // namespace similarity
}  // namespace simsage
