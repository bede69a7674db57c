// SimdLevel -> search kernels (baseline TU: core/dispatch.h must not be instantiated in an ISA file).
#include "similarity/cpu/search_kernels.h"

#include "core/dispatch.h"

namespace simsage {
namespace similarity {
namespace cpu {

const SearchKernels& search_kernels_for(SimdLevel level, SimdLevel* used) {
  if (used) *used = supported_simd_level(level);
  return SIMSAGE_TABLE_FOR_LEVEL(SearchKernels, level, search_kernels_scalar, search_kernels_avx2,
                                 search_kernels_avx512);
}

}  // namespace cpu
}  // namespace similarity
}  // namespace simsage
