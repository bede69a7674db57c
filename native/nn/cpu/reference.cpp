// The reference GEMM (nn.h): a plain triple loop with double accumulation. Ground truth for tests.
#include <cstdint>

#include "nn/nn.h"

namespace simsage {

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

}  // namespace simsage
