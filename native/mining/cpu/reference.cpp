// The reference pairwise distances (mining.h): direct double-precision formulas, |x_i - x_j|^2
// summed term by term. Ground truth for the tests.
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "mining/cpu/checks.h"
#include "mining/mining.h"

namespace simsage {

void pairwise_distances_reference(const PairwiseParams& p) {
  mining::cpu::check_pairwise(p);
  const int64_t b = p.b, dim = p.dim;
  for (int64_t i = 0; i < b; ++i) {
    const float* x = p.embeddings + i * dim;
    for (int64_t j = 0; j < b; ++j) {
      const float* y = p.embeddings + j * dim;
      double sq = 0, dot = 0, nx = 0, ny = 0;
      for (int64_t d = 0; d < dim; ++d) {
        const double u = x[d], v = y[d];
        sq += (u - v) * (u - v);
        dot += u * v;
        nx += u * u;
        ny += v * v;
      }
      double r = 0;
      switch (p.metric) {
        case DistanceMetric::SqEuclidean:
          r = sq;
          break;
        case DistanceMetric::Euclidean:
          r = std::sqrt(sq);
          break;
        case DistanceMetric::Cosine:
          if (i == j)
            r = nx > 0 ? 0.0 : 1.0;
          else
            r = (nx > 0 && ny > 0) ? std::min(2.0, std::max(0.0, 1.0 - dot / std::sqrt(nx * ny))) : 1.0;
          break;
        case DistanceMetric::Dot:
          r = -dot;
          break;
      }
      p.out[i * b + j] = static_cast<float>(r);
    }
  }
}

}  // namespace simsage
