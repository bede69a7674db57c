// The GRU forward as a plain scalar loop in double precision: ground truth for the tests (the
// numerical gradient checks difference it). Semantics in temporal/temporal.h.
#include <cmath>
#include <cstdint>
#include <vector>

#include "core/error.h"
#include "temporal/temporal.h"

namespace simsage {

void gru_reference(const GruReferenceParams& p) {
  const char* fn = "gru_reference";
  need(p.layers >= 1 && p.input_size >= 1 && p.hidden_size >= 1 && p.batch >= 1 && p.steps >= 1, ErrorCode::DimMismatch,
       fn, "sizes must be >= 1");
  need(p.tensors && p.x && p.y, ErrorCode::InvalidArgument, fn, "null pointer");
  const int64_t L = p.layers, B = p.batch, T = p.steps, D = p.input_size, H = p.hidden_size;
  std::vector<double> h(static_cast<size_t>(L * B * H), 0.0), in, out(static_cast<size_t>(H));
  if (p.h0) h.assign(p.h0, p.h0 + L * B * H);
  auto sig = [](double a) { return 1.0 / (1.0 + std::exp(-a)); };
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t t = 0; t < T; ++t) {
      const int64_t i = b * T + t;
      double* y = p.y + i * H;
      if (p.mask && p.mask[i] == 0) {  // skipped: states unchanged, output = the top state
        for (int64_t j = 0; j < H; ++j) y[j] = h[((L - 1) * B + b) * H + j];
        continue;
      }
      const double c = p.carry ? p.carry[i] : 1.0;
      in.assign(p.x + i * D, p.x + (i + 1) * D);
      for (int64_t l = 0; l < L; ++l) {
        const int64_t n_in = l == 0 ? D : H;
        const double *w_ih = p.tensors[4 * l], *w_hh = p.tensors[4 * l + 1];
        const double *b_ih = p.tensors[4 * l + 2], *b_hh = p.tensors[4 * l + 3];
        double* hl = h.data() + (l * B + b) * H;
        for (int64_t j = 0; j < H; ++j) hl[j] *= c;
        for (int64_t j = 0; j < H; ++j) {
          double gi[3], gh[3];
          for (int g = 0; g < 3; ++g) {
            const int64_t row = g * H + j;
            double si = b_ih[row], sh = b_hh[row];
            for (int64_t k = 0; k < n_in; ++k) si += w_ih[row * n_in + k] * in[k];
            for (int64_t k = 0; k < H; ++k) sh += w_hh[row * H + k] * hl[k];
            gi[g] = si;
            gh[g] = sh;
          }
          const double r = sig(gi[0] + gh[0]), z = sig(gi[1] + gh[1]);
          const double n = std::tanh(gi[2] + r * gh[2]);
          out[j] = (1.0 - z) * n + z * hl[j];
        }
        for (int64_t j = 0; j < H; ++j) hl[j] = out[j];
        in.assign(out.begin(), out.end());
      }
      for (int64_t j = 0; j < H; ++j) y[j] = in[j];
    }
  }
  if (p.h_n)
    for (int64_t k = 0; k < L * B * H; ++k) p.h_n[k] = h[k];
}

}  // namespace simsage
