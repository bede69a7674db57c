// GEMM at every SIMD level against the reference, all four transpose combinations, awkward shapes.
#include <cmath>
#include <random>
#include <vector>

#include "check.h"
#include "core/error.h"
#include "nn/nn.h"

using namespace simsage;

TEST_CASE(gemm_matches_reference) {
  std::mt19937 rng(5);
  std::normal_distribution<float> nd;
  const int64_t sizes[] = {1, 3, 7, 16, 17, 33, 129};
  for (SimdLevel lvl : {SimdLevel::Scalar, SimdLevel::Avx2, SimdLevel::Avx512}) {
    if (!simd_level_supported(lvl)) continue;
    for (int64_t m : sizes)
      for (int64_t n : sizes)
        for (int64_t k : {int64_t(1), int64_t(9), int64_t(64), int64_t(130), int64_t(300), int64_t(600)})
          for (int ta = 0; ta < 2; ++ta)
            for (int tb = 0; tb < 2; ++tb) {
              GemmParams p;
              p.trans_a = ta;
              p.trans_b = tb;
              p.m = m;
              p.n = n;
              p.k = k;
              p.lda = (ta ? m : k) + 2;
              p.ldb = (tb ? k : n) + 1;
              p.ldc = n + 3;
              std::vector<float> a((ta ? k : m) * p.lda), b((tb ? n : k) * p.ldb), c(m * p.ldc), r;
              for (auto& x : a) x = nd(rng);
              for (auto& x : b) x = nd(rng);
              for (auto& x : c) x = nd(rng);
              r = c;
              p.alpha = 0.5f;
              p.beta = (m + n) % 2 ? 0.f : 1.5f;
              p.a = a.data();
              p.b = b.data();
              p.c = r.data();
              gemm_reference(p);
              p.c = c.data();
              p.threads = 2;
              gemm_at(lvl, p);
              double worst = 0;
              for (int64_t i = 0; i < m; ++i)
                for (int64_t j = 0; j < n; ++j)
                  worst = std::max(worst, double(std::fabs(c[i * p.ldc + j] - r[i * p.ldc + j])));
              CHECK(worst <= 1e-5 * (k + 8) * 4, "%s m=%lld n=%lld k=%lld ta=%d tb=%d err %g", simd_level_name(lvl),
                    (long long)m, (long long)n, (long long)k, ta, tb, worst);
            }
  }
}

TEST_CASE(gemm_rejects_bad_shapes) {
  GemmParams p;
  p.m = 2;
  p.n = 2;
  p.k = 2;
  p.lda = 1;
  p.ldb = 2;
  p.ldc = 2;
  float x[4] = {0};
  p.a = x;
  p.b = x;
  p.c = x;
  EXPECT_THROW_CODE(gemm(p), ErrorCode::DimMismatch);
}

TEST_MAIN()
