// The nn row/elementwise kernels, written once over a SIMD trait V and included by each per-ISA
// file (layers.cpp, layers_avx2.cpp, layers_avx512.cpp) inside an anonymous namespace, so each
// instantiation has internal linkage and is compiled with that file's instruction-set flags only.
// Nothing here instantiates a std template (std::max<float> & co. would be COMDATs that the linker
// may share with baseline files): helpers are hand-written, sqrt is the builtin.
//
// V provides: `reg` (W floats), W, zero(), bcast(x), load(p), store(p, r) (unaligned),
// add, sub, mul, fma(a, b, c) = a * b + c, relu(a) = (0 > a ? 0 : a) lane-wise (NaN passes),
// pass_pos(y, d) = (y > 0 ? d : 0) lane-wise, hsum(r).
// Vector loops cover the first W * floor(n / W) elements; a scalar tail does the rest with the
// same formulas. Sums use two accumulators to shorten the dependency chain.
//
// Requires <cstdint> and nn/cpu/layers_kernels.h, included by the ISA file first.

namespace nnk {

template <class V>
float sum(const float* a, int64_t n) {
  typename V::reg s0 = V::zero(), s1 = V::zero();
  int64_t i = 0;
  for (; i + 2 * V::W <= n; i += 2 * V::W) {
    s0 = V::add(s0, V::load(a + i));
    s1 = V::add(s1, V::load(a + i + V::W));
  }
  for (; i + V::W <= n; i += V::W) s0 = V::add(s0, V::load(a + i));
  float s = V::hsum(V::add(s0, s1));
  for (; i < n; ++i) s += a[i];
  return s;
}

template <class V>
float dot(const float* a, const float* b, int64_t n) {
  typename V::reg s0 = V::zero(), s1 = V::zero();
  int64_t i = 0;
  for (; i + 2 * V::W <= n; i += 2 * V::W) {
    s0 = V::fma(V::load(a + i), V::load(b + i), s0);
    s1 = V::fma(V::load(a + i + V::W), V::load(b + i + V::W), s1);
  }
  for (; i + V::W <= n; i += V::W) s0 = V::fma(V::load(a + i), V::load(b + i), s0);
  float s = V::hsum(V::add(s0, s1));
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

// sum((a - c)^2)
template <class V>
float centered_sumsq(const float* a, float c, int64_t n) {
  const typename V::reg cv = V::bcast(c);
  typename V::reg s0 = V::zero(), s1 = V::zero();
  int64_t i = 0;
  for (; i + 2 * V::W <= n; i += 2 * V::W) {
    typename V::reg d0 = V::sub(V::load(a + i), cv), d1 = V::sub(V::load(a + i + V::W), cv);
    s0 = V::fma(d0, d0, s0);
    s1 = V::fma(d1, d1, s1);
  }
  for (; i + V::W <= n; i += V::W) {
    typename V::reg d = V::sub(V::load(a + i), cv);
    s0 = V::fma(d, d, s0);
  }
  float s = V::hsum(V::add(s0, s1));
  for (; i < n; ++i) s += (a[i] - c) * (a[i] - c);
  return s;
}

// y = a * s
template <class V>
void scale(const float* a, float s, float* y, int64_t n) {
  const typename V::reg sv = V::bcast(s);
  int64_t i = 0;
  for (; i + V::W <= n; i += V::W) V::store(y + i, V::mul(V::load(a + i), sv));
  for (; i < n; ++i) y[i] = a[i] * s;
}

template <class V>
void relu_fwd(int64_t n, const float* x, float* y) {
  int64_t i = 0;
  for (; i + V::W <= n; i += V::W) V::store(y + i, V::relu(V::load(x + i)));
  for (; i < n; ++i) y[i] = 0.f > x[i] ? 0.f : x[i];
}

template <class V>
void relu_bwd(int64_t n, const float* y, const float* dy, float* dx) {
  int64_t i = 0;
  for (; i + V::W <= n; i += V::W) V::store(dx + i, V::pass_pos(V::load(y + i), V::load(dy + i)));
  for (; i < n; ++i) dx[i] = y[i] > 0.f ? dy[i] : 0.f;
}

template <class V>
void col_sum(int64_t rows, int64_t cols, const float* m, float* out, bool accumulate) {
  if (!accumulate)
    for (int64_t j = 0; j < cols; ++j) out[j] = 0.f;
  for (int64_t r = 0; r < rows; ++r) {  // row by row: out stays in L1, m streams
    const float* row = m + r * cols;
    int64_t j = 0;
    for (; j + V::W <= cols; j += V::W) V::store(out + j, V::add(V::load(out + j), V::load(row + j)));
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
    const typename V::reg iv = V::bcast(inv), cv = V::bcast(c);
    int64_t i = 0;
    for (; i + V::W <= dim; i += V::W)  // (dy - y c) / n
      V::store(dr + i, V::mul(V::sub(V::load(gr + i), V::mul(V::load(yr + i), cv)), iv));
    for (; i < dim; ++i) dr[i] = (gr[i] - yr[i] * c) * inv;
  }
}

template <class V>
void ln_fwd(int64_t r0, int64_t r1, int64_t dim, float eps, const float* x, const float* gamma, const float* beta,
            float* y, float* mean, float* rstd) {
  const float inv_d = 1.f / static_cast<float>(dim);
  const typename V::reg zero = V::zero(), one = V::bcast(1.f);
  for (int64_t r = r0; r < r1; ++r) {
    const float* xr = x + r * dim;
    float* yr = y + r * dim;
    const float mu = sum<V>(xr, dim) * inv_d;
    const float rs = 1.f / __builtin_sqrtf(centered_sumsq<V>(xr, mu, dim) * inv_d + eps);
    mean[r] = mu;
    rstd[r] = rs;
    const typename V::reg muv = V::bcast(mu), rsv = V::bcast(rs);
    int64_t i = 0;
    for (; i + V::W <= dim; i += V::W) {
      typename V::reg xh = V::mul(V::sub(V::load(xr + i), muv), rsv);
      typename V::reg g = gamma ? V::load(gamma + i) : one, b = beta ? V::load(beta + i) : zero;
      V::store(yr + i, V::fma(xh, g, b));
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
  const typename V::reg one = V::bcast(1.f);
  for (int64_t r = r0; r < r1; ++r) {
    const float* xr = x + r * dim;
    const float* gr = dy + r * dim;
    float* dr = dx + r * dim;
    const float mu = mean[r], rs = rstd[r];
    const typename V::reg muv = V::bcast(mu), rsv = V::bcast(rs);
    // Pass 1 (reads dy only): a = sum(g), b = sum(g * xhat), and the parameter gradients.
    typename V::reg av = V::zero(), bv = V::zero();
    int64_t i = 0;
    for (; i + V::W <= dim; i += V::W) {
      typename V::reg xh = V::mul(V::sub(V::load(xr + i), muv), rsv), d = V::load(gr + i);
      typename V::reg g = V::mul(d, gamma ? V::load(gamma + i) : one);
      av = V::add(av, g);
      bv = V::fma(g, xh, bv);
      if (dgamma_acc) V::store(dgamma_acc + i, V::fma(d, xh, V::load(dgamma_acc + i)));
      if (dbeta_acc) V::store(dbeta_acc + i, V::add(V::load(dbeta_acc + i), d));
    }
    float a = V::hsum(av), b = V::hsum(bv);
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
    const typename V::reg amv = V::bcast(a), bmv = V::bcast(b);
    for (i = 0; i + V::W <= dim; i += V::W) {
      typename V::reg xh = V::mul(V::sub(V::load(xr + i), muv), rsv);
      typename V::reg g = V::mul(V::load(gr + i), gamma ? V::load(gamma + i) : one);
      V::store(dr + i, V::mul(rsv, V::sub(V::sub(g, amv), V::mul(xh, bmv))));
    }
    for (; i < dim; ++i) {
      const float xh = (xr[i] - mu) * rs, g = gr[i] * (gamma ? gamma[i] : 1.f);
      dr[i] = rs * (g - a - xh * b);
    }
  }
}

template <class V>
simsage::cpu::NnKernels make_table() {
  simsage::cpu::NnKernels t;
  t.relu_fwd = &relu_fwd<V>;
  t.relu_bwd = &relu_bwd<V>;
  t.col_sum = &col_sum<V>;
  t.l2_fwd = &l2_fwd<V>;
  t.l2_bwd = &l2_bwd<V>;
  t.ln_fwd = &ln_fwd<V>;
  t.ln_bwd = &ln_bwd<V>;
  return t;
}

}  // namespace nnk
