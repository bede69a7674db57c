// SimdLevel -> causal-conv kernels (baseline TU: core/dispatch.h must not be instantiated in an ISA file).
#include "temporal/cpu/conv_kernels.h"

#include "core/dispatch.h"

namespace simsage {
namespace temporal {
namespace cpu {

const ConvKernels& conv_kernels_for(SimdLevel level, SimdLevel* used) {
  if (used) *used = supported_simd_level(level);
  return SIMSAGE_TABLE_FOR_LEVEL(ConvKernels, level, conv_kernels_scalar, conv_kernels_avx2, conv_kernels_avx512);
}

}  // namespace cpu
}  // namespace temporal
}  // namespace simsage
