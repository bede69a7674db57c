// SimdLevel -> nn layer kernels (baseline TU: core/dispatch.h must not be instantiated in an ISA file).
#include "nn/cpu/layer_kernels.h"

#include "core/dispatch.h"

namespace simsage {
namespace nn {
namespace cpu {

const LayerKernels& layer_kernels_for(SimdLevel level, SimdLevel* used) {
  if (used) *used = supported_simd_level(level);
  return SIMSAGE_TABLE_FOR_LEVEL(LayerKernels, level, layer_kernels_scalar, layer_kernels_avx2, layer_kernels_avx512);
}

}  // namespace cpu
}  // namespace nn
}  // namespace simsage
