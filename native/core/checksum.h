// Byte-level helpers of simsage's native blob formats (stream states): CRC-32, FNV-1a and
// little-endian field access. One copy for every format.
#pragma once
#include <cstddef>
#include <cstdint>

namespace simsage {

// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320, as zlib's crc32) of n bytes, continuing
// from crc (0 to start). Slicing-by-8; crc32_bytewise is the bit-at-a-time reference the tests
// check it against.
uint32_t crc32_update(uint32_t crc, const uint8_t* data, size_t n);
uint32_t crc32_bytewise(uint32_t crc, const uint8_t* data, size_t n);

// FNV-1a 64-bit: the 8 little-endian bytes of v mixed into h (start from kFnvOffset).
constexpr uint64_t kFnvOffset = 0xCBF29CE484222325ull;
inline uint64_t fnv1a_u64(uint64_t h, uint64_t v) {
  for (int i = 0; i < 8; ++i) h = (h ^ ((v >> (8 * i)) & 0xFF)) * 0x100000001B3ull;
  return h;
}

inline void put_u32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
inline void put_u64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
inline uint32_t get_u32(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(p[i]) << (8 * i);
  return v;
}
inline uint64_t get_u64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
  return v;
}

}  // namespace simsage
