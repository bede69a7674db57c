// VectorStore's backend choice: search / search_sized run the CUDA twin (cuda/similarity_cuda.h; f32,
// bf16 and f16 storage) against a device mirror of the panels when preferred_backend() is Cuda and the twin takes the
// params, else the CPU search at the active SIMD level. The mirror is created by the first CUDA search and uploaded
// whole; afterwards each CUDA search uploads only the panels add / remove wrote (dirty_panels_).
#include <algorithm>
#include <mutex>

#include "core/backend.h"
#include "similarity/similarity.h"
#if SIMSAGE_WITH_CUDA
#include "similarity/cuda/similarity_cuda.h"
#endif

namespace simsage {

void VectorStore::mark_dirty(int64_t row) {
  if (!device_ || device_stale_) return;  // no mirror yet, or a full upload is due anyway
  const int64_t panel = row / kPanel;
  if (!dirty_panels_.empty() && dirty_panels_.back() == panel) return;
  dirty_panels_.push_back(panel);
  // More entries than panels: a full upload costs less than the list.
  if (static_cast<int64_t>(dirty_panels_.size()) > capacity_ / kPanel + 16) {
    dirty_panels_.clear();
    dirty_panels_.shrink_to_fit();
    device_stale_ = true;
  }
}

void VectorStore::release_device() noexcept {
#if SIMSAGE_WITH_CUDA
  similarity::cuda::destroy_device_corpus(device_);
#endif
  device_ = nullptr;
}

TopkStats VectorStore::search(const TopkParams& p, const FilterSpec& filter) const {
  std::shared_lock<std::shared_mutex> lk(mu_);
  return search_preferred_locked(p, filter);
}

TopkStats VectorStore::search_sized(TopkParams p, const FilterSpec& filter,
                                    const std::function<void(int64_t rows, TopkParams* p)>& size_outputs) const {
  std::shared_lock<std::shared_mutex> lk(mu_);
  size_outputs(n_, &p);
  return search_preferred_locked(p, filter);
}

TopkStats VectorStore::search_preferred_locked(const TopkParams& p, const FilterSpec& filter) const {
#if SIMSAGE_WITH_CUDA
  // Not on CUDA (the CPU also raises every argument error): i8 storage, re-ranking requests of reduced
  // precision stores, a dim or metric that differs, params the twin does not take (k, sizes).
  const bool coded_ok = storage_ == Storage::BF16 || storage_ == Storage::F16;
  if (preferred_backend() == Backend::Cuda && (storage_ == Storage::F32 || (coded_ok && p.rerank == 0)) &&
      p.dim == dim_ && p.metric == metric_ && p.rerank >= 0 && similarity::cuda::supports(p, n_)) {
    OwnedFilter owned = build_filter(filter, n_, p.nq, [this](int64_t id) -> int64_t {
      auto it = rows_.find(id);
      return it == rows_.end() ? -1 : it->second;
    });
    TopkParams q = p;
    q.filter = owned.view();
    {
      // The row count cannot change while the shared lock is held, so once one search has uploaded,
      // later ones in the same lock epoch find nothing dirty and the arrays stay in place.
      std::lock_guard<std::mutex> g(device_mu_);
      if (!device_) {
        device_ = similarity::cuda::create_device_corpus(dim_, metric_, storage_);
        device_stale_ = true;
      }
      if (device_stale_ || !dirty_panels_.empty() || similarity::cuda::device_corpus_rows(*device_) != n_) {
        PanelCorpus c;
        c.panels = panels_;
        c.coded = coded_;
        c.storage = storage_;
        c.sq_norms = sq_norms_.data();
        c.ids = ids_.data();
        c.n = n_;
        c.dim = dim_;
        similarity::cuda::upload_device_corpus(device_, c, dirty_panels_.data(),
                                               static_cast<int64_t>(dirty_panels_.size()), device_stale_);
        dirty_panels_.clear();
        device_stale_ = false;
      }
    }
    return similarity::cuda::topk_panels_resident(q, *device_);
  }
#endif
  return search_locked(active_simd_level(), p, filter);
}

}  // namespace simsage
