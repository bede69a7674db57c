// GRU forward and backward through time on the CPU (semantics and layouts in temporal/temporal.h).
//
// Forward, per layer: one GEMM projects every step's input (X[B*T, in] W_ih^T, written into the
// first 3H columns of the gates rows, ldc = 4H); then, per fixed chunk of batch rows on one thread
// (rows never interact through time), for every step the chunk's recurrent GEMM h W_hh^T (W_hh
// packed once per layer) and the gate kernel over its rows, which also prepares the next step's
// previous state (carry applied, or passed through where the next step is masked).
// Backward, per layer from the top: per row chunk, per step (last to first) the gate backward over
// its rows and its rows of dh += dGh_t W_hh; then the weight gradients as GEMMs over all B*T rows
// (dW_ih += dGi^T X, dW_hh += dGh^T Hprev, each as (X^T dG)^T), the bias gradients summed per row
// chunk inside the gate pass, and dX = dGi W_ih.
// Row passes use fixed chunks (core/parallel.h) and the GEMMs compute each element in a fixed order,
// so results do not depend on the thread count.
#include <cstdint>
#include <cstring>
#include <vector>

#include "core/parallel.h"
#include "nn/cpu/gemm_kernels.h"
#include "nn/nn.h"
#include "temporal/cpu/gru_cell_kernels.h"
#include "temporal/cpu/gru_checks.h"
#include "temporal/temporal.h"

