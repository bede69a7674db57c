// Argument checks shared by the search driver and the scalar reference.
#pragma once
#include <cstdint>

#include "similarity/similarity.h"

namespace simsage {
namespace similarity {
namespace cpu {

// dim > 0, k > 0, row counts >= 0, non-null query and output buffers; n is the corpus row count.
void check_topk_params(const TopkParams& p, int64_t n);

}  // namespace cpu
}  // namespace similarity
}  // namespace simsage
