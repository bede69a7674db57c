// SimdLevel -> 2-D convolution kernels (baseline TU: core/dispatch.h must not be instantiated in an ISA file).
#include "nn/cpu/conv2d_kernels.h"

#include "core/dispatch.h"

namespace simsage {
namespace nn {
namespace cpu {

const Conv2dKernels& conv2d_kernels_for(SimdLevel level, SimdLevel* used) {
  if (used) *used = supported_simd_level(level);
  return SIMSAGE_TABLE_FOR_LEVEL(Conv2dKernels, level, conv2d_kernels_scalar, conv2d_kernels_avx2,
                                 conv2d_kernels_avx512);
}

}  // namespace cpu
}  // namespace nn
}  // namespace simsage
