// AVX-512 level of the nn row/elementwise kernels (compiled with the avx512 flags of
// native/sources.json only): one zmm (16 floats) per vector step.
#include <immintrin.h>

#include <cstdint>

#include "nn/cpu/layer_kernels.h"

// GCC 12 flags the intrinsics' own _mm512_undefined_ps() pass-through operands wherever they are
// inlined (GCC PR 105593), so the whole file silences that warning.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace {
#include "core/simd/avx512.h"
#include "nn/cpu/layer.inl"
}  // namespace

namespace simsage {
namespace nn {
namespace cpu {
LayerKernels layer_kernels_avx512() { return kern::make_kernels<Avx512V>(); }
}  // namespace cpu
}  // namespace nn
}  // namespace simsage

#pragma GCC diagnostic pop
