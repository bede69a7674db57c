// SimdLevel -> GRU gate kernels (baseline TU: core/dispatch.h must not be instantiated in an ISA file).
#include "temporal/cpu/gru_cell_kernels.h"

#include "core/dispatch.h"

namespace simsage {
namespace temporal {
namespace cpu {

const GruCellKernels& gru_cell_kernels_for(SimdLevel level, SimdLevel* used) {
  if (used) *used = supported_simd_level(level);
  return SIMSAGE_TABLE_FOR_LEVEL(GruCellKernels, level, gru_cell_kernels_scalar, gru_cell_kernels_avx2,
                                 gru_cell_kernels_avx512);
}

}  // namespace cpu
}  // namespace temporal
}  // namespace simsage
