// The scalar (baseline) SIMD trait shared by the per-ISA kernel files (similarity search, GEMM, nn
// layers): a 16-float "register" `reg` built from kSub native registers `nreg`, and the operations
// the kernel bodies use. Include only inside an anonymous namespace of a source file compiled with
// baseline flags, so every function here has internal linkage and never leaks into baseline code.
// Requires <cstdint>.
#pragma once

struct ScalarV {
  struct reg {
    float v[16];
  };
  static constexpr int kMr = 4;
  static constexpr int kNp = 1;
  using nreg = reg;
  static constexpr int kSub = 1;
  static nreg nzero() { return zero(); }
  static nreg nload(const float* p) { return load(p); }
  static nreg nbcast(float x) { return bcast(x); }
  static nreg nfma(nreg a, nreg b, nreg c) { return fma(a, b, c); }
  // Element-wise and reduction steps on one native register (16 / kSub lanes), for the nn layer
  // kernels (layer.inl); every trait gives them the same meaning:
  //   nstore(p, a): stores a's lanes to p (unaligned);  nadd, nsub, nmul: lane-wise a + b, a - b, a * b;
  //   nrelu(a): lane-wise 0 > a ? 0 : a (a NaN passes through);  npass_pos(y, d): lane-wise y > 0 ? d : 0;
  //   nhsum(a): the sum of a's lanes.
  static void nstore(float* p, nreg r) { store(p, r); }
  static nreg nadd(nreg a, nreg b) {
    for (int j = 0; j < 16; ++j) a.v[j] += b.v[j];
    return a;
  }
  static nreg nsub(nreg a, nreg b) {
    for (int j = 0; j < 16; ++j) a.v[j] -= b.v[j];
    return a;
  }
  static nreg nmul(nreg a, nreg b) { return mul(a, b); }
  static nreg nrelu(nreg a) {
    for (int j = 0; j < 16; ++j) a.v[j] = 0.f > a.v[j] ? 0.f : a.v[j];
    return a;
  }
  static nreg npass_pos(nreg y, nreg d) {
    for (int j = 0; j < 16; ++j) d.v[j] = y.v[j] > 0.f ? d.v[j] : 0.f;
    return d;
  }
  static float nhsum(nreg a) {
    float s = 0.f;
    for (int j = 0; j < 16; ++j) s += a.v[j];
    return s;
  }
  // Transcendental steps for the temporal family's gate math (gru_cell.inl):
  //   ndiv(a, b): lane-wise a / b;
  //   nexp(a): lane-wise e^a with a clamped to [-87.33, 88.37] first (so the result is a normal
  //     float in [~1.2e-38, ~2.4e38]; a NaN passes through); the x86 traits use a Cephes-style
  //     polynomial (relative error ~2 ulp), this one the libm builtin.
  static nreg ndiv(nreg a, nreg b) {
    for (int j = 0; j < 16; ++j) a.v[j] /= b.v[j];
    return a;
  }
  static nreg nexp(nreg a) {
    for (int j = 0; j < 16; ++j) {
      float x = a.v[j];
      x = x < -87.33f ? -87.33f : (x > 88.37f ? 88.37f : x);
      a.v[j] = __builtin_expf(x);
    }
    return a;
  }
  static reg join(const nreg* a) { return a[0]; }
  static reg zero() {
    reg r;
    for (int j = 0; j < 16; ++j) r.v[j] = 0.f;
    return r;
  }
  static reg load(const float* p) {
    reg r;
    for (int j = 0; j < 16; ++j) r.v[j] = p[j];
    return r;
  }
  static reg bcast(float x) {
    reg r;
    for (int j = 0; j < 16; ++j) r.v[j] = x;
    return r;
  }
  static reg fma(reg a, reg b, reg c) {
    for (int j = 0; j < 16; ++j) c.v[j] += a.v[j] * b.v[j];
    return c;
  }
  static reg fmsub2(reg a, reg n) {
    for (int j = 0; j < 16; ++j) a.v[j] = 2.f * a.v[j] - n.v[j];
    return a;
  }
  // Bit j set when lane j is NaN or +-Inf: !(|x| < inf), false for NaN.
  static uint32_t nonfinite_mask(reg r) {
    uint32_t m = 0;
    for (int j = 0; j < 16; ++j) m |= static_cast<uint32_t>(!(__builtin_fabsf(r.v[j]) < __builtin_inff())) << j;
    return m;
  }
  static uint32_t ge_mask_v(reg r, reg t) {
    uint32_t m = 0;
    for (int j = 0; j < 16; ++j) m |= static_cast<uint32_t>(r.v[j] >= t.v[j]) << j;
    return m;
  }
  static uint32_t ge_mask(reg r, float t) {
    uint32_t m = 0;
    for (int j = 0; j < 16; ++j) m |= static_cast<uint32_t>(r.v[j] >= t) << j;
    return m;
  }
  static void store(float* p, reg r) {
    for (int j = 0; j < 16; ++j) p[j] = r.v[j];
  }
  static reg mul(reg a, reg b) {
    for (int j = 0; j < 16; ++j) a.v[j] *= b.v[j];
    return a;
  }
  static reg load_partial(const float* p, int n) {
    reg r;
    for (int j = 0; j < 16; ++j) r.v[j] = j < n ? p[j] : 0.f;
    return r;
  }
  static reg hsum16(const reg* a) {
    reg r;
    for (int j = 0; j < 16; ++j) {
      float s = 0.f;
      for (int l = 0; l < 16; ++l) s += a[j].v[l];
      r.v[j] = s;
    }
    return r;
  }
  static void transpose16(const float* src, int64_t stride, float* dst) {
    for (int d = 0; d < 16; ++d)
      for (int j = 0; j < 16; ++j) dst[d * 16 + j] = src[j * stride + d];
  }
};
