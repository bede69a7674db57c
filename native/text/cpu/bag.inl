// The hash embedding bag's row kernels, written once over a core/simd trait V and included by each
// per-ISA file (bag_scalar.cpp, bag_avx2.cpp, bag_avx512.cpp) inside an anonymous namespace
// (internal linkage, that file's instruction-set flags only). Vector loops cover the first
// kW * floor(n / kW) lanes; a scalar tail does the rest.
//
// Requires <cstdint> and text/cpu/bag_kernels.h, included by the ISA file first.

namespace kern {

template <class V>
constexpr int64_t kW = 16 / V::kSub;

template <class V>
void axpy(int64_t n, float a, const float* x, float* y) {
  const typename V::nreg av = V::nbcast(a);
  int64_t i = 0;
  for (; i + kW<V> <= n; i += kW<V>) V::nstore(y + i, V::nfma(av, V::nload(x + i), V::nload(y + i)));
  for (; i < n; ++i) y[i] += a * x[i];
}

template <class V>
void axpy2(int64_t n, float a0, const float* x0, float a1, const float* x1, float* y) {
  const typename V::nreg av = V::nbcast(a0), bv = V::nbcast(a1);
  int64_t i = 0;
  for (; i + kW<V> <= n; i += kW<V>)
    V::nstore(y + i, V::nfma(bv, V::nload(x1 + i), V::nfma(av, V::nload(x0 + i), V::nload(y + i))));
  for (; i < n; ++i) y[i] += a0 * x0[i] + a1 * x1[i];
}

template <class V>
float dot(int64_t n, const float* x, const float* y) {
  typename V::nreg acc = V::nzero();
  int64_t i = 0;
  for (; i + kW<V> <= n; i += kW<V>) acc = V::nfma(V::nload(x + i), V::nload(y + i), acc);
  float s = V::nhsum(acc);
  for (; i < n; ++i) s += x[i] * y[i];
  return s;
}

template <class V>
simsage::text::cpu::BagKernels make_kernels() {
  simsage::text::cpu::BagKernels t;
  t.axpy = &axpy<V>;
  t.axpy2 = &axpy2<V>;
  t.dot = &dot<V>;
  return t;
}

}  // namespace kern
