// Picking a kernel family's per-ISA table by SIMD level. Include only from baseline translation
// units (drivers), never from a per-ISA file: the template's instantiations must be compiled with
// baseline flags.
#pragma once
#include "core/cpu_features.h"

namespace simsage {

// The family's tables, built once; the requested level steps down to one this CPU supports.
template <class T, T (*Scalar)(), T (*Avx2)(), T (*Avx512)()>
const T& table_for_level(SimdLevel level) {
  static const T tables[3] = {Scalar(), Avx2(), Avx512()};
  return tables[static_cast<int>(supported_simd_level(level))];
}

}  // namespace simsage

// table_for_level with the x86 tables when they are built, the scalar one everywhere otherwise.
#if defined(SIMSAGE_X86)
#define SIMSAGE_TABLE_FOR_LEVEL(T, level, scalar, avx2, avx512) \
  ::simsage::table_for_level<T, scalar, avx2, avx512>(level)
#else
#define SIMSAGE_TABLE_FOR_LEVEL(T, level, scalar, avx2, avx512) \
  ::simsage::table_for_level<T, scalar, scalar, scalar>(level)
#endif
