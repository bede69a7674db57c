// Stand-in for <cuda_bf16.h> in the CPU emulation (cuda_runtime.h here).
#pragma once
#include <cstdint>
#include <cstring>

struct __nv_bfloat16 {
  unsigned short bits;
};

inline __nv_bfloat16 __float2bfloat16_rn(float x) {
  uint32_t f;
  std::memcpy(&f, &x, 4);
  if ((f & 0x7fffffff) > 0x7f800000) return {static_cast<unsigned short>((f >> 16) | 0x40)};  // quiet NaN
  f += 0x7fff + ((f >> 16) & 1);                                                              // round to nearest even
  return {static_cast<unsigned short>(f >> 16)};
}
inline float __bfloat162float(__nv_bfloat16 b) {
  const uint32_t f = uint32_t(b.bits) << 16;
  float r;
  std::memcpy(&r, &f, 4);
  return r;
}
inline unsigned short __bfloat16_as_ushort(__nv_bfloat16 b) { return b.bits; }
inline __nv_bfloat16 __ushort_as_bfloat16(unsigned short u) { return {u}; }
