// Group norm kernels (nn.h, part `spatial`) over a core/simd trait V, included by each per-ISA file
// after nn/cpu/layer.inl (whose kern::sum, kern::dot, kern::centered_sumsq and kW they reuse) and
// pool.inl; make_spatial_kernels builds the part's table from both.
//
// A (sample, group) block is (C / G) * S consecutive floats of B x C x S, so the statistics are
// the layer-norm row sums over that block and the affine step is one fma per element with a
// per-channel scale and shift. Backward (Wu & He 2018, as layer norm's with the block as the row):
// with g = dy * gamma[c], n = (C / G) * S, a = mean_n(g), b = mean_n(g * xhat),
//   dx = rstd * (g - a - xhat * b) = dy * (rstd gamma[c]) + x * (-rstd^2 b) + rstd (rstd b mean - a),
// one fma pair per element after one pass of per-channel sums (sum dy, sum dy (x - mean)).
//
// Requires <cstdint>, nn/cpu/layer_kernels.h and nn/cpu/spatial_kernels.h, included first.

namespace kern {

// sum(a * (x - c))
template <class V>
float centered_dot(const float* a, const float* x, float c, int64_t n) {
  const typename V::nreg cv = V::nbcast(c);
  typename V::nreg s0 = V::nzero(), s1 = V::nzero();
  int64_t i = 0;
  for (; i + 2 * kW<V> <= n; i += 2 * kW<V>) {
    s0 = V::nfma(V::nload(a + i), V::nsub(V::nload(x + i), cv), s0);
    s1 = V::nfma(V::nload(a + i + kW<V>), V::nsub(V::nload(x + i + kW<V>), cv), s1);
  }
  for (; i + kW<V> <= n; i += kW<V>) s0 = V::nfma(V::nload(a + i), V::nsub(V::nload(x + i), cv), s0);
  float s = V::nhsum(V::nadd(s0, s1));
  for (; i < n; ++i) s += a[i] * (x[i] - c);
  return s;
}

// y = x * a + b
template <class V>
void affine(const float* x, float a, float b, float* y, int64_t n) {
  const typename V::nreg av = V::nbcast(a), bv = V::nbcast(b);
  int64_t i = 0;
  for (; i + kW<V> <= n; i += kW<V>) V::nstore(y + i, V::nfma(V::nload(x + i), av, bv));
  for (; i < n; ++i) y[i] = x[i] * a + b;
}

template <class V>
void gn_fwd(int64_t b0, int64_t b1, int64_t C, int64_t G, int64_t S, float eps, const float* x, const float* gamma,
            const float* beta, float* y, float* mean, float* rstd) {
  const int64_t cg = C / G, n = cg * S;
  const float inv_n = 1.f / static_cast<float>(n);
  for (int64_t b = b0; b < b1; ++b) {
    for (int64_t g = 0; g < G; ++g) {
      const int64_t base = (b * C + g * cg) * S;
      const float* xg = x + base;
      const float mu = sum<V>(xg, n) * inv_n;
      const float rs = 1.f / __builtin_sqrtf(centered_sumsq<V>(xg, mu, n) * inv_n + eps);
      mean[b * G + g] = mu;
      rstd[b * G + g] = rs;
      for (int64_t k = 0; k < cg; ++k) {
        const int64_t c = g * cg + k;
        const float sc = rs * (gamma ? gamma[c] : 1.f);
        affine<V>(xg + k * S, sc, (beta ? beta[c] : 0.f) - mu * sc, y + base + k * S, S);
      }
    }
  }
}

template <class V>
void gn_bwd(int64_t b0, int64_t b1, int64_t C, int64_t G, int64_t S, const float* x, const float* gamma,
            const float* mean, const float* rstd, const float* dy, float* dx, float* dgamma_acc, float* dbeta_acc) {
  const int64_t cg = C / G, n = cg * S;
  const float inv_n = 1.f / static_cast<float>(n);
  for (int64_t b = b0; b < b1; ++b) {
    for (int64_t g = 0; g < G; ++g) {
      const int64_t base = (b * C + g * cg) * S;
      const float mu = mean[b * G + g], rs = rstd[b * G + g];
      // Pass 1 (reads dy only): a = sum g, bs = sum g * xhat, and the parameter gradients.
      float a = 0.f, bs = 0.f;
      for (int64_t k = 0; k < cg; ++k) {
        const int64_t c = g * cg + k;
        const float* dc = dy + base + k * S;
        const float db = sum<V>(dc, S), dxh = rs * centered_dot<V>(dc, x + base + k * S, mu, S);
        const float gm = gamma ? gamma[c] : 1.f;
        a += gm * db;
        bs += gm * dxh;
        if (dgamma_acc) dgamma_acc[c] += dxh;
        if (dbeta_acc) dbeta_acc[c] += db;
      }
      a *= inv_n;
      bs *= inv_n;
      // Pass 2: dx = dy * A + x * B + D; element i of dy is read before dx[i] is written.
      const typename V::nreg bv = V::nbcast(-rs * rs * bs), dv = V::nbcast(rs * (rs * bs * mu - a));
      for (int64_t k = 0; k < cg; ++k) {
        const float A = rs * (gamma ? gamma[g * cg + k] : 1.f);
        const typename V::nreg av = V::nbcast(A);
        const float* dc = dy + base + k * S;
        const float* xc = x + base + k * S;
        float* oc = dx + base + k * S;
        int64_t i = 0;
        for (; i + kW<V> <= S; i += kW<V>)
          V::nstore(oc + i, V::nfma(V::nload(dc + i), av, V::nfma(V::nload(xc + i), bv, dv)));
        const float B = -rs * rs * bs, D = rs * (rs * bs * mu - a);
        for (; i < S; ++i) oc[i] = dc[i] * A + (xc[i] * B + D);
      }
    }
  }
}

template <class V>
simsage::nn::cpu::SpatialKernels make_spatial_kernels() {
  simsage::nn::cpu::SpatialKernels t;
  t.max_fwd = &max_fwd;
  t.avg_fwd = &avg_fwd;
  t.max_bwd = &max_bwd;
  t.avg_bwd = &avg_bwd;
  t.gn_fwd = &gn_fwd<V>;
  t.gn_bwd = &gn_bwd<V>;
  return t;
}

}  // namespace kern
