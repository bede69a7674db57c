// Fixtures of the reduced-precision storage tests (test_quant.cpp, test_quant_fast.cpp,
// test_quant_dims.cpp): the top-k fixtures of similarity_fixtures.h, and a store's decoded rows.
#pragma once
#include <cstdint>
#include <vector>

#include "fixtures.h"
#include "similarity/similarity.h"
#include "similarity_fixtures.h"

namespace simsage_test {

// The store's decoded rows in row order (ids into *ids).
inline std::vector<float> exported(const simsage::VectorStore& s, std::vector<int64_t>* ids) {
  std::vector<float> v(s.size() * s.dim());
  ids->assign(s.size(), 0);
  s.export_rows(v.data(), ids->data(), s.size());
  return v;
}

}  // namespace simsage_test
