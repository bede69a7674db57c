// SimdLevel -> GEMM kernels (baseline TU: core/dispatch.h must not be instantiated in an ISA file).
#include "nn/cpu/gemm_kernels.h"

#include "core/dispatch.h"

namespace simsage {
namespace nn {
namespace cpu {

const GemmKernels& gemm_kernels_for(SimdLevel level, SimdLevel* used) {
  if (used) *used = supported_simd_level(level);
  return SIMSAGE_TABLE_FOR_LEVEL(GemmKernels, level, gemm_kernels_scalar, gemm_kernels_avx2, gemm_kernels_avx512);
}

}  // namespace cpu
}  // namespace nn
}  // namespace simsage
