// SimdLevel -> hash-bag row kernels (baseline TU: core/dispatch.h must not be instantiated in an ISA file).
#include "text/cpu/bag_kernels.h"

#include "core/dispatch.h"

namespace simsage {
namespace text {
namespace cpu {

const BagKernels& bag_kernels_for(SimdLevel level, SimdLevel* used) {
  if (used) *used = supported_simd_level(level);
  return SIMSAGE_TABLE_FOR_LEVEL(BagKernels, level, bag_kernels_scalar, bag_kernels_avx2, bag_kernels_avx512);
}

}  // namespace cpu
}  // namespace text
}  // namespace simsage
