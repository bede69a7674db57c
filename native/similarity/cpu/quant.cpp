// Reduced-precision storage: names, layout sizes, and the scalar encoders / decoders (quant.h).
#include "similarity/cpu/quant.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "core/error.h"

namespace simsage {

const char* storage_name(Storage s) {
  switch (s) {
    case Storage::F32:
      return "f32";
    case Storage::BF16:
      return "bf16";
    case Storage::F16:
      return "f16";
    case Storage::I8:
      return "i8";
  }
  return "f32";
}

Storage parse_storage(const char* name) {
  std::string s = name ? name : "";
  if (s == "f32") return Storage::F32;
  if (s == "bf16") return Storage::BF16;
  if (s == "f16") return Storage::F16;
  if (s == "i8") return Storage::I8;
  throw_error(ErrorCode::InvalidArgument, "unknown storage type '" + s + "' (expected 'f32', 'bf16', 'f16' or 'i8')");
}

int storage_group(Storage s) { return s == Storage::BF16 ? 2 : s == Storage::I8 ? 4 : 1; }
int storage_bytes(Storage s) { return s == Storage::F32 ? 4 : s == Storage::I8 ? 1 : 2; }
int64_t coded_dim(int64_t dim, Storage s) {
  const int g = storage_group(s);
  return (dim + g - 1) / g * g;
}

namespace similarity {
namespace cpu {

namespace {
uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
}  // namespace

uint16_t f32_to_bf16(float x) {
  uint32_t u = bits(x);
  u += 0x7FFFu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}

float bf16_to_f32(uint16_t h) { return from_bits(static_cast<uint32_t>(h) << 16); }

// After F. Giesen's float_to_half_fast3_rtne: subnormal results through one float addition (exact
// round-to-nearest-even by the FPU), normal ones by integer rounding of the mantissa.
uint16_t f32_to_f16(float x) {
  uint32_t f = bits(x);
  const uint32_t sign = f & 0x80000000u;
  f ^= sign;
  uint16_t o;
  if (f >= (127u + 16u) << 23) {  // >= 65536 (or inf / nan)
    o = f > (255u << 23) ? 0x7E00 : 0x7C00;
  } else if (f < (113u << 23)) {  // result subnormal or zero
    const float magic = from_bits(((127u - 15u) + (23u - 10u) + 1u) << 23);
    o = static_cast<uint16_t>(bits(from_bits(f) + magic) - bits(magic));
  } else {
    const uint32_t odd = (f >> 13) & 1u;
    f += ((15u - 127u) << 23) + 0xFFFu;
    f += odd;
    o = static_cast<uint16_t>(f >> 13);
  }
  return static_cast<uint16_t>(o | (sign >> 16));
}

float f16_to_f32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t e = (h >> 10) & 0x1Fu, m = h & 0x3FFu;
  if (e == 0) {
    const float v = static_cast<float>(m) * 0x1p-24f;
    return sign ? -v : v;
  }
  if (e == 31) return from_bits(sign | 0x7F800000u | (m << 13));
  return from_bits(sign | ((e + 112u) << 23) | (m << 13));
}

bool encode_row(Storage s, const float* x, int64_t dim, bool cosine_unit, void* codes, float* scale) {
  const int64_t cdim = coded_dim(dim, s);
  if (s == Storage::BF16 || s == Storage::F16) {
    uint16_t* c = static_cast<uint16_t*>(codes);
    bool ok = true;
    for (int64_t d = 0; d < cdim; ++d) {
      const float v = d < dim ? x[d] : 0.f;
      c[d] = s == Storage::BF16 ? f32_to_bf16(v) : f32_to_f16(v);
      if (s == Storage::F16 && (c[d] & 0x7FFFu) == 0x7C00u) ok = false;
    }
    return ok;
  }
  // i8: symmetric per-vector scale.
  int8_t* c = static_cast<int8_t*>(codes);
  float amax = 0.f;
  for (int64_t d = 0; d < dim; ++d) amax = std::max(amax, std::fabs(x[d]));
  if (amax == 0.f) {
    for (int64_t d = 0; d < cdim; ++d) c[d] = 0;
    *scale = 0.f;
    return true;
  }
  // amax below ~64 x the smallest subnormal: max|x| / 127 underflows to 0 (and x / 0 would be NaN
  // for the zeros); the smallest subnormal codes such a row exactly.
  float sc = static_cast<float>(static_cast<double>(amax) / 127.0);
  if (sc == 0.f) sc = std::numeric_limits<float>::denorm_min();
  double ss = 0;
  for (int64_t d = 0; d < cdim; ++d) {
    double q = d < dim ? std::nearbyint(static_cast<double>(x[d]) / sc) : 0.0;
    q = q > 127 ? 127 : q < -127 ? -127 : q;
    c[d] = static_cast<int8_t>(q);
    ss += q * q;
  }
  *scale = cosine_unit ? (ss > 0 ? static_cast<float>(1.0 / std::sqrt(ss)) : 0.f) : sc;
  return true;
}

void learn_dim_scales(const float* rows, int64_t count, int64_t dim, float* scales) {
  float top = 0.f;
  for (int64_t d = 0; d < dim; ++d) {
    float amax = 0.f;
    for (int64_t r = 0; r < count; ++r) amax = std::max(amax, std::fabs(rows[r * dim + d]));
    scales[d] = static_cast<float>(static_cast<double>(amax) / 127.0);
    top = std::max(top, scales[d]);
  }
  if (top == 0.f) top = 1.f / 127.f;
  for (int64_t d = 0; d < dim; ++d) {
    if (scales[d] == 0.f) scales[d] = top;
    scales[d] = std::max(scales[d], kMinDimScale);
  }
}

int64_t encode_row_i8_dims(const float* x, int64_t dim, const float* dim_scales, bool cosine_unit, int8_t* codes,
                           float* row_scale) {
  const int64_t cdim = coded_dim(dim, Storage::I8);
  int64_t saturated = 0;
  double ss = 0;
  for (int64_t d = 0; d < cdim; ++d) {
    double q = d < dim ? std::nearbyint(static_cast<double>(x[d]) / dim_scales[d]) : 0.0;
    if (q > 127 || q < -127) ++saturated;
    q = q > 127 ? 127 : q < -127 ? -127 : q;
    codes[d] = static_cast<int8_t>(q);
    if (d < dim) ss += q * dim_scales[d] * (q * dim_scales[d]);
  }
  *row_scale = !cosine_unit ? 1.f : ss > 0 ? static_cast<float>(1.0 / std::sqrt(ss)) : 0.f;
  return saturated;
}

float decode_element(Storage s, const void* coded, int64_t e, float scale) {
  switch (s) {
    case Storage::BF16:
      return bf16_to_f32(static_cast<const uint16_t*>(coded)[e]);
    case Storage::F16:
      return f16_to_f32(static_cast<const uint16_t*>(coded)[e]);
    case Storage::I8:
      return scale * static_cast<float>(static_cast<const int8_t*>(coded)[e]);
    case Storage::F32:
      return static_cast<const float*>(coded)[e];
  }
  return 0.f;
}

}  // namespace cpu
}  // namespace similarity
}  // namespace simsage
