// Causal-conv body over a SIMD trait V: the GEMM register tile of nn/cpu/gemm.inl (kern::tile)
// fed by an A packer that gathers the K shifted input rows of each output row (the folded
// reduction l = k * cin + c), with the bias as the initial value and an optional ReLU pass while
// the task's output block is still in cache. Included inside an anonymous namespace of each per-ISA
// file after its trait and gemm.inl. Requires <cstdint>, <cstring> and temporal/cpu/conv_kernels.h.

namespace convk {

using simsage::nn::cpu::kKc;
using simsage::temporal::cpu::ConvTask;

// Packs rows [r0, r0 + rows) x reduction columns [k0, k0 + kc) into MR-row tiles (element (l, i)
// of a tile at l * MR + i), zero rows past the task and zero for taps outside the sequence.
template <int MR>
inline void pack_a(const ConvTask& t, int64_t r0, int64_t rows, int64_t k0, int64_t kc, float* dst) {
  const int64_t k1 = k0 + kc;
  for (int64_t i0 = 0; i0 < rows; i0 += MR) {
    float* tile = dst + (i0 / MR) * kc * MR;
    const int mr = static_cast<int>(kern::imin(MR, rows - i0));
    if (mr < MR) std::memset(tile, 0, sizeof(float) * kc * MR);
    for (int i = 0; i < mr; ++i) {
      const int64_t r = r0 + i0 + i;
      const int64_t b = r / t.steps, tt = r - b * t.steps;
      const float* seq = t.x + b * t.steps * t.cin;
      int64_t l = k0;
      while (l < k1) {
        const int64_t k = l / t.cin, c0 = l - k * t.cin;
        const int64_t len = kern::imin(t.cin - c0, k1 - l);
        const int64_t src_t = tt + t.offset[k];
        float* out = tile + (l - k0) * MR + i;
        if (src_t < 0 || src_t >= t.steps) {
          for (int64_t c = 0; c < len; ++c) out[c * MR] = 0.f;
        } else {
          const float* src = seq + src_t * t.cin + c0;
          for (int64_t c = 0; c < len; ++c) out[c * MR] = src[c];
        }
        l += len;
      }
    }
  }
}

template <class V>
void run(const ConvTask& t) {
  constexpr int MR = V::kMr, NP = V::kNp;
  const int64_t rows = t.r1 - t.r0;
  const int64_t ktot = t.taps * t.cin;
  const int64_t pst = ktot * 16;
  const int64_t c0 = t.p0 * 16, c1 = kern::imin(t.n, t.p1 * 16);
  if (c0 >= c1) return;
  if (!t.accumulate) {
    for (int64_t r = t.r0; r < t.r1; ++r) {
      float* yr = t.y + r * t.ldy;
      if (t.bias) {
        std::memcpy(yr + c0, t.bias + c0, sizeof(float) * (c1 - c0));
      } else {
        std::memset(yr + c0, 0, sizeof(float) * (c1 - c0));
      }
    }
  }
  // A short task whose rows lie in x as they are (one tap at offset 0: row r at x + r * cin, the
  // streaming GEMMs) reads them in place: no packing, same products in the same order.
  const bool in_place = 3 * rows <= MR && t.taps == 1 && t.offset[0] == 0;
  for (int64_t k0 = 0; k0 < ktot; k0 += kKc) {
    const int64_t kc = kern::imin(kKc, ktot - k0);
    if (in_place) {
      for (int64_t r = t.r0; r < t.r1; ++r)
        kern::row_panels<V>(t.x + r * t.cin + k0, 1, t.bpack + k0 * 16, pst, kc, t.p0, t.p1, t.n, t.y + r * t.ldy, 1.f,
                            1.f);
      continue;
    }
    pack_a<MR>(t, t.r0, rows, k0, kc, t.apack);
    if (3 * rows <= MR) {  // a short task (a few streams): row by row, not MR rows of work
      for (int64_t i = 0; i < rows; ++i)
        kern::row_panels<V>(t.apack + i, MR, t.bpack + k0 * 16, pst, kc, t.p0, t.p1, t.n, t.y + (t.r0 + i) * t.ldy, 1.f,
                            1.f);
      continue;
    }
    for (int64_t p = t.p0; p < t.p1; p += NP) {
      const float* bp = t.bpack + p * pst + k0 * 16;
      const int64_t ncols = kern::imin(16 * NP, t.n - p * 16);
      if (ncols <= 0) break;
      for (int64_t i0 = 0; i0 < rows; i0 += MR) {
        const int mr = static_cast<int>(kern::imin(MR, rows - i0));
        kern::tile<V>(t.apack + (i0 / MR) * kc * MR, bp, pst, kc, t.y + (t.r0 + i0) * t.ldy + p * 16, t.ldy, mr, ncols,
                      1.f, 1.f);
      }
    }
  }
  if (t.relu) {
    for (int64_t r = t.r0; r < t.r1; ++r) {
      float* yr = t.y + r * t.ldy;
      for (int64_t j = c0; j < c1; ++j) yr[j] = yr[j] > 0.f ? yr[j] : 0.f;
    }
  }
}

template <class V>
simsage::temporal::cpu::ConvKernels make_kernels() {
  simsage::temporal::cpu::ConvKernels tb;
  tb.run = &run<V>;
  tb.mr = V::kMr;
  tb.np = V::kNp;
  return tb;
}

}  // namespace convk
