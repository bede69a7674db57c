#include <algorithm>

#include "core/error.h"
#include "similarity/similarity.h"

namespace simsage {

RowFilter OwnedFilter::view() const {
  RowFilter f;
  if (has_allow) f.allow_bits = allow_bits.data();
  if (has_deny) f.deny_bits = deny_bits.data();
  if (has_exclude) {
    f.exclude_offsets = exclude_offsets.data();
    f.exclude_rows = exclude_rows.data();
  }
  return f;
}

OwnedFilter build_filter(const FilterSpec& spec, int64_t n_rows, int64_t nq,
                         const std::function<int64_t(int64_t)>& id_to_row) {
  OwnedFilter out;
  const size_t words = static_cast<size_t>((n_rows + 63) / 64) + 1;
  if (spec.has_allow) {
    out.has_allow = true;
    out.allow_bits.assign(words, 0);
    for (int64_t i = 0; i < spec.n_allow; ++i) {
      int64_t r = id_to_row(spec.allow[i]);
      if (r >= 0) out.allow_bits[r >> 6] |= uint64_t{1} << (r & 63);
    }
  }
  if (spec.deny && spec.n_deny > 0) {
    out.has_deny = true;
    out.deny_bits.assign(words, 0);
    for (int64_t i = 0; i < spec.n_deny; ++i) {
      int64_t r = id_to_row(spec.deny[i]);
      if (r >= 0) out.deny_bits[r >> 6] |= uint64_t{1} << (r & 63);
    }
  }
  if (spec.exclude_offsets) {
    out.has_exclude = true;
    out.exclude_offsets.assign(static_cast<size_t>(nq) + 1, 0);
    if (spec.exclude_offsets[0] != 0) throw_error(ErrorCode::InvalidArgument, "exclude offsets must start at 0");
    for (int64_t q = 0; q < nq; ++q) {
      int64_t b = spec.exclude_offsets[q], e = spec.exclude_offsets[q + 1];
      if (e < b) throw_error(ErrorCode::InvalidArgument, "exclude offsets must be non-decreasing");
      size_t start = out.exclude_rows.size();
      for (int64_t j = b; j < e; ++j) {
        int64_t r = id_to_row(spec.exclude_ids[j]);
        if (r >= 0) out.exclude_rows.push_back(r);
      }
      std::sort(out.exclude_rows.begin() + start, out.exclude_rows.end());
      out.exclude_offsets[q + 1] = static_cast<int64_t>(out.exclude_rows.size());
    }
    if (out.exclude_rows.empty()) out.exclude_rows.push_back(-1);  // keep data() non-null
  }
  return out;
}

}  // namespace simsage
