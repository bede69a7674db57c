// Batched exact similarity search: Q queries (Q x D, row-major) against a corpus, returning each
// query's top-k ids and scores. The search is fused: blocked dot products feed a running per-query
// top-k; a Q x N score matrix is never materialised.
//
// Metrics and the score each returns:
//   ip     : s = <q, x>                         (descending)
//   cosine : s = <q, x> / (|q| |x|)             (descending; a zero vector scores 0)
//   l2     : s = |q - x|^2, squared distance    (ascending)
// Ties break toward the smaller id. A query that has fewer than k admissible candidates (filters,
// k > N) reports its count; the rest of its row is padded with id -1 and score NaN.
//
// Two corpus layouts:
//   row-major   (topk over caller memory): N x D floats, stride D.
//   panel-major (VectorStore): rows grouped in panels of kPanel = 16; panel p holds D x 16 floats,
//               element (r, d) at panel (r / 16), offset d * 16 + r % 16. The SIMD micro-kernels
//               load 16 consecutive rows' values of one dimension at once, so one pass over the
//               corpus serves a whole block of queries from registers.
#pragma once
#include <cstdint>
#include <vector>

#include "core/cpu_features.h"

namespace simsage {

enum class Metric { InnerProduct = 0, Cosine = 1, L2 = 2 };
const char* metric_name(Metric m);
Metric parse_metric(const char* name);  // "ip" | "cosine" | "l2", else ERR_SIMSAGE_UNKNOWN_METRIC

constexpr int kPanel = 16;

// A corpus in panel-major layout (see above). `norms` holds, per row, the value the metric needs:
// |x|^2 for l2, unused for ip/cosine (cosine corpora are stored L2-normalised). `ids` may be null,
// in which case a row's id is its index.
struct PanelCorpus {
  const float* panels = nullptr;  // ceil(n / 16) * dim * 16 floats; padding lanes are zero
  const float* sq_norms = nullptr;  // n floats (l2 only), may be null otherwise
  const int64_t* ids = nullptr;     // n ids or null
  int64_t n = 0;
  int64_t dim = 0;
};

// Row filters, in row space of the corpus being searched (the index maps ids to rows).
struct RowFilter {
  const uint64_t* allow_bits = nullptr;  // bit r set => row r may be returned; null: all allowed
  const uint64_t* deny_bits = nullptr;   // bit r set => row r is never returned; null: none denied
  // Per-query exclusions: rows exclude_rows[exclude_offsets[q] .. exclude_offsets[q+1]) (sorted
  // ascending) are never returned for query q. exclude_offsets null: no exclusions.
  const int64_t* exclude_offsets = nullptr;  // nq + 1 entries
  const int64_t* exclude_rows = nullptr;
};

struct TopkParams {
  const float* queries = nullptr;  // nq x dim, row-major, stride dim
  int64_t nq = 0;
  int64_t dim = 0;
  int64_t k = 0;
  Metric metric = Metric::InnerProduct;
  int threads = 0;  // <= 0: default_threads()
  RowFilter filter;
  // Outputs, nq x k each, row-major; counts: nq entries.
  int64_t* out_ids = nullptr;
  float* out_scores = nullptr;
  int32_t* out_counts = nullptr;
};

struct TopkStats {
  SimdLevel simd = SimdLevel::Scalar;
  int threads_used = 1;
  const char* backend = "cpu";
};

// Search a row-major corpus (n x dim, stride dim) held by the caller; ids are row indices.
TopkStats topk_rowmajor(const TopkParams& p, const float* corpus, int64_t n);

// Search a panel-major corpus.
TopkStats topk_panels(const TopkParams& p, const PanelCorpus& corpus);

// Same as the above with an explicit SIMD level (tests compare each level to scalar).
TopkStats topk_panels_at(SimdLevel level, const TopkParams& p, const PanelCorpus& corpus);
TopkStats topk_rowmajor_at(SimdLevel level, const TopkParams& p, const float* corpus, int64_t n);

// Scalar reference: straightforward loops, exact formulas (direct |q - x|^2 for l2), no blocking.
// Used by tests as ground truth.
void topk_reference(const TopkParams& p, const float* corpus, int64_t n, const int64_t* ids);

// Helpers shared with the addon and the store.
// Returns the index of the first non-finite value in data[0..n), or -1.
int64_t find_non_finite(const float* data, int64_t n);

}  // namespace simsage
