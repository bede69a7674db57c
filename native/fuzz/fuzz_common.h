// Shared pieces of the libFuzzer targets (native/fuzz/fuzz_*.cpp, docs/reliability.md): turning
// fuzzer bytes into shapes and float matrices, and the one rule for exceptions. Every target calls a
// native entry point with what a user could pass it; a simsage::Error is an accepted outcome (a
// coded rejection), anything else that escapes (another exception, a sanitizer report, an abort
// from a failed invariant) is a finding.
#pragma once
#include <fuzzer/FuzzedDataProvider.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <vector>

#include "core/cpu_features.h"
#include "core/error.h"

namespace simsage_fuzz {

// A failed invariant: print it and abort, so libFuzzer saves the input as a crash.
[[noreturn]] inline void fail(const char* target, const char* what) {
  std::fprintf(stderr, "%s: invariant failed: %s\n", target, what);
  std::abort();
}
#define FUZZ_CHECK(cond, target)                      \
  do {                                                \
    if (!(cond)) ::simsage_fuzz::fail(target, #cond); \
  } while (0)

// SIMSAGE_FUZZ_ALLOW_KNOWN=1 relaxes the invariants of open findings (docs/reliability.md lists
// them); without it every invariant is strict. `npm run fuzz:ci` sets it until those fixes land.
inline bool allow_known() {
  static const bool v = [] {
    const char* e = std::getenv("SIMSAGE_FUZZ_ALLOW_KNOWN");
    return e && e[0] == '1';
  }();
  return v;
}

inline simsage::SimdLevel pick_level(FuzzedDataProvider& in) {
  // An unsupported level steps down, so every value is valid on every CPU.
  return in.PickValueInArray({simsage::SimdLevel::Scalar, simsage::SimdLevel::Avx2, simsage::SimdLevel::Avx512});
}

// How a matrix's values are drawn. kTame values (zero or |v| in [1e-3, 1e3], small integers for
// ties) are where the targets also compare against a double-precision oracle; the other modes look
// for crashes and broken invariants at the edges (subnormals, huge values, NaN, Inf, raw bits).
enum class Values { Tame, Edges, RawBits };

inline float edge_value(FuzzedDataProvider& in) {
  const float v = in.PickValueInArray<float>({0.f,
                                              1.f,
                                              -1.f,
                                              0.5f,
                                              2.f,
                                              -3.f,
                                              1e-39f,
                                              -1e-39f,
                                              1e-45f,
                                              1e-20f,
                                              3e19f,
                                              -3e19f,
                                              1e30f,
                                              3.4e38f,
                                              -3.4e38f,
                                              std::numeric_limits<float>::min(),
                                              std::numeric_limits<float>::max(),
                                              std::numeric_limits<float>::quiet_NaN(),
                                              std::numeric_limits<float>::infinity(),
                                              -std::numeric_limits<float>::infinity()});
  return v;
}

inline float tame_value(FuzzedDataProvider& in) {
  const uint8_t b = in.ConsumeIntegral<uint8_t>();
  if (b < 64) return static_cast<float>(static_cast<int>(b % 7) - 3);  // small integers: exact ties
  if (b < 80) return 0.f;
  // |v| in [1e-3, 1e3], either sign.
  const float mag = std::pow(10.f, -3.f + 6.f * (static_cast<float>(in.ConsumeIntegral<uint16_t>()) / 65535.f));
  return (b & 1) ? mag : -mag;
}

inline std::vector<float> matrix(FuzzedDataProvider& in, int64_t count, Values mode) {
  std::vector<float> v(static_cast<size_t>(count > 0 ? count : 0));
  for (auto& x : v) {
    if (mode == Values::Tame) {
      x = tame_value(in);
    } else if (mode == Values::Edges) {
      x = in.ConsumeBool() ? edge_value(in) : tame_value(in);
    } else {
      const uint32_t bits = in.ConsumeIntegral<uint32_t>();
      std::memcpy(&x, &bits, 4);
    }
  }
  return v;
}

inline Values pick_values(FuzzedDataProvider& in) {
  const uint8_t m = in.ConsumeIntegralInRange<uint8_t>(0, 9);
  return m < 6 ? Values::Tame : m < 9 ? Values::Edges : Values::RawBits;
}

// Runs fn; a simsage::Error is a coded rejection (returns false), success returns true. Anything
// else propagates and libFuzzer reports it as a crash.
template <class F>
bool accepted(F&& fn) {
  try {
    fn();
    return true;
  } catch (const simsage::Error&) {
    return false;
  }
}

}  // namespace simsage_fuzz
