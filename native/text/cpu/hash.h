// The token hash of text.h (two MurmurHash3-style 32-bit lanes), streamed one code point at a time
// so the featuriser hashes trigrams, words and bigrams without copying them. Internal to the text
// family's drivers.
#pragma once
#include <cstdint>

#include "text/text.h"

namespace simsage {
namespace text {
namespace cpu {

inline uint32_t rotl32(uint32_t x, int r) { return (x << r) | (x >> (32 - r)); }

struct TokenHasher {
  uint32_t lo, hi;
  uint32_t n = 0;
  TokenHasher(uint64_t seed, int kind) {
    const uint32_t k = static_cast<uint32_t>(kind + 1) * 0x85EBCA6Bu;
    lo = static_cast<uint32_t>(seed) ^ k;
    hi = (static_cast<uint32_t>(seed >> 32) ^ 0x9E3779B9u) ^ k;
  }
  void add(uint32_t c) { add_mixed(mix_lo(c), mix_hi(c)); }
  // One code point given as its two mixes (a featuriser mixes each code point of a string once).
  void add_mixed(uint32_t mlo, uint32_t mhi) {
    lo = rotl32(lo ^ mlo, 13) * 5u + 0xE6546B64u;
    hi = rotl32(hi ^ mhi, 13) * 5u + 0xE6546B64u;
    ++n;
  }
  static uint32_t mix_lo(uint32_t c) { return rotl32(c * 0xCC9E2D51u, 15) * 0x1B873593u; }
  static uint32_t mix_hi(uint32_t c) { return rotl32(c * 0x1B873593u, 17) * 0xCC9E2D51u; }
  uint64_t finish() const {
    return (static_cast<uint64_t>(text_fmix32(hi ^ n)) << 32) | static_cast<uint64_t>(text_fmix32(lo ^ n));
  }
};

// Word characters after lib/text's normalisation: ASCII letters and digits, any non-ASCII code point.
inline bool is_word_char(uint32_t c) {
  return c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// Decodes the code point at units[*i] (i < end), advancing *i past it.
inline uint32_t next_code_point(const uint16_t* units, int64_t end, int64_t* i) {
  const uint32_t u = units[*i];
  ++*i;
  if (u >= 0xD800 && u < 0xDC00 && *i < end) {
    const uint32_t v = units[*i];
    if (v >= 0xDC00 && v < 0xE000) {
      ++*i;
      return 0x10000 + ((u - 0xD800) << 10) + (v - 0xDC00);
    }
  }
  return u;
}

}  // namespace cpu
}  // namespace text
}  // namespace simsage
