// SimdLevel -> nn spatial kernels (baseline TU: core/dispatch.h must not be instantiated in an ISA file).
#include "nn/cpu/spatial_kernels.h"

#include "core/dispatch.h"

namespace simsage {
namespace nn {
namespace cpu {

const SpatialKernels& spatial_kernels_for(SimdLevel level, SimdLevel* used) {
  if (used) *used = supported_simd_level(level);
  return SIMSAGE_TABLE_FOR_LEVEL(SpatialKernels, level, spatial_kernels_scalar, spatial_kernels_avx2,
                                 spatial_kernels_avx512);
}

}  // namespace cpu
}  // namespace nn
}  // namespace simsage
