// CPU feature detection and the SIMD level chosen once at run time. Each kernel family keeps one
// source file per level (compiled with that level's flags) and looks its function up by level.
// SIMSAGE_SIMD=scalar|avx2|avx512|auto overrides the initial choice; a level the CPU lacks steps
// down to the best one it has.
#pragma once
#include <string>

namespace simsage {

enum class SimdLevel { Scalar = 0, Avx2 = 1, Avx512 = 2 };

struct CpuFeatures {
  bool avx2 = false;    // AVX2 + FMA + F16C, with OS support for YMM state
  bool avx512 = false;  // AVX-512 F/BW/DQ/VL, with OS support for ZMM state
  // Extensions used by fast paths that run only at the AVX-512 level (and only when it is active):
  bool avx512_bf16 = false;  // vdpbf16ps (cpuid leaf 7 subleaf 1 EAX bit 5), requires avx512
  bool avx512_vnni = false;  // vpdpbusd (cpuid leaf 7 subleaf 0 ECX bit 11), requires avx512
  bool avx_vnni = false;     // VEX vpdpbusd (cpuid leaf 7 subleaf 1 EAX bit 4), requires avx2; reported only
  std::string vendor;
  std::string brand;
};

const CpuFeatures& cpu_features();
const char* simd_level_name(SimdLevel level);
// Parses "scalar" | "avx2" | "avx512" | "auto"; throws ERR_SIMSAGE_INVALID_ARGUMENT otherwise.
// "auto" returns best_simd_level().
SimdLevel parse_simd_level(const std::string& name);
SimdLevel best_simd_level();
// `requested` stepped down to the best level this CPU supports (scalar always is).
SimdLevel supported_simd_level(SimdLevel requested);
bool simd_level_supported(SimdLevel level);

// The active level (initially SIMSAGE_SIMD or the best supported). set_simd_level steps an
// unsupported request down and returns the level actually set.
SimdLevel active_simd_level();
SimdLevel set_simd_level(SimdLevel requested);

}  // namespace simsage
