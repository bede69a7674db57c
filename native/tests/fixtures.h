// Shared pieces of the native tests: random inputs, the SIMD levels to sweep, error measures
// against a double-precision reference, and the central-difference gradient check.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <functional>
#include <random>
#include <vector>

#include "check.h"
#include "core/cpu_features.h"

namespace simsage_test {

using Vec = std::vector<float>;
using DVec = std::vector<double>;

// One generator per test binary, fixed seed: every run draws the same inputs.
inline std::mt19937& rng() {
  static std::mt19937 g(7);
  return g;
}

// n values from N(0, scale^2).
inline Vec randv(size_t n, float scale = 1.f) {
  std::normal_distribution<float> nd(0.f, scale);
  Vec v(n);
  for (auto& x : v) x = nd(rng());
  return v;
}

inline DVec to_d(const Vec& v) { return DVec(v.begin(), v.end()); }

// Every level a test sweeps; an unsupported one steps down (the *_at variants say so).
inline constexpr simsage::SimdLevel kLevels[] = {simsage::SimdLevel::Scalar, simsage::SimdLevel::Avx2,
                                                 simsage::SimdLevel::Avx512};

inline float max_abs(const Vec& v) {
  float m = 0;
  for (float x : v) m = std::max(m, std::fabs(x));
  return m;
}

// Largest |a - b| relative to max(1, max|b|).
inline double rel_err(const Vec& a, const Vec& b) {
  double e = 0;
  for (size_t i = 0; i < a.size(); ++i) e = std::max(e, static_cast<double>(std::fabs(a[i] - b[i])));
  return e / std::max(1.f, max_abs(b));
}

// Largest |got - want| / (1 + |want|).
inline double worst_err(const Vec& got, const DVec& want) {
  double w = 0;
  for (size_t i = 0; i < got.size(); ++i) w = std::max(w, std::fabs(got[i] - want[i]) / (1.0 + std::fabs(want[i])));
  return w;
}

// Central-difference gradient of loss(v) with respect to v (v is perturbed in place and restored).
inline DVec numgrad(DVec& v, const std::function<double()>& loss, double h = 1e-6) {
  DVec g(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    const double keep = v[i];
    v[i] = keep + h;
    const double lp = loss();
    v[i] = keep - h;
    const double lm = loss();
    v[i] = keep;
    g[i] = (lp - lm) / (2 * h);
  }
  return g;
}

// Analytic (float) vs numerical (double) gradient: relative error under 2e-3 (1e-2 floor).
inline void check_grad(const char* what, const Vec& analytic, const DVec& numeric) {
  double worst = 0;
  size_t at = 0;
  for (size_t i = 0; i < numeric.size(); ++i) {
    const double e = std::fabs(analytic[i] - numeric[i]) / (1e-2 + std::fabs(numeric[i]));
    if (e > worst) worst = e, at = i;
  }
  CHECK(worst < 2e-3, "%s: gradient error %g at %zu (analytic %g, numeric %g)", what, worst, at,
        numeric.empty() ? 0.0 : double(analytic[at]), numeric.empty() ? 0.0 : numeric[at]);
}

}  // namespace simsage_test
