// Argument names and checks of the similarity family.
#include "similarity/cpu/checks.h"

#include <string>

#include "core/error.h"

namespace simsage {

const char* metric_name(Metric m) {
  switch (m) {
    case Metric::InnerProduct:
      return "ip";
    case Metric::Cosine:
      return "cosine";
    case Metric::L2:
      return "l2";
  }
  return "ip";
}

Metric parse_metric(const char* name) {
  std::string s = name ? name : "";
  if (s == "ip") return Metric::InnerProduct;
  if (s == "cosine") return Metric::Cosine;
  if (s == "l2") return Metric::L2;
  throw_error(ErrorCode::UnknownMetric, "unknown metric '" + s + "' (expected 'ip', 'cosine' or 'l2')");
}

namespace similarity {
namespace cpu {

void check_topk_params(const TopkParams& p, int64_t n) {
  if (p.dim <= 0) throw_error(ErrorCode::DimMismatch, "dim must be a positive integer");
  if (p.k <= 0) throw_error(ErrorCode::InvalidK, "k must be a positive integer");
  if (p.nq < 0 || n < 0) throw_error(ErrorCode::InvalidArgument, "negative row count");
  if (p.nq > 0 && (!p.queries || !p.out_ids || !p.out_scores || !p.out_counts))
    throw_error(ErrorCode::InvalidArgument, "null query or output buffer");
}

}  // namespace cpu
}  // namespace similarity
}  // namespace simsage
