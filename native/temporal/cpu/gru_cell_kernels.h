// The per-ISA GRU gate kernels (one batch row per call). gru_cell_scalar.cpp, gru_cell_avx2.cpp and
// gru_cell_avx512.cpp each instantiate gru_cell.inl with their core/simd trait and return a table;
// the drivers (gru.cpp, gru_stream.cpp) split rows over the thread pool and call the chosen level.
#pragma once
#include <cstdint>

#include "core/cpu_features.h"

namespace simsage {
namespace temporal {
namespace cpu {

struct GruCellKernels {
  // Forward gate math of one row (H = hidden size; gate blocks r, z, n in that order):
  //   gi: 3H input projection W_ih x (no bias); gh: 3H recurrent projection W_hh h (no bias);
  //   hp: H previous state (after carry). Writes gates (4H: r, z, n, W_hn h + b_hn) and h (H, the
  //   new state). gi may alias gates (its first 3H floats) and h may alias hp.
  void (*fwd)(int64_t H, const float* gi, const float* gh, const float* b_ih, const float* b_hh, const float* hp,
              float* gates, float* h) = nullptr;
  // Backward of one row: from the saved gates (4H) and hp (H) and dh = dL/dh' (H), writes
  // dgi = dL/d(W_ih x + b_ih) (3H), dgh = dL/d(W_hh h + b_hh) (3H) and dhp = the direct part
  // dL/dh = dh * z (H; the W_hh part comes from a GEMM). dhp may alias dh.
  void (*bwd)(int64_t H, const float* gates, const float* hp, const float* dh, float* dgi, float* dgh,
              float* dhp) = nullptr;
};

GruCellKernels gru_cell_kernels_scalar();
#if defined(SIMSAGE_X86)
GruCellKernels gru_cell_kernels_avx2();
GruCellKernels gru_cell_kernels_avx512();
#endif

// Level -> table (a level the CPU lacks or the build left out steps down); `used` gets the level.
const GruCellKernels& gru_cell_kernels_for(SimdLevel level, SimdLevel* used = nullptr);

}  // namespace cpu
}  // namespace temporal
}  // namespace simsage
