// Scalar (baseline) level of the GRU gate kernels: gru_cell.inl over the 16-float ScalarV.
#include <cstdint>

#include "temporal/cpu/gru_cell_kernels.h"

namespace {
#include "core/simd/scalar.h"
#include "temporal/cpu/gru_cell.inl"
}  // namespace

namespace simsage {
namespace temporal {
namespace cpu {
GruCellKernels gru_cell_kernels_scalar() { return kern::make_kernels<ScalarV>(); }
}  // namespace cpu
}  // namespace temporal
}  // namespace simsage
