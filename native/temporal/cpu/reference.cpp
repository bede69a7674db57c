// Reference causal conv (temporal.h): plain loops with double accumulation. Ground truth for tests.
#include <cstdint>
#include <vector>

#include "temporal/temporal.h"

namespace simsage {

void conv1d_reference(const Conv1dParams& p) {
  conv1d_check(p);
  const int64_t cin = p.in_channels, cout = p.out_channels, K = p.kernel_size;
  for (int64_t b = 0; b < p.batch; ++b)
    for (int64_t t = 0; t < p.steps; ++t)
      for (int64_t o = 0; o < cout; ++o) {
        double s = p.b ? p.b[o] : 0.0;
        for (int64_t k = 0; k < K; ++k) {
          const int64_t src = t - (K - 1 - k) * p.dilation;
          if (src < 0) continue;
          const float* xr = p.x + (b * p.steps + src) * cin;
          for (int64_t c = 0; c < cin; ++c) s += static_cast<double>(p.w[(o * cin + c) * K + k]) * xr[c];
        }
        if (p.relu && !(s > 0)) s = 0;
        p.y[(b * p.steps + t) * cout + o] = static_cast<float>(s);
      }
}

void conv1d_backward_reference(const Conv1dBackwardParams& p) {
  conv1d_backward_check(p);
  const int64_t cin = p.in_channels, cout = p.out_channels, K = p.kernel_size, T = p.steps;
  if (p.dx) {
    for (int64_t b = 0; b < p.batch; ++b)
      for (int64_t u = 0; u < T; ++u)
        for (int64_t c = 0; c < cin; ++c) {
          double s = 0;
          for (int64_t k = 0; k < K; ++k) {
            const int64_t t = u + (K - 1 - k) * p.dilation;
            if (t >= T) continue;
            for (int64_t o = 0; o < cout; ++o)
              s += static_cast<double>(p.dy[(b * T + t) * cout + o]) * p.w[(o * cin + c) * K + k];
          }
          float& d = p.dx[(b * T + u) * cin + c];
          d = static_cast<float>(p.accumulate_dx ? d + s : s);
        }
  }
  if (p.dw) {
    for (int64_t o = 0; o < cout; ++o)
      for (int64_t c = 0; c < cin; ++c)
        for (int64_t k = 0; k < K; ++k) {
          double s = 0;
          for (int64_t b = 0; b < p.batch; ++b)
            for (int64_t t = 0; t < T; ++t) {
              const int64_t src = t - (K - 1 - k) * p.dilation;
              if (src < 0) continue;
              s += static_cast<double>(p.dy[(b * T + t) * cout + o]) * p.x[(b * T + src) * cin + c];
            }
          float& d = p.dw[(o * cin + c) * K + k];
          d = static_cast<float>(p.accumulate ? d + s : s);
        }
  }
  if (p.db) {
    for (int64_t o = 0; o < cout; ++o) {
      double s = 0;
      for (int64_t r = 0; r < p.batch * T; ++r) s += p.dy[r * cout + o];
      p.db[o] = static_cast<float>(p.accumulate ? p.db[o] + s : s);
    }
  }
}

}  // namespace simsage
