// The device mirror of a VectorStore's panels (similarity_cuda.h): the same panel-major layout as the
// host (similarity.h), so a dirty panel is one contiguous run of 16 rows of coded_dim(dim) elements
// (f32, or bf16 / f16 codes), and consecutive dirty panels are one copy.
#include <algorithm>
#include <string>
#include <vector>

#include "core/cuda/runtime.h"
#include "core/error.h"
#include "similarity/cuda/similarity_cuda.h"

namespace simsage {
namespace similarity {
namespace cuda {

using simsage::cuda::DeviceArray;

struct DeviceCorpus {
  int64_t dim = 0;
  Metric metric = Metric::InnerProduct;
  Storage storage = Storage::F32;
  int64_t row_bytes = 0;  // coded_dim(dim, storage) x element bytes
  int64_t n = 0;          // rows uploaded
  int64_t cap = 0;        // rows allocated, a multiple of 16
  bool has_ids = false;
  DeviceArray<unsigned char> panels;  // cap / 16 panels of 16 rows x row_bytes
  DeviceArray<float> norms;           // l2: cap values of |x|^2
  DeviceArray<int64_t> ids;           // cap ids
};

namespace {
constexpr int64_t kMaxRuns = 64;  // more runs of dirty panels than this: one copy over their span
}

DeviceCorpus* create_device_corpus(int64_t dim, Metric metric, Storage storage) {
  need(dim > 0, ErrorCode::DimMismatch, "create_device_corpus", "dim must be a positive integer");
  need(storage == Storage::F32 || storage == Storage::BF16 || storage == Storage::F16, ErrorCode::InvalidArgument,
       "create_device_corpus", "storage must be f32, bf16 or f16");
  auto* c = new DeviceCorpus();
  c->dim = dim;
  c->metric = metric;
  c->storage = storage;
  c->row_bytes = coded_dim(dim, storage) * storage_bytes(storage);
  return c;
}

void destroy_device_corpus(DeviceCorpus* c) noexcept { delete c; }

void reserve_device_corpus(DeviceCorpus* c, int64_t rows) {
  if (rows <= c->cap) return;
  need(rows < (int64_t{1} << 40), ErrorCode::OutOfMemory, "reserve_device_corpus",
       "cannot allocate a device corpus of " + std::to_string(rows) + " rows");
  int64_t cap = std::max<int64_t>(c->cap + c->cap / 2, rows);
  cap = (cap + 15) / 16 * 16;
  DeviceArray<unsigned char> panels(static_cast<size_t>(cap * c->row_bytes));
  DeviceArray<float> norms(c->metric == Metric::L2 ? static_cast<size_t>(cap) : 0);
  DeviceArray<int64_t> ids(static_cast<size_t>(cap));
  if (c->n > 0) {
    const int64_t np = (c->n + 15) / 16;
    simsage::cuda::copy_on_device(panels.data(), c->panels.data(), static_cast<size_t>(np * 16 * c->row_bytes));
    if (c->metric == Metric::L2) simsage::cuda::copy_on_device(norms.data(), c->norms.data(), c->n * 4);
    simsage::cuda::copy_on_device(ids.data(), c->ids.data(), c->n * 8);
  }
  simsage::cuda::synchronize();  // the old arrays are freed below
  c->panels = std::move(panels);
  c->norms = std::move(norms);
  c->ids = std::move(ids);
  c->cap = cap;
}

void upload_device_corpus(DeviceCorpus* c, const PanelCorpus& host, const int64_t* panels, int64_t n_panels, bool all) {
  need(host.dim == c->dim && host.storage == c->storage && host.n >= 0, ErrorCode::InvalidArgument,
       "upload_device_corpus", "the device corpus takes panels of its own dim and storage");
  const auto* src = static_cast<const unsigned char*>(c->storage == Storage::F32 ? static_cast<const void*>(host.panels)
                                                                                 : host.coded);
  need(host.n == 0 || (src && (c->metric != Metric::L2 || host.sq_norms)), ErrorCode::InvalidArgument,
       "upload_device_corpus", "null corpus buffer");
  reserve_device_corpus(c, host.n);
  const int64_t pb = 16 * c->row_bytes, np = (host.n + 15) / 16;  // bytes per panel, panels
  // Copies panels [a, b) and their rows' norms and ids.
  auto copy = [&](int64_t a, int64_t b) {
    if (a >= b) return;
    simsage::cuda::copy_to_device(c->panels.data() + a * pb, src + a * pb, static_cast<size_t>((b - a) * pb));
    const int64_t r0 = a * 16, r1 = std::min(b * 16, host.n);
    if (r1 <= r0) return;
    if (c->metric == Metric::L2)
      simsage::cuda::copy_to_device(c->norms.data() + r0, host.sq_norms + r0, static_cast<size_t>(r1 - r0) * 4);
    if (host.ids) simsage::cuda::copy_to_device(c->ids.data() + r0, host.ids + r0, static_cast<size_t>(r1 - r0) * 8);
  };
  if (all || c->has_ids != (host.ids != nullptr)) {
    copy(0, np);
  } else if (n_panels > 0) {
    std::vector<int64_t> list(panels, panels + n_panels);
    std::sort(list.begin(), list.end());
    list.erase(std::unique(list.begin(), list.end()), list.end());
    while (!list.empty() && list.back() >= np) list.pop_back();
    while (!list.empty() && list.front() < 0) list.erase(list.begin());
    std::vector<std::pair<int64_t, int64_t>> runs;
    for (int64_t p : list) {
      if (!runs.empty() && runs.back().second == p)
        runs.back().second = p + 1;
      else
        runs.emplace_back(p, p + 1);
    }
    if (static_cast<int64_t>(runs.size()) > kMaxRuns) {
      copy(runs.front().first, runs.back().second);
    } else {
      for (const auto& r : runs) copy(r.first, r.second);
    }
  }
  c->has_ids = host.ids != nullptr;
  c->n = host.n;
  simsage::cuda::synchronize();  // searches on other threads' streams see complete copies
}

PanelCorpus device_corpus_view(const DeviceCorpus& c) {
  PanelCorpus v;
  v.storage = c.storage;
  if (c.storage == Storage::F32)
    v.panels = reinterpret_cast<const float*>(c.panels.data());
  else
    v.coded = c.panels.data();
  v.sq_norms = c.metric == Metric::L2 ? c.norms.data() : nullptr;
  v.ids = c.has_ids ? c.ids.data() : nullptr;
  v.n = c.n;
  v.dim = c.dim;
  return v;
}

int64_t device_corpus_rows(const DeviceCorpus& c) { return c.n; }
int64_t device_corpus_capacity(const DeviceCorpus& c) { return c.cap; }

}  // namespace cuda
}  // namespace similarity
}  // namespace simsage
