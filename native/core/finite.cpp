#include "core/finite.h"

#include <cmath>

namespace simsage {

int64_t find_non_finite(const float* data, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(data[i])) return i;
  return -1;
}

}  // namespace simsage
