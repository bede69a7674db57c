// Scalar (baseline) level of the mining row kernels: row.inl compiled with the baseline flags.
#include <cmath>
#include <cstdint>
#include <limits>

#include "mining/cpu/row_kernels.h"

namespace {
#include "mining/cpu/row.inl"
}  // namespace

namespace simsage {
namespace mining {
namespace cpu {
RowKernels row_kernels_scalar() { return kern::make_kernels(); }
}  // namespace cpu
}  // namespace mining
}  // namespace simsage
