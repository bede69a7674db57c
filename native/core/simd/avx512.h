// The AVX-512 SIMD trait shared by the per-ISA kernel files (similarity search, GEMM, nn
// layers): a 16-float "register" `reg` built from kSub native registers `nreg`, and the operations
// the kernel bodies use. Include only inside an anonymous namespace of a source file compiled with
// the avx512 flags of native/sources.json, so every function here has internal linkage and never
// leaks into baseline code.
// Requires <immintrin.h> and <cstdint>.
#pragma once

struct Avx512V {
  // GCC 12 flags the intrinsics' own _mm512_undefined_ps() pass-through operands (GCC PR 105593)
  // wherever they are inlined, so the whole trait silences that warning.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
  using reg = __m512;
  static constexpr int kMr = 12;
  static constexpr int kNp = 2;
  using nreg = __m512;
  static constexpr int kSub = 1;
  static nreg nzero() { return _mm512_setzero_ps(); }
  static nreg nload(const float* p) { return _mm512_loadu_ps(p); }
  static nreg nbcast(float x) { return _mm512_set1_ps(x); }
  static nreg nfma(nreg a, nreg b, nreg c) { return _mm512_fmadd_ps(a, b, c); }
  // nn layer steps on one zmm (meanings in scalar.h; nhsum is with the other reductions below).
  static void nstore(float* p, nreg r) { _mm512_storeu_ps(p, r); }
  static nreg nadd(nreg a, nreg b) { return _mm512_add_ps(a, b); }
  static nreg nsub(nreg a, nreg b) { return _mm512_sub_ps(a, b); }
  static nreg nmul(nreg a, nreg b) { return _mm512_mul_ps(a, b); }
  // maxps returns its second operand when either is NaN: 0 > a ? 0 : a.
  static nreg nrelu(nreg a) { return _mm512_max_ps(_mm512_setzero_ps(), a); }
  static nreg npass_pos(nreg y, nreg d) {
    return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(y, _mm512_setzero_ps(), _CMP_GT_OQ), d);
  }
  // Transcendental steps (meanings in scalar.h); exp as in avx2.h, scaled by 2^n with scalef.
  static nreg ndiv(nreg a, nreg b) { return _mm512_div_ps(a, b); }
  static nreg nexp(nreg x) {
    x = _mm512_min_ps(_mm512_set1_ps(88.37f), _mm512_max_ps(_mm512_set1_ps(-87.33f), x));  // NaN stays
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_add_ps(_mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r), _mm512_set1_ps(1.f));
    return _mm512_scalef_ps(p, n);
  }
  static reg join(const nreg* a) { return a[0]; }
  static reg zero() { return _mm512_setzero_ps(); }
  static reg load(const float* p) { return _mm512_loadu_ps(p); }
  static reg bcast(float x) { return _mm512_set1_ps(x); }
  static reg fma(reg a, reg b, reg c) { return _mm512_fmadd_ps(a, b, c); }
  static reg fmsub2(reg a, reg n) { return _mm512_fmsub_ps(a, _mm512_set1_ps(2.f), n); }
  static uint32_t ge_mask_v(reg r, reg t) { return static_cast<uint32_t>(_mm512_cmp_ps_mask(r, t, _CMP_GE_OQ)); }
  static uint32_t ge_mask(reg r, float t) {
    return static_cast<uint32_t>(_mm512_cmp_ps_mask(r, _mm512_set1_ps(t), _CMP_GE_OQ));
  }
  static void store(float* p, reg r) { _mm512_storeu_ps(p, r); }
  // Bit j set when lane j is NaN or +-Inf (fpclass: QNaN | SNaN | +Inf | -Inf).
  static uint32_t nonfinite_mask(reg r) { return static_cast<uint32_t>(_mm512_fpclass_ps_mask(r, 0x99)); }
  static reg mul(reg a, reg b) { return _mm512_mul_ps(a, b); }
  static reg load_partial(const float* p, int n) {
    return _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << n) - 1u), p);
  }
  static float nhsum(nreg r) {
    __m256 h = _mm256_add_ps(_mm512_castps512_ps256(r), _mm512_extractf32x8_ps(r, 1));
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  // Lane j = horizontal sum of a[j]: pairwise folds (ps, pd unpacks) leave 128-bit lane L of e[i]
  // holding lane L's partial sums of rows 4i..4i+3; two rounds of lane shuffles finish the sums.
  static reg hsum16(const reg* a) {
    __m512 c[8], e[4];
    for (int j = 0; j < 8; ++j)
      c[j] = _mm512_add_ps(_mm512_unpacklo_ps(a[2 * j], a[2 * j + 1]), _mm512_unpackhi_ps(a[2 * j], a[2 * j + 1]));
    for (int j = 0; j < 4; ++j) {
      __m512d x = _mm512_castps_pd(c[2 * j]), y = _mm512_castps_pd(c[2 * j + 1]);
      e[j] = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(x, y)), _mm512_castpd_ps(_mm512_unpackhi_pd(x, y)));
    }
    __m512 g01 = _mm512_add_ps(_mm512_shuffle_f32x4(e[0], e[1], 0x44), _mm512_shuffle_f32x4(e[0], e[1], 0xEE));
    __m512 g23 = _mm512_add_ps(_mm512_shuffle_f32x4(e[2], e[3], 0x44), _mm512_shuffle_f32x4(e[2], e[3], 0xEE));
    return _mm512_add_ps(_mm512_shuffle_f32x4(g01, g23, 0x88), _mm512_shuffle_f32x4(g01, g23, 0xDD));
  }
  // dst[d * 16 + j] = src[j * stride + d] for d, j < 16: 4 x 4 transposes inside 128-bit lanes
  // (unpack ps, then pd), then two rounds of lane shuffles gather each column's four quarters.
  static void transpose16(const float* src, int64_t stride, float* dst) {
    __m512 r[16], t[16];
    for (int j = 0; j < 16; ++j) r[j] = _mm512_loadu_ps(src + j * stride);
    for (int j = 0; j < 16; j += 2) {
      t[j] = _mm512_unpacklo_ps(r[j], r[j + 1]);
      t[j + 1] = _mm512_unpackhi_ps(r[j], r[j + 1]);
    }
    for (int j = 0; j < 16; j += 4) {  // r[j + m]: rows j..j+3 of column 4 * lane + m
      r[j] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[j]), _mm512_castps_pd(t[j + 2])));
      r[j + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[j]), _mm512_castps_pd(t[j + 2])));
      r[j + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[j + 1]), _mm512_castps_pd(t[j + 3])));
      r[j + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[j + 1]), _mm512_castps_pd(t[j + 3])));
    }
    for (int m = 0; m < 4; ++m) {
      __m512 a = _mm512_shuffle_f32x4(r[m], r[4 + m], 0x44), b = _mm512_shuffle_f32x4(r[m], r[4 + m], 0xEE);
      __m512 c = _mm512_shuffle_f32x4(r[8 + m], r[12 + m], 0x44), e = _mm512_shuffle_f32x4(r[8 + m], r[12 + m], 0xEE);
      _mm512_storeu_ps(dst + (0 + m) * 16, _mm512_shuffle_f32x4(a, c, 0x88));
      _mm512_storeu_ps(dst + (4 + m) * 16, _mm512_shuffle_f32x4(a, c, 0xDD));
      _mm512_storeu_ps(dst + (8 + m) * 16, _mm512_shuffle_f32x4(b, e, 0x88));
      _mm512_storeu_ps(dst + (12 + m) * 16, _mm512_shuffle_f32x4(b, e, 0xDD));
    }
  }
#pragma GCC diagnostic pop
};
