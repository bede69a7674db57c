// Builds the row-space filters a search uses (RowFilter, similarity.h) from id-space inputs.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "similarity/similarity.h"

namespace simsage {

// Filters as the caller gives them, in id space.
struct FilterSpec {
  bool has_allow = false;            // an empty allow list admits nothing
  const int64_t* allow = nullptr;
  int64_t n_allow = 0;
  const int64_t* deny = nullptr;
  int64_t n_deny = 0;
  // Per-query exclusions in CSR form: ids exclude_ids[offsets[q] .. offsets[q+1]); offsets has nq+1
  // entries, or is null for none.
  const int64_t* exclude_offsets = nullptr;
  const int64_t* exclude_ids = nullptr;
};

// Owns the bitsets and sorted row lists a RowFilter points into.
struct OwnedFilter {
  std::vector<uint64_t> allow_bits, deny_bits;
  std::vector<int64_t> exclude_offsets, exclude_rows;
  bool has_allow = false, has_deny = false, has_exclude = false;
  RowFilter view() const;
};

// id_to_row returns the row of an id or -1 when absent (absent ids are ignored: an allow list of
// only unknown ids admits nothing). Throws ERR_SIMSAGE_INVALID_ARGUMENT on malformed offsets.
OwnedFilter build_filter(const FilterSpec& spec, int64_t n_rows, int64_t nq,
                         const std::function<int64_t(int64_t)>& id_to_row);

}  // namespace simsage
