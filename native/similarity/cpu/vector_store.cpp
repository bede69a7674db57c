#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <string>
#include <unordered_set>

#include "core/error.h"
#include "core/finite.h"
#include "similarity/similarity.h"

namespace simsage {

namespace {
constexpr int64_t kMaxSafeId = (int64_t{1} << 53) - 1;

std::string format_g(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.4g", v);
  return b;
}
}  // namespace

VectorStore::VectorStore(int64_t dim, Metric metric) : dim_(dim), metric_(metric) {
  if (dim <= 0 || dim > (1 << 20)) throw_error(ErrorCode::DimMismatch, "dim must be in [1, 1048576]");
}

VectorStore::~VectorStore() { std::free(panels_); }

int64_t VectorStore::size() const {
  std::shared_lock<std::shared_mutex> lk(mu_);
  return n_;
}

int64_t VectorStore::capacity() const {
  std::shared_lock<std::shared_mutex> lk(mu_);
  return capacity_;
}

void VectorStore::ensure_capacity(int64_t rows) {
  if (rows <= capacity_) return;
  int64_t cap = std::max<int64_t>(capacity_ + capacity_ / 2, rows);
  cap = (cap + kPanel - 1) / kPanel * kPanel;
  size_t bytes = static_cast<size_t>(cap) * dim_ * sizeof(float);
  bytes = (bytes + 63) / 64 * 64;
  float* np = static_cast<float*>(std::aligned_alloc(64, bytes));
  if (!np) throw_error(ErrorCode::OutOfMemory, "cannot allocate " + std::to_string(bytes) + " bytes for vectors");
  size_t used = static_cast<size_t>(capacity_) * dim_ * sizeof(float);
  if (panels_ && used) std::memcpy(np, panels_, used);
  std::memset(reinterpret_cast<char*>(np) + used, 0, bytes - used);
  try {
    sq_norms_.reserve(cap);
    ids_.reserve(cap);
    rows_.reserve(cap);
  } catch (const std::bad_alloc&) {
    std::free(np);
    throw_error(ErrorCode::OutOfMemory, "cannot reserve index bookkeeping for " + std::to_string(cap) + " rows");
  }
  std::free(panels_);
  panels_ = np;
  capacity_ = cap;
}

void VectorStore::reserve(int64_t rows) {
  std::unique_lock<std::shared_mutex> lk(mu_);
  ensure_capacity(rows);
}

void VectorStore::write_row(int64_t row, const float* v) {
  float* p = panels_ + (row / kPanel) * dim_ * kPanel + (row % kPanel);
  for (int64_t d = 0; d < dim_; ++d) p[d * kPanel] = v[d];
}

void VectorStore::move_row(int64_t from, int64_t to) {
  float* src = panels_ + (from / kPanel) * dim_ * kPanel + (from % kPanel);
  float* dst = panels_ + (to / kPanel) * dim_ * kPanel + (to % kPanel);
  for (int64_t d = 0; d < dim_; ++d) {
    dst[d * kPanel] = src[d * kPanel];
    src[d * kPanel] = 0.f;
  }
}

void VectorStore::add(const int64_t* ids, const float* vectors, int64_t count, bool normalized) {
  if (count < 0) throw_error(ErrorCode::InvalidArgument, "negative count");
  if (count == 0) return;
  if (!ids || !vectors) throw_error(ErrorCode::InvalidArgument, "null ids or vectors");
  // 1. Check everything before touching the store.
  for (int64_t i = 0; i < count; ++i) {
    if (ids[i] < 0 || ids[i] > kMaxSafeId)
      throw_error(ErrorCode::InvalidId,
                  "ids[" + std::to_string(i) + "] = " + std::to_string(ids[i]) + " is not a non-negative safe integer");
  }
  int64_t bad = find_non_finite(vectors, count * dim_);
  if (bad >= 0)
    throw_error(ErrorCode::NonFinite, "vectors contain a non-finite value at row " + std::to_string(bad / dim_) +
                                          ", column " + std::to_string(bad % dim_));
  // ip / l2: the magnitude bound (similarity.h). Cosine: unit-length copies, computed before the
  // lock. Norms and scales in double: a float 1/|x| overflows for |x| < ~3e-39 (subnormal rows).
  std::vector<float> unit;
  const float* src = vectors;
  if (metric_ != Metric::Cosine) {
    for (int64_t i = 0; i < count; ++i) {
      const float* v = vectors + i * dim_;
      double ss = 0;
      for (int64_t d = 0; d < dim_; ++d) ss += static_cast<double>(v[d]) * v[d];
      if (!(ss < static_cast<double>(kMaxSqNorm)))
        throw_error(ErrorCode::NonFinite, "vectors row " + std::to_string(i) + " has |x|^2 = " + format_g(ss) +
                                              ", not below 2^124 (|x| >= 2^62): its " + metric_name(metric_) +
                                              " scores could overflow float32");
    }
  } else if (!normalized) {
    unit.resize(static_cast<size_t>(count * dim_));
    for (int64_t i = 0; i < count; ++i) {
      const float* v = vectors + i * dim_;
      double ss = 0;
      for (int64_t d = 0; d < dim_; ++d) ss += static_cast<double>(v[d]) * v[d];
      const double s = ss > 0 ? 1.0 / std::sqrt(ss) : 0.0;
      for (int64_t d = 0; d < dim_; ++d) unit[i * dim_ + d] = static_cast<float>(v[d] * s);
    }
    src = unit.data();
  }
  std::unique_lock<std::shared_mutex> lk(mu_);
  // 2. Reserve for the worst case (all new), so the loop below cannot fail half way.
  ensure_capacity(n_ + count);
  // 3. Apply.
  for (int64_t i = 0; i < count; ++i) {
    const float* v = src + i * dim_;
    int64_t row;
    auto it = rows_.find(ids[i]);
    if (it != rows_.end()) {
      row = it->second;
    } else {
      row = n_++;
      rows_.emplace(ids[i], row);
      ids_.push_back(ids[i]);
      sq_norms_.push_back(0.f);
    }
    write_row(row, v);
    if (metric_ == Metric::L2) {
      float ss = 0;
      for (int64_t d = 0; d < dim_; ++d) ss += v[d] * v[d];
      sq_norms_[row] = ss;
    }
  }
}

int64_t VectorStore::remove(const int64_t* ids, int64_t count) {
  if (count <= 0) return 0;
  if (!ids) throw_error(ErrorCode::InvalidArgument, "null ids");
  std::unique_lock<std::shared_mutex> lk(mu_);
  int64_t removed = 0;
  for (int64_t i = 0; i < count; ++i) {
    auto it = rows_.find(ids[i]);
    if (it == rows_.end()) continue;
    int64_t row = it->second;
    rows_.erase(it);
    int64_t last = n_ - 1;
    if (row != last) {
      move_row(last, row);
      ids_[row] = ids_[last];
      sq_norms_[row] = sq_norms_[last];
      rows_[ids_[row]] = row;
    } else {
      float* p = panels_ + (last / kPanel) * dim_ * kPanel + (last % kPanel);
      for (int64_t d = 0; d < dim_; ++d) p[d * kPanel] = 0.f;
    }
    ids_.pop_back();
    sq_norms_.pop_back();
    --n_;
    ++removed;
  }
  return removed;
}

bool VectorStore::has(int64_t id) const {
  std::shared_lock<std::shared_mutex> lk(mu_);
  return rows_.count(id) != 0;
}

TopkStats VectorStore::search(const TopkParams& p, const FilterSpec& filter) const {
  return search_at(active_simd_level(), p, filter);
}

TopkStats VectorStore::search_at(SimdLevel level, const TopkParams& p, const FilterSpec& filter) const {
  std::shared_lock<std::shared_mutex> lk(mu_);
  return search_locked(level, p, filter);
}

TopkStats VectorStore::search_sized(SimdLevel level, TopkParams p, const FilterSpec& filter,
                                    const std::function<void(int64_t rows, TopkParams* p)>& size_outputs) const {
  std::shared_lock<std::shared_mutex> lk(mu_);
  size_outputs(n_, &p);
  return search_locked(level, p, filter);
}

TopkStats VectorStore::search_locked(SimdLevel level, const TopkParams& p, const FilterSpec& filter) const {
  if (p.dim != dim_)
    throw_error(ErrorCode::DimMismatch, "query dim " + std::to_string(p.dim) + " != index dim " + std::to_string(dim_));
  if (p.metric != metric_) throw_error(ErrorCode::InvalidArgument, "search metric differs from the index metric");
  OwnedFilter owned = build_filter(filter, n_, p.nq, [this](int64_t id) -> int64_t {
    auto it = rows_.find(id);
    return it == rows_.end() ? -1 : it->second;
  });
  TopkParams q = p;
  q.filter = owned.view();
  PanelCorpus c;
  c.panels = panels_;
  c.sq_norms = sq_norms_.data();
  c.ids = ids_.data();
  c.n = n_;
  c.dim = dim_;
  return topk_panels_at(level, q, c);
}

void VectorStore::export_rows(float* vectors, int64_t* ids, int64_t max_rows) const {
  std::shared_lock<std::shared_mutex> lk(mu_);
  if (max_rows < n_) throw_error(ErrorCode::InvalidArgument, "export buffer too small");
  for (int64_t r = 0; r < n_; ++r) {
    const float* p = panels_ + (r / kPanel) * dim_ * kPanel + (r % kPanel);
    float* out = vectors + r * dim_;
    for (int64_t d = 0; d < dim_; ++d) out[d] = p[d * kPanel];
    ids[r] = ids_[r];
  }
}

}  // namespace simsage
