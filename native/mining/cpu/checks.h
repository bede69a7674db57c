// Argument checks shared by the mining drivers and the references (beside the public ones in mining.h).
#pragma once
#include "mining/mining.h"

namespace simsage {
namespace mining {
namespace cpu {

// check_mining_batch without labels, and a non-null output matrix.
void check_pairwise(const PairwiseParams& p);

}  // namespace cpu
}  // namespace mining
}  // namespace simsage
