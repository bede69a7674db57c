// Finite-value scans of caller buffers (the addon, the vector store, the mining checks).
#pragma once
#include <cstdint>

namespace simsage {

// The index of the first NaN or +-Inf in data[0, n), or -1.
int64_t find_non_finite(const float* data, int64_t n);

}  // namespace simsage
