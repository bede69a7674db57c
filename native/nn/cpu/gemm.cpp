// GEMM driver. For now every level runs the reference loops (correct, not fast); the blocked
// SIMD path reusing the similarity micro-kernel replaces this body.
#include <string>

#include "core/error.h"
#include "nn/gemm.h"

namespace simsage {

void gemm_check(const GemmParams& p) {
  if (p.m < 0 || p.n < 0 || p.k < 0) throw_error(ErrorCode::DimMismatch, "gemm: negative dimension");
  const int64_t a_cols = p.trans_a ? p.m : p.k, b_cols = p.trans_b ? p.k : p.n;
  if (p.lda < a_cols || p.ldb < b_cols || p.ldc < p.n)
    throw_error(ErrorCode::DimMismatch, "gemm: leading dimension smaller than the row length");
  if ((p.m && p.n && p.k) && (!p.a || !p.b)) throw_error(ErrorCode::InvalidArgument, "gemm: null input");
  if (p.m && p.n && !p.c) throw_error(ErrorCode::InvalidArgument, "gemm: null output");
}

void gemm_reference(const GemmParams& p) {
  gemm_check(p);
  for (int64_t i = 0; i < p.m; ++i) {
    for (int64_t j = 0; j < p.n; ++j) {
      double s = 0;
      for (int64_t l = 0; l < p.k; ++l) {
        float av = p.trans_a ? p.a[l * p.lda + i] : p.a[i * p.lda + l];
        float bv = p.trans_b ? p.b[j * p.ldb + l] : p.b[l * p.ldb + j];
        s += static_cast<double>(av) * bv;
      }
      float& c = p.c[i * p.ldc + j];
      c = static_cast<float>(p.alpha * s + (p.beta == 0.f ? 0.0 : static_cast<double>(p.beta) * c));
    }
  }
}

void gemm_at(SimdLevel, const GemmParams& p) { gemm_reference(p); }

void gemm(const GemmParams& p) { gemm_at(active_simd_level(), p); }

}  // namespace simsage
