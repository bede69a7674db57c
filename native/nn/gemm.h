// General matrix multiply, the dense building block of the nn and mining families:
//   C = alpha * op(A) * op(B) + beta * C,   op(X) = X or X^T,  all row-major.
// op(A) is m x k: A is m x k (lda >= k) when trans_a is false, k x m (lda >= m) when true.
// op(B) is k x n: B is k x n (ldb >= n) when trans_b is false, n x k (ldb >= k) when true.
// C is m x n (ldc >= n). With beta == 0, C is overwritten (NaN in C does not propagate).
// The fast path shares the register-blocked micro-kernel of the similarity family.
#pragma once
#include <cstdint>

#include "core/cpu_features.h"

namespace simsage {

struct GemmParams {
  bool trans_a = false;
  bool trans_b = false;
  int64_t m = 0, n = 0, k = 0;
  float alpha = 1.f;
  float beta = 0.f;
  const float* a = nullptr;
  int64_t lda = 0;
  const float* b = nullptr;
  int64_t ldb = 0;
  float* c = nullptr;
  int64_t ldc = 0;
  int threads = 0;  // <= 0: default_threads()
};

// Checks shapes and leading dimensions (ERR_SIMSAGE_DIM_MISMATCH / INVALID_ARGUMENT).
void gemm_check(const GemmParams& p);
void gemm(const GemmParams& p);
void gemm_at(SimdLevel level, const GemmParams& p);
// Plain triple loop with double accumulation: ground truth for tests.
void gemm_reference(const GemmParams& p);

}  // namespace simsage
