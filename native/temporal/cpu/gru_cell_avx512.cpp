// AVX-512 level of the GRU gate kernels (compiled with the avx512 flags of native/sources.json only).
#include <immintrin.h>

#include <cstdint>

#include "temporal/cpu/gru_cell_kernels.h"

namespace {
#include "core/simd/avx512.h"
#include "temporal/cpu/gru_cell.inl"
}  // namespace

namespace simsage {
namespace temporal {
namespace cpu {
GruCellKernels gru_cell_kernels_avx512() { return kern::make_kernels<Avx512V>(); }
}  // namespace cpu
}  // namespace temporal
}  // namespace simsage
