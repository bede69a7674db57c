// The AVX2 + FMA SIMD trait shared by the per-ISA kernel files (similarity search, GEMM, nn
// layers): a 16-float "register" `reg` built from kSub native registers `nreg`, and the operations
// the kernel bodies use. Include only inside an anonymous namespace of a source file compiled with
// the avx2 flags of native/sources.json, so every function here has internal linkage and never
// leaks into baseline code.
// Requires <immintrin.h> and <cstdint>.
#pragma once

struct Avx2V {
  struct reg {
    __m256 a, b;
  };
  static constexpr int kMr = 6;
  static constexpr int kNp = 1;
  using nreg = __m256;
  static constexpr int kSub = 2;
  static nreg nzero() { return _mm256_setzero_ps(); }
  static nreg nload(const float* p) { return _mm256_loadu_ps(p); }
  static nreg nbcast(float x) { return _mm256_set1_ps(x); }
  static nreg nfma(nreg a, nreg b, nreg c) { return _mm256_fmadd_ps(a, b, c); }
  // nn layer steps on one ymm (meanings in scalar.h).
  static void nstore(float* p, nreg r) { _mm256_storeu_ps(p, r); }
  static nreg nadd(nreg a, nreg b) { return _mm256_add_ps(a, b); }
  static nreg nsub(nreg a, nreg b) { return _mm256_sub_ps(a, b); }
  static nreg nmul(nreg a, nreg b) { return _mm256_mul_ps(a, b); }
  // maxps returns its second operand when either is NaN: 0 > a ? 0 : a.
  static nreg nrelu(nreg a) { return _mm256_max_ps(_mm256_setzero_ps(), a); }
  static nreg npass_pos(nreg y, nreg d) { return _mm256_and_ps(_mm256_cmp_ps(y, _mm256_setzero_ps(), _CMP_GT_OQ), d); }
  static float nhsum(nreg r) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(r), _mm256_extractf128_ps(r, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  // Transcendental steps (meanings in scalar.h). exp: n = round(x log2 e), r = x - n ln 2 (two-part
  // constant), e^r by Cephes' degree-6 polynomial, times 2^n built in the exponent bits.
  static nreg ndiv(nreg a, nreg b) { return _mm256_div_ps(a, b); }
  static nreg nexp(nreg x) {
    x = _mm256_min_ps(_mm256_set1_ps(88.37f), _mm256_max_ps(_mm256_set1_ps(-87.33f), x));  // NaN stays
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_add_ps(_mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r), _mm256_set1_ps(1.f));
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
  }
  static reg join(const nreg* a) { return {a[0], a[1]}; }
  static reg zero() { return {_mm256_setzero_ps(), _mm256_setzero_ps()}; }
  static reg load(const float* p) { return {_mm256_loadu_ps(p), _mm256_loadu_ps(p + 8)}; }
  static reg bcast(float x) {
    __m256 v = _mm256_set1_ps(x);
    return {v, v};
  }
  static reg fma(reg a, reg b, reg c) { return {_mm256_fmadd_ps(a.a, b.a, c.a), _mm256_fmadd_ps(a.b, b.b, c.b)}; }
  static reg fmsub2(reg a, reg n) {
    const __m256 two = _mm256_set1_ps(2.f);
    return {_mm256_fmsub_ps(a.a, two, n.a), _mm256_fmsub_ps(a.b, two, n.b)};
  }
  static uint32_t ge_mask_v(reg r, reg t) {
    uint32_t lo = static_cast<uint32_t>(_mm256_movemask_ps(_mm256_cmp_ps(r.a, t.a, _CMP_GE_OQ)));
    uint32_t hi = static_cast<uint32_t>(_mm256_movemask_ps(_mm256_cmp_ps(r.b, t.b, _CMP_GE_OQ)));
    return lo | (hi << 8);
  }
  static uint32_t ge_mask(reg r, float t) {
    const __m256 tv = _mm256_set1_ps(t);
    uint32_t lo = static_cast<uint32_t>(_mm256_movemask_ps(_mm256_cmp_ps(r.a, tv, _CMP_GE_OQ)));
    uint32_t hi = static_cast<uint32_t>(_mm256_movemask_ps(_mm256_cmp_ps(r.b, tv, _CMP_GE_OQ)));
    return lo | (hi << 8);
  }
  static void store(float* p, reg r) {
    _mm256_storeu_ps(p, r.a);
    _mm256_storeu_ps(p + 8, r.b);
  }
  // Bit j set when lane j is NaN or +-Inf: !(|x| < inf), unordered compares true for NaN.
  static uint32_t nonfinite_mask(reg r) {
    const __m256 abs = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff)), inf = _mm256_set1_ps(__builtin_inff());
    uint32_t lo = static_cast<uint32_t>(_mm256_movemask_ps(_mm256_cmp_ps(_mm256_and_ps(r.a, abs), inf, _CMP_NLT_UQ)));
    uint32_t hi = static_cast<uint32_t>(_mm256_movemask_ps(_mm256_cmp_ps(_mm256_and_ps(r.b, abs), inf, _CMP_NLT_UQ)));
    return lo | (hi << 8);
  }
  static reg mul(reg a, reg b) { return {_mm256_mul_ps(a.a, b.a), _mm256_mul_ps(a.b, b.b)}; }
  static reg load_partial(const float* p, int n) {
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    __m256i ma = _mm256_cmpgt_epi32(_mm256_set1_epi32(n), idx);
    __m256i mb = _mm256_cmpgt_epi32(_mm256_set1_epi32(n - 8), idx);
    return {_mm256_maskload_ps(p, ma), _mm256_maskload_ps(p + 8, mb)};
  }
  // Lane j = horizontal sum of a[j]: fold each row to 8 lanes, then hadd trees over rows 0-7 and
  // 8-15 (each leaves 128-bit halves to add across).
  static reg hsum16(const reg* a) {
    __m256 h[2];
    for (int half = 0; half < 2; ++half) {
      __m256 r[8];
      for (int j = 0; j < 8; ++j) r[j] = _mm256_add_ps(a[8 * half + j].a, a[8 * half + j].b);
      __m256 x = _mm256_hadd_ps(_mm256_hadd_ps(r[0], r[1]), _mm256_hadd_ps(r[2], r[3]));
      __m256 y = _mm256_hadd_ps(_mm256_hadd_ps(r[4], r[5]), _mm256_hadd_ps(r[6], r[7]));
      h[half] = _mm256_add_ps(_mm256_permute2f128_ps(x, y, 0x20), _mm256_permute2f128_ps(x, y, 0x31));
    }
    return {h[0], h[1]};
  }
  // dst[d * ds + j] = src[j * stride + d] for d, j < 8 (one 8 x 8 block).
  static void transpose8(const float* src, int64_t stride, float* dst, int64_t ds) {
    __m256 r[8], t[8];
    for (int j = 0; j < 8; ++j) r[j] = _mm256_loadu_ps(src + j * stride);
    for (int j = 0; j < 8; j += 2) {
      t[j] = _mm256_unpacklo_ps(r[j], r[j + 1]);
      t[j + 1] = _mm256_unpackhi_ps(r[j], r[j + 1]);
    }
    for (int j = 0; j < 8; j += 4) {  // r[j + m]: rows j..j+3 of column 4 * lane + m
      r[j] = _mm256_shuffle_ps(t[j], t[j + 2], 0x44);
      r[j + 1] = _mm256_shuffle_ps(t[j], t[j + 2], 0xEE);
      r[j + 2] = _mm256_shuffle_ps(t[j + 1], t[j + 3], 0x44);
      r[j + 3] = _mm256_shuffle_ps(t[j + 1], t[j + 3], 0xEE);
    }
    for (int m = 0; m < 4; ++m) {
      _mm256_storeu_ps(dst + m * ds, _mm256_permute2f128_ps(r[m], r[4 + m], 0x20));
      _mm256_storeu_ps(dst + (4 + m) * ds, _mm256_permute2f128_ps(r[m], r[4 + m], 0x31));
    }
  }
  // dst[d * 16 + j] = src[j * stride + d] for d, j < 16, as four 8 x 8 blocks.
  static void transpose16(const float* src, int64_t stride, float* dst) {
    for (int rb = 0; rb < 16; rb += 8)
      for (int cb = 0; cb < 16; cb += 8) transpose8(src + rb * stride + cb, stride, dst + cb * 16 + rb, 16);
  }
};
