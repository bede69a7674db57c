// SimdLevel -> mining row kernels (baseline TU: core/dispatch.h must not be instantiated in an ISA file).
#include "mining/cpu/row_kernels.h"

#include "core/dispatch.h"

namespace simsage {
namespace mining {
namespace cpu {

const RowKernels& row_kernels_for(SimdLevel level, SimdLevel* used) {
  if (used) *used = supported_simd_level(level);
  return SIMSAGE_TABLE_FOR_LEVEL(RowKernels, level, row_kernels_scalar, row_kernels_avx2, row_kernels_avx512);
}

}  // namespace cpu
}  // namespace mining
}  // namespace simsage
