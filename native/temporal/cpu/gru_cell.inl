// The GRU gate math of one batch row, written once over a core/simd trait V and included by each
// per-ISA file (gru_cell_scalar.cpp, gru_cell_avx2.cpp, gru_cell_avx512.cpp) inside an anonymous
// namespace (internal linkage, that file's instruction-set flags only). Nothing here instantiates a
// std template; exp is the trait's nexp (core/simd/scalar.h) in vector loops and the builtin in the
// scalar tail.
//
// Forward (PyTorch's torch.nn.GRU):
//   r = s(a_r), z = s(a_z), n = tanh(a_n), h' = n + z (h - n), with s(a) = 1 / (1 + e^-a) and
//   tanh(a) = 2 s(2a) - 1;  a_r = gi_r + b_ir + gh_r + b_hr, a_z likewise,
//   a_n = gi_n + b_in + r hn, hn = gh_n + b_hn.
// Backward, from dh = dL/dh':
//   dn = dh (1 - z), dz = dh (h - n), dL/dh (direct) = dh z;
//   da_n = dn (1 - n^2), da_r = da_n hn r (1 - r), da_z = dz z (1 - z);
//   dgi = (da_r, da_z, da_n), dgh = (da_r, da_z, da_n r).
// Vector loops cover the first kW * floor(H / kW) lanes; a scalar tail does the rest with the same
// formulas.
//
// Requires <cstdint> and temporal/cpu/gru_cell_kernels.h, included by the ISA file first.

namespace kern {

template <class V>
constexpr int64_t kW = 16 / V::kSub;

inline float sigmoid1(float a) {
  a = a < -87.33f ? -87.33f : (a > 88.37f ? 88.37f : a);
  return 1.f / (1.f + __builtin_expf(-a));
}

template <class V>
inline typename V::nreg vsigmoid(typename V::nreg a) {
  const typename V::nreg one = V::nbcast(1.f);
  return V::ndiv(one, V::nadd(one, V::nexp(V::nsub(V::nzero(), a))));
}

template <class V>
inline typename V::nreg vtanh(typename V::nreg a) {
  const typename V::nreg two = V::nbcast(2.f);
  return V::nsub(V::nmul(two, vsigmoid<V>(V::nmul(two, a))), V::nbcast(1.f));
}

template <class V>
void fwd(int64_t H, const float* gi, const float* gh, const float* b_ih, const float* b_hh, const float* hp,
         float* gates, float* h) {
  using nreg = typename V::nreg;
  int64_t j = 0;
  for (; j + kW<V> <= H; j += kW<V>) {
    const nreg ar =
        V::nadd(V::nadd(V::nload(gi + j), V::nload(b_ih + j)), V::nadd(V::nload(gh + j), V::nload(b_hh + j)));
    const nreg az = V::nadd(V::nadd(V::nload(gi + H + j), V::nload(b_ih + H + j)),
                            V::nadd(V::nload(gh + H + j), V::nload(b_hh + H + j)));
    const nreg hn = V::nadd(V::nload(gh + 2 * H + j), V::nload(b_hh + 2 * H + j));
    const nreg xn = V::nadd(V::nload(gi + 2 * H + j), V::nload(b_ih + 2 * H + j));
    const nreg r = vsigmoid<V>(ar), z = vsigmoid<V>(az);
    const nreg n = vtanh<V>(V::nfma(r, hn, xn));
    const nreg hv = V::nload(hp + j);
    const nreg out = V::nfma(z, V::nsub(hv, n), n);
    V::nstore(gates + j, r);
    V::nstore(gates + H + j, z);
    V::nstore(gates + 2 * H + j, n);
    V::nstore(gates + 3 * H + j, hn);
    V::nstore(h + j, out);
  }
  for (; j < H; ++j) {
    const float r = sigmoid1(gi[j] + b_ih[j] + (gh[j] + b_hh[j]));
    const float z = sigmoid1(gi[H + j] + b_ih[H + j] + (gh[H + j] + b_hh[H + j]));
    const float hn = gh[2 * H + j] + b_hh[2 * H + j];
    const float n = 2.f * sigmoid1(2.f * (r * hn + (gi[2 * H + j] + b_ih[2 * H + j]))) - 1.f;
    const float out = z * (hp[j] - n) + n;
    gates[j] = r;
    gates[H + j] = z;
    gates[2 * H + j] = n;
    gates[3 * H + j] = hn;
    h[j] = out;
  }
}

template <class V>
void bwd(int64_t H, const float* gates, const float* hp, const float* dh, float* dgi, float* dgh, float* dhp) {
  using nreg = typename V::nreg;
  const nreg one = V::nbcast(1.f);
  int64_t j = 0;
  for (; j + kW<V> <= H; j += kW<V>) {
    const nreg r = V::nload(gates + j), z = V::nload(gates + H + j), n = V::nload(gates + 2 * H + j);
    const nreg hn = V::nload(gates + 3 * H + j);
    const nreg d = V::nload(dh + j), hv = V::nload(hp + j);
    const nreg dan = V::nmul(V::nmul(d, V::nsub(one, z)), V::nsub(one, V::nmul(n, n)));
    const nreg dar = V::nmul(V::nmul(dan, hn), V::nmul(r, V::nsub(one, r)));
    const nreg daz = V::nmul(V::nmul(d, V::nsub(hv, n)), V::nmul(z, V::nsub(one, z)));
    V::nstore(dgi + j, dar);
    V::nstore(dgi + H + j, daz);
    V::nstore(dgi + 2 * H + j, dan);
    V::nstore(dgh + j, dar);
    V::nstore(dgh + H + j, daz);
    V::nstore(dgh + 2 * H + j, V::nmul(dan, r));
    V::nstore(dhp + j, V::nmul(d, z));
  }
  for (; j < H; ++j) {
    const float r = gates[j], z = gates[H + j], n = gates[2 * H + j], hn = gates[3 * H + j];
    const float d = dh[j];
    const float dan = d * (1.f - z) * (1.f - n * n);
    const float dar = dan * hn * (r * (1.f - r));
    const float daz = d * (hp[j] - n) * (z * (1.f - z));
    dgi[j] = dar;
    dgi[H + j] = daz;
    dgi[2 * H + j] = dan;
    dgh[j] = dar;
    dgh[H + j] = daz;
    dgh[2 * H + j] = dan * r;
    dhp[j] = d * z;
  }
}

template <class V>
simsage::temporal::cpu::GruCellKernels make_kernels() {
  simsage::temporal::cpu::GruCellKernels tb;
  tb.fwd = &fwd<V>;
  tb.bwd = &bwd<V>;
  return tb;
}

}  // namespace kern