namespace simsage {

namespace {

using temporal::cpu::GruCellKernels;

// Reusable per-thread buffers (page faults cost more than a step of small GEMMs).
std::vector<float>& scratch(int slot) {
  thread_local std::vector<float> v[7];
  return v[slot];
}

float* grow(int slot, int64_t n) {
  std::vector<float>& v = scratch(slot);
  if (v.size() < static_cast<size_t>(n)) v.resize(static_cast<size_t>(n));
  return v.data();
}

// Rows per chunk of a gate pass: about 4K floats of state per task, fixed by H only.
int64_t row_chunk(int64_t H) {
  const int64_t r = 4096 / H;
  return r < 1 ? 1 : r;
}

// C (m x n, ldc) = op(A) op(B) + beta C.
void mm(SimdLevel level, bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
        int64_t ldb, float beta, float* c, int64_t ldc, int threads) {
  GemmParams g;
  g.trans_a = ta;
  g.trans_b = tb;
  g.m = m;
  g.n = n;
  g.k = k;
  g.a = a;
  g.lda = lda;
  g.b = b;
  g.ldb = ldb;
  g.beta = beta;
  g.c = c;
  g.ldc = ldc;
  g.threads = threads;
  gemm_at(level, g);
}

// dw (3H x n) += dG^T X for dG (rows x 3H) and X (rows x n): computed as tmp (n x 3H) = X^T dG,
// so the GEMM gathers the narrower operand X by columns and packs dG's rows contiguously, then
// added to dw transposed (n x 3H is small).
void add_weight_grad(SimdLevel level, int64_t rows, int64_t h3, int64_t n, const float* dg, const float* x, float* dw,
                     float* tmp, int threads) {
  mm(level, true, false, n, h3, rows, x, n, dg, h3, 0.f, tmp, h3, threads);
  for (int64_t o = 0; o < h3; ++o)
    for (int64_t i = 0; i < n; ++i) dw[o * n + i] += tmp[i * h3 + o];
}

// op(B) (k x n) packed for nn's GEMM tile (nn/cpu/gemm_kernels.h: panels of 16 columns, element
// (l, j) of panel p at p * k * 16 + l * 16 + j, zero past n, the panel count a multiple of np):
// op(B)[l, j] = b[j * k + l] when trans (W_hh^T for the forward), b[l * n + j] otherwise.
int64_t pack_b(const nn::cpu::GemmKernels& gk, const float* b, int64_t k, int64_t n, bool trans, int slot) {
  const int64_t panels = ((n + 15) / 16 + gk.np - 1) / gk.np * gk.np;
  float* dst = grow(slot, panels * k * 16);
  for (int64_t p = 0; p < panels; ++p)
    for (int64_t l = 0; l < k; ++l)
      for (int64_t j = 0; j < 16; ++j) {
        const int64_t c = p * 16 + j;
        dst[(p * k + l) * 16 + j] = c >= n ? 0.f : trans ? b[c * k + l] : b[l * n + c];
      }
  return panels;
}

// The rows [b0, b1) of C (ldc) = A op(B) + beta C, A row b at a + b * lda, on the calling thread
// with op(B) packed by pack_b; apack: ceil((b1 - b0) / mr) * mr * min(kKc, k) floats. Every element
// is summed in the same order as gemm_at's, whatever the row range.
void rows_mm(const nn::cpu::GemmKernels& gk, const float* a, int64_t lda, const float* bpack, int64_t panels, int64_t n,
             int64_t k, float beta, float* c, int64_t ldc, int64_t b0, int64_t b1, float* apack) {
  nn::cpu::Task t;
  t.a = a;
  t.lda = lda;
  t.bpack = bpack;
  t.m = b1;
  t.n = n;
  t.k = k;
  t.c = c;
  t.ldc = ldc;
  t.beta = beta;
  t.i0 = b0;
  t.i1 = b1;
  t.p0 = 0;
  t.p1 = panels;
  t.apack = apack;
  gk.run(t);
}

// Scratch of one worker's A tiles for rows_mm over `rows` rows.
float* apack_scratch(const nn::cpu::GemmKernels& gk, int64_t rows, int64_t k) {
  thread_local std::vector<float> v;
  const int64_t kc = k < nn::cpu::kKc ? k : nn::cpu::kKc;
  const size_t need = static_cast<size_t>((rows + gk.mr - 1) / gk.mr * gk.mr * kc);
  if (v.size() < need) v.resize(need);
  return v.data();
}

inline bool runs(const uint8_t* mask, int64_t i) { return !mask || mask[i] != 0; }

// hp = (step runs ? carry : 1) * h, the previous state a step sees (h may alias hp).
inline void prev_state(const float* h, float* hp, int64_t H, const float* carry, const uint8_t* mask, int64_t i) {
  const float c = runs(mask, i) && carry ? carry[i] : 1.f;
  if (c == 1.f) {
    if (hp != h) std::memcpy(hp, h, sizeof(float) * H);
  } else {
    for (int64_t j = 0; j < H; ++j) hp[j] = c * h[j];
  }
}

}  // namespace

int64_t gru_tensor_size(const GruWeights& w, int64_t i) {
  const int64_t H = w.hidden_size, in = i / 4 == 0 ? w.input_size : H;
  switch (i % 4) {
    case 0:
      return 3 * H * in;
    case 1:
      return 3 * H * H;
    default:
      return 3 * H;
  }
}

int64_t gru_workspace_size(int64_t layers, int64_t batch, int64_t steps, int64_t hidden_size) {
  return layers * batch * steps * 6 * hidden_size;
}

void gru_forward_at(SimdLevel level, const GruForwardParams& p) {
  temporal::cpu::check_gru_forward(p);
  const GruCellKernels& kern = temporal::cpu::gru_cell_kernels_for(level);
  const nn::cpu::GemmKernels& gk = nn::cpu::gemm_kernels_for(level);
  const int64_t L = p.w.layers, B = p.batch, T = p.steps, D = p.w.input_size, H = p.w.hidden_size;
  const int64_t BT = B * T, G = 4 * H;
  float* ws = p.workspace ? p.workspace : grow(0, gru_workspace_size(L, B, T, H));
  float* gh = grow(1, B * 3 * H);
  const int threads = p.threads;
  const int64_t chunk = row_chunk(H);
  for (int64_t l = 0; l < L; ++l) {
    float* gates = ws + l * BT * 6 * H;  // [B, T, 4H]
    float* hp = gates + BT * G;          // [B, T, H]
    float* out = l == L - 1 ? p.y : hp + BT * H;
    const float* in = l == 0 ? p.x : ws + (l - 1) * BT * 6 * H + BT * 5 * H;
    const int64_t in_dim = l == 0 ? D : H;
    const float* w_ih = p.w.tensors[4 * l];
    const float* w_hh = p.w.tensors[4 * l + 1];
    const float* b_ih = p.w.tensors[4 * l + 2];
    const float* b_hh = p.w.tensors[4 * l + 3];
    mm(level, false, true, BT, 3 * H, in_dim, in, in_dim, w_ih, in_dim, 0.f, gates, G, threads);
    for (int64_t b = 0; b < B; ++b) {  // the first step's previous state
      float* dst = hp + b * T * H;
      if (p.h0) {
        prev_state(p.h0 + (l * B + b) * H, dst, H, p.carry, p.mask, b * T);
      } else {
        std::memset(dst, 0, sizeof(float) * H);
      }
    }
    // Rows are independent through time: each fixed chunk of rows runs its own recurrent GEMM and
    // gate pass for every step, one pool hand-off per layer instead of three per step.
    const int64_t panels = pack_b(gk, w_hh, H, 3 * H, true, 6);
    const float* bpack = scratch(6).data();
    parallel_chunks(B, chunk, threads, [&](int64_t b0, int64_t b1, int) {
      float* apack = apack_scratch(gk, b1 - b0, H);
      for (int64_t t = 0; t < T; ++t) {
        rows_mm(gk, hp + t * H, T * H, bpack, panels, 3 * H, H, 0.f, gh, 3 * H, b0, b1, apack);
        for (int64_t b = b0; b < b1; ++b) {
          const int64_t i = b * T + t;
          float* h = out + i * H;
          if (runs(p.mask, i)) {
            kern.fwd(H, gates + i * G, gh + b * 3 * H, b_ih, b_hh, hp + i * H, gates + i * G, h);
          } else {
            std::memcpy(h, hp + i * H, sizeof(float) * H);
          }
          if (t + 1 < T) prev_state(h, hp + (i + 1) * H, H, p.carry, p.mask, i + 1);
        }
      }
    });
    if (p.h_n)
      for (int64_t b = 0; b < B; ++b)
        std::memcpy(p.h_n + (l * B + b) * H, out + (b * T + T - 1) * H, sizeof(float) * H);
  }
}

void gru_forward(const GruForwardParams& p) { gru_forward_at(active_simd_level(), p); }

void gru_backward_at(SimdLevel level, const GruBackwardParams& p) {
  temporal::cpu::check_gru_backward(p);
  const GruCellKernels& kern = temporal::cpu::gru_cell_kernels_for(level);
  const nn::cpu::GemmKernels& gk = nn::cpu::gemm_kernels_for(level);
  const int64_t L = p.w.layers, B = p.batch, T = p.steps, D = p.w.input_size, H = p.w.hidden_size;
  const int64_t BT = B * T, G = 4 * H, H3 = 3 * H;
  float* dgi = grow(0, BT * H3);                      // [B, T, 3H]
  float* dgh = grow(1, BT * H3);                      // [B, T, 3H]
  float* dbelow = L > 1 ? grow(2, BT * H) : nullptr;  // dL/d(outputs of the layer below)
  float* dh = grow(3, B * H);                         // dL/dh of the current step, per row
  const int threads = p.threads;
  const int64_t chunk = row_chunk(H), chunks = (B + chunk - 1) / chunk;
  // Bias gradients: per row chunk, sums of its rows' dGi and dGh over all steps (2 x 3H floats per
  // chunk), reduced in chunk order at the end, so the sum order is fixed by the shape.
  float* part = p.grads.tensors ? grow(4, chunks * 2 * H3) : nullptr;
  float* tmp = p.grads.tensors ? grow(5, (D > H ? D : H) * H3) : nullptr;
  for (int64_t l = L - 1; l >= 0; --l) {
    if (part) std::memset(part, 0, sizeof(float) * chunks * 2 * H3);
    const float* gates = p.workspace + l * BT * 6 * H;
    const float* hp = gates + BT * G;
    const float* in = l == 0 ? p.x : p.workspace + (l - 1) * BT * 6 * H + BT * 5 * H;
    const int64_t in_dim = l == 0 ? D : H;
    const float* dyl = l == L - 1 ? p.dy : dbelow;
    const float* w_ih = p.w.tensors[4 * l];
    const float* w_hh = p.w.tensors[4 * l + 1];
    if (p.dh_n) {
      std::memcpy(dh, p.dh_n + l * B * H, sizeof(float) * B * H);
    } else {
      std::memset(dh, 0, sizeof(float) * B * H);
    }
    // As the forward: each fixed chunk of rows runs every step (gate backward, then its rows of
    // dh += dGh_t W_hh) on one thread.
    const int64_t panels = pack_b(gk, w_hh, H3, H, false, 6);
    const float* bpack = scratch(6).data();
    parallel_chunks(B, chunk, threads, [&](int64_t b0, int64_t b1, int) {
      float* apack = apack_scratch(gk, b1 - b0, H3);
      for (int64_t t = T - 1; t >= 0; --t) {
        for (int64_t b = b0; b < b1; ++b) {
          const int64_t i = b * T + t;
          float* d = dh + b * H;
          // dh holds dL/d(previous state) of step t + 1: through its carry it is dL/dh_t.
          const float c = t + 1 < T && runs(p.mask, i + 1) && p.carry ? p.carry[i + 1] : 1.f;
          const float* g = dyl + i * H;
          for (int64_t j = 0; j < H; ++j) d[j] = c * d[j] + g[j];
          if (runs(p.mask, i)) {
            kern.bwd(H, gates + i * G, hp + i * H, d, dgi + i * H3, dgh + i * H3, d);
            if (part) {
              float* pi = part + (b0 / chunk) * 2 * H3;
              float* ph = pi + H3;
              const float *gi = dgi + i * H3, *gh = dgh + i * H3;
              for (int64_t j = 0; j < H3; ++j) pi[j] += gi[j];
              for (int64_t j = 0; j < H3; ++j) ph[j] += gh[j];
            }
          } else {  // a skipped step passes dh through
            std::memset(dgi + i * H3, 0, sizeof(float) * H3);
            std::memset(dgh + i * H3, 0, sizeof(float) * H3);
          }
        }
        rows_mm(gk, dgh + t * H3, T * H3, bpack, panels, H, H3, 1.f, dh, H, b0, b1, apack);
      }
    });
    if (p.dh0) {
      for (int64_t b = 0; b < B; ++b) {
        const int64_t i = b * T;
        const float c = runs(p.mask, i) && p.carry ? p.carry[i] : 1.f;
        for (int64_t j = 0; j < H; ++j) p.dh0[(l * B + b) * H + j] = c * dh[b * H + j];
      }
    }
    if (p.grads.tensors) {
      float* dw_ih = p.grads.tensors[4 * l];
      float* dw_hh = p.grads.tensors[4 * l + 1];
      add_weight_grad(level, BT, H3, in_dim, dgi, in, dw_ih, tmp, threads);
      add_weight_grad(level, BT, H3, H, dgh, hp, dw_hh, tmp, threads);
      for (int k = 0; k < 2; ++k) {
        float* db = p.grads.tensors[4 * l + 2 + k];
        for (int64_t j = 0; j < H3; ++j) {
          double s = 0;
          for (int64_t c = 0; c < chunks; ++c) s += part[(c * 2 + k) * H3 + j];
          db[j] += static_cast<float>(s);
        }
      }
    }
    if (l > 0) {
      mm(level, false, false, BT, H, H3, dgi, H3, w_ih, H, 0.f, dbelow, H, threads);
    } else if (p.dx) {
      mm(level, false, false, BT, D, H3, dgi, H3, w_ih, D, 0.f, p.dx, D, threads);
    }
  }
}

void gru_backward(const GruBackwardParams& p) { gru_backward_at(active_simd_level(), p); }

}  // namespace simsage
