#include "core/cpu_features.h"

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "core/error.h"

#if defined(SIMSAGE_X86)
#include <cpuid.h>
#endif

namespace simsage {
namespace {

#if defined(SIMSAGE_X86)
uint64_t read_xcr0() {
  uint32_t eax = 0, edx = 0;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<uint64_t>(edx) << 32) | eax;
}
#endif

CpuFeatures detect() {
  CpuFeatures f;
#if defined(SIMSAGE_X86)
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(0, &a, &b, &c, &d)) return f;
  unsigned max_leaf = a;
  char vendor[13] = {0};
  std::memcpy(vendor, &b, 4);
  std::memcpy(vendor + 4, &d, 4);
  std::memcpy(vendor + 8, &c, 4);
  f.vendor = vendor;
  __get_cpuid(1, &a, &b, &c, &d);
  bool osxsave = c & (1u << 27);
  bool fma = c & (1u << 12);
  bool f16c = c & (1u << 29);
  bool avx = c & (1u << 28);
  uint64_t xcr0 = osxsave ? read_xcr0() : 0;
  bool ymm_ok = (xcr0 & 0x6) == 0x6;
  bool zmm_ok = ymm_ok && (xcr0 & 0xE0) == 0xE0;
  if (max_leaf >= 7) {
    __cpuid_count(7, 0, a, b, c, d);
    bool avx2 = b & (1u << 5);
    bool avx512f = b & (1u << 16), dq = b & (1u << 17), bw = b & (1u << 30), vl = b & (1u << 31);
    f.avx2 = avx && avx2 && fma && f16c && ymm_ok;
    f.avx512 = f.avx2 && avx512f && dq && bw && vl && zmm_ok;
    f.avx512_vnni = f.avx512 && (c & (1u << 11));
    const unsigned max_sub = a;  // leaf 7 subleaf 0 EAX: highest subleaf
    if (max_sub >= 1) {
      __cpuid_count(7, 1, a, b, c, d);
      f.avx512_bf16 = f.avx512 && (a & (1u << 5));
      f.avx_vnni = f.avx2 && (a & (1u << 4));
    }
  }
  unsigned ext = __get_cpuid_max(0x80000000, nullptr);
  if (ext >= 0x80000004) {
    char brand[49] = {0};
    for (unsigned i = 0; i < 3; ++i) {
      __get_cpuid(0x80000002 + i, &a, &b, &c, &d);
      std::memcpy(brand + 16 * i, &a, 4);
      std::memcpy(brand + 16 * i + 4, &b, 4);
      std::memcpy(brand + 16 * i + 8, &c, 4);
      std::memcpy(brand + 16 * i + 12, &d, 4);
    }
    f.brand = brand;
    while (!f.brand.empty() && f.brand.back() == ' ') f.brand.pop_back();
  }
#endif
  return f;
}

SimdLevel step_down_impl(SimdLevel want) {
  int lvl = static_cast<int>(want);
  while (lvl > 0 && !simd_level_supported(static_cast<SimdLevel>(lvl))) --lvl;
  return static_cast<SimdLevel>(lvl);
}

SimdLevel initial_level() {
  if (const char* env = std::getenv("SIMSAGE_SIMD")) {
    try {
      return supported_simd_level(parse_simd_level(env));
    } catch (const Error&) {
      // An unknown value falls back to auto rather than failing to load the library.
    }
  }
  return best_simd_level();
}

std::atomic<int> g_level{-1};

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures f = detect();
  return f;
}

const char* simd_level_name(SimdLevel level) {
  switch (level) {
    case SimdLevel::Scalar:
      return "scalar";
    case SimdLevel::Avx2:
      return "avx2";
    case SimdLevel::Avx512:
      return "avx512";
  }
  return "scalar";
}

SimdLevel parse_simd_level(const std::string& name) {
  if (name == "scalar") return SimdLevel::Scalar;
  if (name == "avx2") return SimdLevel::Avx2;
  if (name == "avx512") return SimdLevel::Avx512;
  if (name == "auto" || name.empty()) return best_simd_level();
  throw_error(ErrorCode::InvalidArgument, "unknown SIMD level '" + name + "' (expected scalar, avx2, avx512 or auto)");
}

bool simd_level_supported(SimdLevel level) {
  switch (level) {
    case SimdLevel::Scalar:
      return true;
    case SimdLevel::Avx2:
      return cpu_features().avx2;
    case SimdLevel::Avx512:
      return cpu_features().avx512;
  }
  return false;
}

SimdLevel supported_simd_level(SimdLevel requested) { return step_down_impl(requested); }

SimdLevel best_simd_level() { return supported_simd_level(SimdLevel::Avx512); }

SimdLevel active_simd_level() {
  int v = g_level.load();
  if (v < 0) {
    v = static_cast<int>(initial_level());
    g_level.store(v);
  }
  return static_cast<SimdLevel>(v);
}

SimdLevel set_simd_level(SimdLevel requested) {
  SimdLevel lvl = supported_simd_level(requested);
  g_level.store(static_cast<int>(lvl));
  return lvl;
}

}  // namespace simsage
