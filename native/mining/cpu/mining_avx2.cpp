// AVX2 level of the mining row kernels (kernel.inl compiled with this file's flags only; see
// sources.json).
#include <cmath>
#include <cstdint>
#include <limits>

#include "mining/cpu/kernels.h"

namespace {
#include "mining/cpu/kernel.inl"
}  // namespace

namespace simsage {
namespace mining {
RowKernels row_kernels_avx2() { return mk::make_table(); }
}  // namespace mining
}  // namespace simsage
