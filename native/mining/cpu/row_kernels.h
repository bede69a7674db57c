// The per-ISA row kernels of the mining family. Each of row_scalar.cpp, row_avx2.cpp and
// row_avx512.cpp includes row.inl inside an anonymous namespace and returns a table of function
// pointers; row_kernels_for() picks one by SimdLevel (with step-down).
#pragma once
#include <cstdint>

#include "core/cpu_features.h"
#include "mining/mining.h"

namespace simsage {
namespace mining {
namespace cpu {

struct RowKernels {
  // out[i] = |e_i|^2 for rows [r0, r1) of e (rows x dim, stride dim).
  void (*sq_norms)(const float* e, int64_t dim, int64_t r0, int64_t r1, float* out) = nullptr;
  // Row i of the Gram matrix G = E E^T (g: b floats, in place) -> row i of the distance matrix.
  // aux: b squared norms (sqeuclidean, euclidean) or b inverse norms, 0 for a zero row (cosine).
  void (*transform_row)(float* g, int64_t i, int64_t b, const float* aux, DistanceMetric m) = nullptr;
  // Row a of a distance matrix (d: b floats): farthest positive j != a (labels[j] == labels[a]) and
  // closest negative (labels[j] != labels[a]), ties to the smallest index; -1 when none.
  void (*hardest)(const float* d, const int32_t* labels, int64_t a, int64_t b, int64_t* pos, int64_t* neg) = nullptr;
  // argmin { d[j] : labels[j] != la, d[j] > dp }, ties to the smallest j; -1 when none.
  int64_t (*semihard)(const float* d, const int32_t* labels, int32_t la, int64_t b, float dp) = nullptr;
  // Negatives j (labels[j] != la) with lo <= d[j] < hi, ascending: written to out (when not null),
  // counted in the return value.
  int64_t (*collect)(const float* d, const int32_t* labels, int32_t la, int64_t b, float lo, float hi,
                     int32_t* out) = nullptr;
};

RowKernels row_kernels_scalar();
#if defined(SIMSAGE_X86)
RowKernels row_kernels_avx2();
RowKernels row_kernels_avx512();
#endif

// Level -> table (a level the CPU lacks or the build left out steps down); `used` gets the level.
const RowKernels& row_kernels_for(SimdLevel level, SimdLevel* used = nullptr);

}  // namespace cpu
}  // namespace mining
}  // namespace simsage
