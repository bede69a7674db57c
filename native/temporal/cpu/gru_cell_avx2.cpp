// AVX2 + FMA level of the GRU gate kernels (compiled with the avx2 flags of native/sources.json only).
#include <immintrin.h>

#include <cstdint>

#include "temporal/cpu/gru_cell_kernels.h"

namespace {
#include "core/simd/avx2.h"
#include "temporal/cpu/gru_cell.inl"
}  // namespace

namespace simsage {
namespace temporal {
namespace cpu {
GruCellKernels gru_cell_kernels_avx2() { return kern::make_kernels<Avx2V>(); }
}  // namespace cpu
}  // namespace temporal
}  // namespace simsage
