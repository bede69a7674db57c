// The nn row/elementwise kernels, written once over a core/simd trait V and included by each per-ISA
// file (layer_scalar.cpp, layer_avx2.cpp, layer_avx512.cpp) inside an anonymous namespace, so each
// instantiation has internal linkage and is compiled with that file's instruction-set flags only.
// Nothing here instantiates a std template (std::max<float> & co. would be COMDATs that the linker
// may share with baseline files): helpers are hand-written, sqrt is the builtin.
//
// The kernels step one native register V::nreg (kW = 16 / V::kSub floats) at a time with the trait's
// n-operations (nzero, nbcast, nload, nstore, nadd, nsub, nmul, nfma, nrelu, npass_pos, nhsum;
// meanings in core/simd/scalar.h). Vector loops cover the first kW * floor(n / kW) elements; a
// scalar tail does the rest with the same formulas. Sums use two accumulators to shorten the
// dependency chain.
//
// Requires <cstdint> and nn/cpu/layer_kernels.h, included by the ISA file first.

namespace kern {

template <class V>
constexpr int64_t kW = 16 / V::kSub;

template <class V>
float sum(const float* a, int64_t n) {
  typename V::nreg s0 = V::nzero(), s1 = V::nzero();
  int64_t i = 0;
  for (; i + 2 * kW<V> <= n; i += 2 * kW<V>) {
    s0 = V::nadd(s0, V::nload(a + i));
    s1 = V::nadd(s1, V::nload(a + i + kW<V>));
  }
  for (; i + kW<V> <= n; i += kW<V>) s0 = V::nadd(s0, V::nload(a + i));
  float s = V::nhsum(V::nadd(s0, s1));
  for (; i < n; ++i) s += a[i];
  return s;
}

template <class V>
float dot(const float* a, const float* b, int64_t n) {
  typename V::nreg s0 = V::nzero(), s1 = V::nzero();
  int64_t i = 0;
  for (; i + 2 * kW<V> <= n; i += 2 * kW<V>) {
    s0 = V::nfma(V::nload(a + i), V::nload(b + i), s0);
    s1 = V::nfma(V::nload(a + i + kW<V>), V::nload(b + i + kW<V>), s1);
  }
  for (; i + kW<V> <= n; i += kW<V>) s0 = V::nfma(V::nload(a + i), V::nload(b + i), s0);
  float s = V::nhsum(V::nadd(s0, s1));
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

// sum((a - c)^2)
template <class V>
float centered_sumsq(const float* a, float c, int64_t n) {
  const typename V::nreg cv = V::nbcast(c);
  typename V::nreg s0 = V::nzero(), s1 = V::nzero();
  int64_t i = 0;
  for (; i + 2 * kW<V> <= n; i += 2 * kW<V>) {
    typename V::nreg d0 = V::nsub(V::nload(a + i), cv), d1 = V::nsub(V::nload(a + i + kW<V>), cv);
    s0 = V::nfma(d0, d0, s0);
    s1 = V::nfma(d1, d1, s1);
  }
  for (; i + kW<V> <= n; i += kW<V>) {
    typename V::nreg d = V::nsub(V::nload(a + i), cv);
    s0 = V::nfma(d, d, s0);
  }
  float s = V::nhsum(V::nadd(s0, s1));
  for (; i < n; ++i) s += (a[i] - c) * (a[i] - c);
  return s;
}

// y = a * s
template <class V>
void scale(const float* a, float s, float* y, int64_t n) {
  const typename V::nreg sv = V::nbcast(s);
  int64_t i = 0;
  for (; i + kW<V> <= n; i += kW<V>) V::nstore(y + i, V::nmul(V::nload(a + i), sv));
  for (; i < n; ++i) y[i] = a[i] * s;
}

template <class V>
void relu_fwd(int64_t n, const float* x, float* y) {
  int64_t i = 0;
  for (; i + kW<V> <= n; i += kW<V>) V::nstore(y + i, V::nrelu(V::nload(x + i)));
  for (; i < n; ++i) y[i] = 0.f > x[i] ? 0.f : x[i];
}

template <class V>
void relu_bwd(int64_t n, const float* y, const float* dy, float* dx) {
  int64_t i = 0;
  for (; i + kW<V> <= n; i += kW<V>) V::nstore(dx + i, V::npass_pos(V::nload(y + i), V::nload(dy + i)));
  for (; i < n; ++i) dx[i] = y[i] > 0.f ? dy[i] : 0.f;
}

template <class V>
void col_sum(int64_t rows, int64_t cols, const float* m, float* out, bool accumulate) {
  if (!accumulate)
    for (int64_t j = 0; j < cols; ++j) out[j] = 0.f;
  for (int64_t r = 0; r < rows; ++r) {  // row by row: out stays in L1, m streams
    const float* row = m + r * cols;
    int64_t j = 0;
    for (; j + kW<V> <= cols; j += kW<V>) V::nstore(out + j, V::nadd(V::nload(out + j), V::nload(row + j)));
    for (; j < cols; ++j) out[j] += row[j];
  }
}

template <class V>
void l2_fwd(int64_t r0, int64_t r1, int64_t dim, float eps, const float* x, float* y, float* norms) {
  for (int64_t r = r0; r < r1; ++r) {
    const float* xr = x + r * dim;
    const float n = __builtin_sqrtf(dot<V>(xr, xr, dim));
    norms[r] = n;
    scale<V>(xr, 1.f / (n > eps ? n : eps), y + r * dim, dim);
  }
}

template <class V>
void l2_bwd(int64_t r0, int64_t r1, int64_t dim, float eps, const float* y, const float* norms, const float* dy,
            float* dx) {
  for (int64_t r = r0; r < r1; ++r) {
    const float* yr = y + r * dim;
    const float* gr = dy + r * dim;
    float* dr = dx + r * dim;
    const float n = norms[r];
    if (!(n > eps)) {  // clamped: y = x / eps, linear
      scale<V>(gr, 1.f / eps, dr, dim);
      continue;
    }
    const float inv = 1.f / n, c = dot<V>(yr, gr, dim);
    const typename V::nreg iv = V::nbcast(inv), cv = V::nbcast(c);
    int64_t i = 0;
    for (; i + kW<V> <= dim; i += kW<V>)  // (dy - y c) / n
      V::nstore(dr + i, V::nmul(V::nsub(V::nload(gr + i), V::nmul(V::nload(yr + i), cv)), iv));
    for (; i < dim; ++i) dr[i] = (gr[i] - yr[i] * c) * inv;
  }
}

template <class V>
void ln_fwd(int64_t r0, int64_t r1, int64_t dim, float eps, const float* x, const float* gamma, const float* beta,
            float* y, float* mean, float* rstd) {
  const float inv_d = 1.f / static_cast<float>(dim);
  const typename V::nreg zero = V::nzero(), one = V::nbcast(1.f);
  for (int64_t r = r0; r < r1; ++r) {
    const float* xr = x + r * dim;
    float* yr = y + r * dim;
    const float mu = sum<V>(xr, dim) * inv_d;
    const float rs = 1.f / __builtin_sqrtf(centered_sumsq<V>(xr, mu, dim) * inv_d + eps);
    mean[r] = mu;
    rstd[r] = rs;
    const typename V::nreg muv = V::nbcast(mu), rsv = V::nbcast(rs);
    int64_t i = 0;
    for (; i + kW<V> <= dim; i += kW<V>) {
      typename V::nreg xh = V::nmul(V::nsub(V::nload(xr + i), muv), rsv);
      typename V::nreg g = gamma ? V::nload(gamma + i) : one, b = beta ? V::nload(beta + i) : zero;
      V::nstore(yr + i, V::nfma(xh, g, b));
    }
    for (; i < dim; ++i) {
      const float xh = (xr[i] - mu) * rs;
      yr[i] = xh * (gamma ? gamma[i] : 1.f) + (beta ? beta[i] : 0.f);
    }
  }
}

template <class V>
void ln_bwd(int64_t r0, int64_t r1, int64_t dim, const float* x, const float* gamma, const float* mean,
            const float* rstd, const float* dy, float* dx, float* dgamma_acc, float* dbeta_acc) {
  const float inv_d = 1.f / static_cast<float>(dim);
  const typename V::nreg one = V::nbcast(1.f);
  for (int64_t r = r0; r < r1; ++r) {
    const float* xr = x + r * dim;
    const float* gr = dy + r * dim;
    float* dr = dx + r * dim;
    const float mu = mean[r], rs = rstd[r];
    const typename V::nreg muv = V::nbcast(mu), rsv = V::nbcast(rs);
    // Pass 1 (reads dy only): a = sum(g), b = sum(g * xhat), and the parameter gradients.
    typename V::nreg av = V::nzero(), bv = V::nzero();
    int64_t i = 0;
    for (; i + kW<V> <= dim; i += kW<V>) {
      typename V::nreg xh = V::nmul(V::nsub(V::nload(xr + i), muv), rsv), d = V::nload(gr + i);
      typename V::nreg g = V::nmul(d, gamma ? V::nload(gamma + i) : one);
      av = V::nadd(av, g);
      bv = V::nfma(g, xh, bv);
      if (dgamma_acc) V::nstore(dgamma_acc + i, V::nfma(d, xh, V::nload(dgamma_acc + i)));
      if (dbeta_acc) V::nstore(dbeta_acc + i, V::nadd(V::nload(dbeta_acc + i), d));
    }
    float a = V::nhsum(av), b = V::nhsum(bv);
    for (; i < dim; ++i) {
      const float xh = (xr[i] - mu) * rs, d = gr[i], g = d * (gamma ? gamma[i] : 1.f);
      a += g;
      b += g * xh;
      if (dgamma_acc) dgamma_acc[i] += d * xh;
      if (dbeta_acc) dbeta_acc[i] += d;
    }
    a *= inv_d;
    b *= inv_d;
    // Pass 2: dx = rstd * (g - a - xhat * b); element i of dy is read before dx[i] is written.
    const typename V::nreg amv = V::nbcast(a), bmv = V::nbcast(b);
    for (i = 0; i + kW<V> <= dim; i += kW<V>) {
      typename V::nreg xh = V::nmul(V::nsub(V::nload(xr + i), muv), rsv);
      typename V::nreg g = V::nmul(V::nload(gr + i), gamma ? V::nload(gamma + i) : one);
      V::nstore(dr + i, V::nmul(rsv, V::nsub(V::nsub(g, amv), V::nmul(xh, bmv))));
    }
    for (; i < dim; ++i) {
      const float xh = (xr[i] - mu) * rs, g = gr[i] * (gamma ? gamma[i] : 1.f);
      dr[i] = rs * (g - a - xh * b);
    }
  }
}

template <class V>
simsage::nn::cpu::LayerKernels make_kernels() {
  simsage::nn::cpu::LayerKernels t;
  t.relu_fwd = &relu_fwd<V>;
  t.relu_bwd = &relu_bwd<V>;
  t.col_sum = &col_sum<V>;
  t.l2_fwd = &l2_fwd<V>;
  t.l2_bwd = &l2_bwd<V>;
  t.ln_fwd = &ln_fwd<V>;
  t.ln_bwd = &ln_bwd<V>;
  return t;
}

}  // namespace kern
