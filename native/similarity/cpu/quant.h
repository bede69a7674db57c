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
// the row is unit length and the i8 scale is chosen so that the decoded row is (1 / |code|). A row
// so small that max|x| / 127 underflows takes the smallest subnormal as its scale.
// Returns false when an f16 code overflows (|x| >= 65520).
bool encode_row(Storage s, const float* x, int64_t dim, bool cosine_unit, void* codes, float* scale);

// i8 with per-dimension scales (similarity.h): scales learned from `count` rows (count x dim):
// s_d = max_r |x_rd| / 127, at least kMinDimScale; a dimension that is zero in every row takes the
// largest s_d (so later values there stay representable); all rows zero: every s_d = 1 / 127.
void learn_dim_scales(const float* rows, int64_t count, int64_t dim, float* scales);

// Largest per-dimension scale a store takes (set_dim_scales): a learned one is at most this, since an
// ip / l2 value has |x| < 2^62 (similarity.h) and a cosine one |x| <= 1. It keeps the folded query
// q_d s_d (|q| < 2^62) finite.
constexpr float kMaxDimScale = static_cast<float>(0x1p62 / 127.0);
// Smallest per-dimension scale a store takes or learns: a cosine row's scale 1 / |s c| stays finite
// (a scale at the smallest subnormal made it +inf, found by fuzz_vector_store_coded). Learned scales
// are raised to it: values below 127 * 2^-100 (~1e-28) in a dimension quantise to zero.
constexpr float kMinDimScale = 0x1p-100f;

// One row -> coded_dim(dim, I8) codes c_d = round(x_d / s_d) clamped to [-127, 127] (padding zero)
// and its row scale: 1, or for cosine_unit 1 / |s * c| so the decoded row s_d c_d r is unit length
// (0 for a zero row). Returns how many values saturated (round(x_d / s_d) outside [-127, 127]).
int64_t encode_row_i8_dims(const float* x, int64_t dim, const float* dim_scales, bool cosine_unit, int8_t* codes,
                           float* row_scale);

// Element (r, d) of a coded panel corpus: index into the element array (see similarity.h).
inline int64_t coded_index(int64_t r, int64_t d, int64_t cdim, int g) {
  return (r / kPanel) * cdim * kPanel + (d / g) * kPanel * g + (r % kPanel) * g + d % g;
}

// Decoded value of code element `e` (i8: times the row scale).
float decode_element(Storage s, const void* coded, int64_t e, float scale);

}  // namespace cpu
}  // namespace similarity
}  // namespace simsage
