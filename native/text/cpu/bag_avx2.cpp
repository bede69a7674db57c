// AVX2 + FMA level of the hash-bag row kernels (compiled with the avx2 flags of native/sources.json only).
#include <immintrin.h>

#include <cstdint>

#include "text/cpu/bag_kernels.h"

namespace {
#include "core/simd/avx2.h"
#include "text/cpu/bag.inl"
}  // namespace

namespace simsage {
namespace text {
namespace cpu {
BagKernels bag_kernels_avx2() { return kern::make_kernels<Avx2V>(); }
}  // namespace cpu
}  // namespace text
}  // namespace simsage
