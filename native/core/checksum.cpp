#include "core/checksum.h"

#include <array>

namespace simsage {

namespace {

// Slicing-by-8 tables: t[0] is the byte-at-a-time table; t[k][i] is the CRC of byte i followed by
// k zero bytes, so eight bytes fold into the CRC with eight independent lookups per step (about
// 8x the byte loop, whose every step waits on the previous one).
using Tables = std::array<std::array<uint32_t, 256>, 8>;

Tables make_tables() {
  Tables t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    t[0][i] = c;
  }
  for (int k = 1; k < 8; ++k)
    for (uint32_t i = 0; i < 256; ++i) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xFF];
  return t;
}

}  // namespace

uint32_t crc32_update(uint32_t crc, const uint8_t* data, size_t n) {
  static const Tables t = make_tables();
  crc = ~crc;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const uint32_t lo = crc ^ get_u32(data + i);
    const uint32_t hi = get_u32(data + i + 4);
    crc = t[7][lo & 0xFF] ^ t[6][(lo >> 8) & 0xFF] ^ t[5][(lo >> 16) & 0xFF] ^ t[4][lo >> 24] ^ t[3][hi & 0xFF] ^
          t[2][(hi >> 8) & 0xFF] ^ t[1][(hi >> 16) & 0xFF] ^ t[0][hi >> 24];
  }
  for (; i < n; ++i) crc = t[0][(crc ^ data[i]) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

uint32_t crc32_bytewise(uint32_t crc, const uint8_t* data, size_t n) {
  crc = ~crc;
  for (size_t i = 0; i < n; ++i) {
    crc ^= data[i];
    for (int k = 0; k < 8; ++k) crc = (crc & 1) ? 0xEDB88320u ^ (crc >> 1) : crc >> 1;
  }
  return ~crc;
}

}  // namespace simsage
