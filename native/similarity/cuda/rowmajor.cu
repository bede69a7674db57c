// topk_rowmajor's CUDA twin (similarity_cuda.h): a caller-held row-major corpus is laid out in panels
// on the device (row norms first, one warp per row, then a transposing copy), and the panel search runs.
#include <algorithm>
#include <memory>

#include "core/cuda/check.cuh"
#include "core/cuda/runtime.h"
#include "core/error.h"
#include "similarity/cpu/checks.h"
#include "similarity/cuda/similarity_cuda.h"

namespace simsage {
namespace similarity {
namespace cuda {

TopkStats run_host(const TopkParams& p, const PanelCorpus& dc);  // search.cu

namespace {

using simsage::cuda::DeviceArray;
using simsage::cuda::stream;

struct RowScratch {
  DeviceArray<float> panels, norms;
  DeviceArray<double> scale;
  DeviceArray<int> bad;
};
RowScratch& row_scratch() {
  thread_local RowScratch s;
  return s;
}

// One warp per row: |x|^2 in double. l2: norms[r] = |x|^2; cosine: scale[r] = 1 / |x| (0 for a zero
// row), else 1. *bad = 1 for a row that is not finite or, ip / l2, not below kMaxSqNorm (similarity.h).
__global__ void row_norms(const float* x, int64_t n, int64_t D, int metric, float* norms, double* scale, int* bad) {
  const int64_t r = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
  const int lane = threadIdx.x & 31;
  if (r >= n) return;
  double ss = 0;
  for (int64_t d = lane; d < D; d += 32) ss += static_cast<double>(x[r * D + d]) * x[r * D + d];
  for (int o = 16; o > 0; o >>= 1) ss += __shfl_xor_sync(0xffffffffu, ss, o);
  if (lane != 0) return;
  const bool finite = isfinite(ss);
  if (!finite || (metric != static_cast<int>(Metric::Cosine) && !(ss < static_cast<double>(kMaxSqNorm)))) *bad = 1;
  if (metric == static_cast<int>(Metric::L2)) norms[r] = static_cast<float>(ss);
  scale[r] = metric == static_cast<int>(Metric::Cosine) ? (ss > 0 ? 1.0 / sqrt(ss) : 0.0) : 1.0;
}

// Panel element (p, d, lane) = row (16 p + lane), dimension d, times the row's scale (cosine: in double,
// as the CPU scales); lanes past n are zero.
__global__ void to_panels(const float* x, int64_t n, int64_t D, const double* scale, int cosine, float* out) {
  const int64_t total = (n + 15) / 16 * 16 * D;
  for (int64_t o = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; o < total;
       o += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t p = o / (16 * D), rem = o % (16 * D), d = rem / 16, r = p * 16 + rem % 16;
    float v = 0.f;
    if (r < n) v = cosine ? static_cast<float>(x[r * D + d] * scale[r]) : x[r * D + d];
    out[o] = v;
  }
}

// Lays out `corpus` (device, n x D) in the thread's scratch panels; returns the view and whether every
// row passed the checks (synchronises to read the flag).
PanelCorpus prepare(const float* corpus, int64_t n, int64_t D, Metric metric, bool* ok) {
  RowScratch& s = row_scratch();
  const int64_t np = (n + 15) / 16;
  s.panels.reserve(static_cast<size_t>(np * 16 * D));
  s.norms.reserve(static_cast<size_t>(n));
  s.scale.reserve(static_cast<size_t>(n));
  s.bad.reserve(1);
  s.bad.zero();
  SIMSAGE_CUDA_LAUNCH(simsage::cuda::blocks_for(n * 32, 256), 256, 0, row_norms)
  (corpus, n, D, static_cast<int>(metric), s.norms.data(), s.scale.data(), s.bad.data());
  SIMSAGE_CUDA_LAUNCHED("similarity row_norms");
  const unsigned grid = static_cast<unsigned>(std::min<int64_t>(65535, (np * 16 * D + 255) / 256));
  SIMSAGE_CUDA_LAUNCH(grid, 256, 0, to_panels)
  (corpus, n, D, s.scale.data(), metric == Metric::Cosine ? 1 : 0, s.panels.data());
  SIMSAGE_CUDA_LAUNCHED("similarity to_panels");
  int bad = 0;
  s.bad.download(&bad, 1);
  *ok = bad == 0;
  PanelCorpus v;
  v.panels = s.panels.data();
  v.sq_norms = metric == Metric::L2 ? s.norms.data() : nullptr;
  v.n = n;
  v.dim = D;
  return v;
}

}  // namespace

TopkStats topk_rowmajor(const TopkParams& p, const float* corpus, int64_t n) {
  if (n > 0 && !corpus) throw_error(ErrorCode::InvalidArgument, "null corpus");
  if (!supports(p, n)) return topk_rowmajor_at(active_simd_level(), p, corpus, n);
  cpu::check_topk_params(p, n);
  DeviceArray<float> dcorpus = simsage::cuda::to_device(corpus, static_cast<size_t>(n * p.dim));
  bool ok = false;
  const PanelCorpus v = prepare(dcorpus.data(), n, p.dim, p.metric, &ok);
  if (!ok) return topk_rowmajor_at(active_simd_level(), p, corpus, n);  // the CPU raises its error
  return run_host(p, v);
}

TopkStats topk_rowmajor_device(const TopkParams& p, const float* corpus, int64_t n) {
  cpu::check_topk_params(p, n);
  need(n == 0 || corpus, ErrorCode::InvalidArgument, "topk_rowmajor_device", "null corpus");
  need(supports(p, n), ErrorCode::InvalidArgument, "topk_rowmajor_device",
       "params not supported on CUDA (similarity_cuda.h)");
  bool ok = false;
  const PanelCorpus v = prepare(corpus, n, p.dim, p.metric, &ok);
  need(ok, ErrorCode::NonFinite, "topk_rowmajor_device",
       "corpus holds a non-finite row or (ip, l2) a row with |x|^2 not below 2^124");
  return topk_panels_device(p, v);
}

}  // namespace cuda
}  // namespace similarity
}  // namespace simsage
