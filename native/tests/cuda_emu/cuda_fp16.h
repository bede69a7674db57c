// Stand-in for <cuda_fp16.h> in the CPU emulation (cuda_runtime.h here): __half as its bits, with the
// conversions the CUDA sources use, rounding to nearest even like the device instructions.
#pragma once
#include <cstdint>
#include <cstring>

struct __half {
  unsigned short bits;
};

inline float __half2float(__half h) {
  const uint32_t s = uint32_t(h.bits & 0x8000) << 16, e = (h.bits >> 10) & 0x1f, m = h.bits & 0x3ff;
  uint32_t f;
  if (e == 0) {
    if (m == 0) {
      f = s;
    } else {  // subnormal: normalise
      int shift = 0;
      uint32_t mm = m;
      while (!(mm & 0x400)) {
        mm <<= 1;
        ++shift;
      }
      f = s | uint32_t(127 - 15 - shift + 1) << 23 | (mm & 0x3ff) << 13;
    }
  } else if (e == 31) {
    f = s | 0x7f800000u | m << 13;
  } else {
    f = s | (e + 127 - 15) << 23 | m << 13;
  }
  float r;
  std::memcpy(&r, &f, 4);
  return r;
}

inline __half __float2half_rn(float x) {
  uint32_t f;
  std::memcpy(&f, &x, 4);
  const uint32_t s = (f >> 16) & 0x8000;
  const int32_t e = int32_t((f >> 23) & 0xff) - 127 + 15;
  uint32_t m = f & 0x7fffff;
  if (((f >> 23) & 0xff) == 0xff) return {static_cast<unsigned short>(s | 0x7c00 | (m ? 0x200 : 0))};
  if (e >= 31) return {static_cast<unsigned short>(s | 0x7c00)};
  if (e <= 0) {  // subnormal or zero in half
    if (e < -10) return {static_cast<unsigned short>(s)};
    m |= 0x800000;
    const int shift = 14 - e;
    uint32_t h = m >> shift;
    const uint32_t rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (h & 1))) ++h;
    return {static_cast<unsigned short>(s | h)};
  }
  uint32_t h = uint32_t(e) << 10 | m >> 13;
  const uint32_t rem = m & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) ++h;  // may carry into the exponent: still correct
  return {static_cast<unsigned short>(s | h)};
}

inline unsigned short __half_as_ushort(__half h) { return h.bits; }
inline __half __ushort_as_half(unsigned short b) { return {b}; }
