#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <mutex>
#include <new>
#include <string>
#include <unordered_set>

#include "core/error.h"
#include "core/finite.h"
#include "core/parallel.h"
#include "similarity/cpu/quant.h"
#include "similarity/cpu/topk_buffer.h"
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

VectorStore::VectorStore(int64_t dim, Metric metric, Storage storage, bool keep_f32, bool i8_dim_scales)
    : dim_(dim),
      metric_(metric),
      storage_(storage),
      keep_f32_(keep_f32 && storage != Storage::F32),
      dim_scaled_(i8_dim_scales && storage == Storage::I8),
      cdim_(coded_dim(dim, storage)) {
  if (dim <= 0 || dim > (1 << 20)) throw_error(ErrorCode::DimMismatch, "dim must be in [1, 1048576]");
  if (static_cast<int>(storage) < 0 || static_cast<int>(storage) > 3)
    throw_error(ErrorCode::InvalidArgument, "unknown storage type");
}

VectorStore::~VectorStore() {
  release_device();
  std::free(panels_);
  std::free(coded_);
}

int64_t VectorStore::vector_bytes() const {
  int64_t b = storage_ == Storage::F32 ? dim_ * 4 : cdim_ * storage_bytes(storage_);
  if (storage_ == Storage::I8) b += 4;
  if (metric_ == Metric::L2) b += 4;
  if (keep_f32_) b += dim_ * 4;
  return b;
}

double VectorStore::quantize_seconds() const {
  std::shared_lock<std::shared_mutex> lk(mu_);
  return quant_seconds_;
}

int64_t VectorStore::quantized_rows() const {
  std::shared_lock<std::shared_mutex> lk(mu_);
  return quant_rows_;
}

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
  // One panel array: f32 (panels_) or coded elements (coded_), cdim_ x 16 elements per panel.
  const size_t esize = static_cast<size_t>(storage_bytes(storage_));
  size_t bytes = static_cast<size_t>(cap) * cdim_ * esize;
  bytes = (bytes + 63) / 64 * 64;
  char* np = static_cast<char*>(std::aligned_alloc(64, bytes));
  if (!np) throw_error(ErrorCode::OutOfMemory, "cannot allocate " + std::to_string(bytes) + " bytes for vectors");
  char* old = storage_ == Storage::F32 ? reinterpret_cast<char*>(panels_) : static_cast<char*>(coded_);
  size_t used = static_cast<size_t>(capacity_) * cdim_ * esize;
  if (old && used) std::memcpy(np, old, used);
  std::memset(np + used, 0, bytes - used);
  try {
    sq_norms_.reserve(cap);
    ids_.reserve(cap);
    rows_.reserve(cap);
    if (storage_ == Storage::I8) scales_.reserve(cap);
    if (storage_ == Storage::I8) code_sums_.reserve(cap);
    if (keep_f32_) f32_.reserve(static_cast<size_t>(cap) * dim_);
  } catch (const std::bad_alloc&) {
    std::free(np);
    throw_error(ErrorCode::OutOfMemory, "cannot reserve index bookkeeping for " + std::to_string(cap) + " rows");
  }
  std::free(old);
  if (storage_ == Storage::F32)
    panels_ = reinterpret_cast<float*>(np);
  else
    coded_ = np;
  capacity_ = cap;
}

void VectorStore::write_coded_row(int64_t row, const void* codes) {
  mark_dirty(row);
  const int g = storage_group(storage_);
  if (storage_ == Storage::I8) {
    int8_t* dst = static_cast<int8_t*>(coded_);
    const int8_t* c = static_cast<const int8_t*>(codes);
    for (int64_t d = 0; d < cdim_; ++d) dst[similarity::cpu::coded_index(row, d, cdim_, g)] = c[d];
  } else {
    uint16_t* dst = static_cast<uint16_t*>(coded_);
    const uint16_t* c = static_cast<const uint16_t*>(codes);
    for (int64_t d = 0; d < cdim_; ++d) dst[similarity::cpu::coded_index(row, d, cdim_, g)] = c[d];
  }
}

void VectorStore::decode_row(int64_t row, float* out) const {
  const int g = storage_group(storage_);
  const float sc = storage_ == Storage::I8 ? scales_[row] : 1.f;
  for (int64_t d = 0; d < dim_; ++d)
    out[d] = similarity::cpu::decode_element(storage_, coded_, similarity::cpu::coded_index(row, d, cdim_, g), sc) *
             dim_scale(d);
}

void VectorStore::reserve(int64_t rows) {
  std::unique_lock<std::shared_mutex> lk(mu_);
  ensure_capacity(rows);
}

void VectorStore::write_row(int64_t row, const float* v) {
  mark_dirty(row);
  float* p = panels_ + (row / kPanel) * dim_ * kPanel + (row % kPanel);
  for (int64_t d = 0; d < dim_; ++d) p[d * kPanel] = v[d];
}

void VectorStore::move_row(int64_t from, int64_t to) {
  mark_dirty(from);
  mark_dirty(to);
  if (storage_ != Storage::F32) {
    const int g = storage_group(storage_);
    const size_t es = static_cast<size_t>(storage_bytes(storage_));
    char* base = static_cast<char*>(coded_);
    for (int64_t d = 0; d < cdim_; ++d) {
      char* src = base + es * similarity::cpu::coded_index(from, d, cdim_, g);
      char* dst = base + es * similarity::cpu::coded_index(to, d, cdim_, g);
      std::memcpy(dst, src, es);
      std::memset(src, 0, es);
    }
    if (storage_ == Storage::I8) {
      scales_[to] = scales_[from];
      code_sums_[to] = code_sums_[from];
    }
    if (keep_f32_)
      std::memcpy(f32_.data() + to * dim_, f32_.data() + from * dim_, static_cast<size_t>(dim_) * sizeof(float));
    return;
  }
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
  // Reduced precision: encode every row (and |x|^2 of the decoded row for l2) before the lock, so an
  // f16 overflow rejects the whole call. Timed for quantize_seconds().
  const bool coded = storage_ != Storage::F32;
  const size_t esize = static_cast<size_t>(storage_bytes(storage_));
  // Dim-scaled: the scales (learned from these rows when there are none yet) stay fixed from here to
  // apply_rows, which adopts learned ones.
  std::unique_lock<std::mutex> learn(learn_mu_, std::defer_lock);
  std::vector<float> dscale, learned;
  int64_t saturated = 0;
  if (dim_scaled_) {
    learn.lock();
    {
      std::shared_lock<std::shared_mutex> lk(mu_);
      dscale = dim_scales_;
    }
    if (dscale.empty()) {
      learned.resize(static_cast<size_t>(dim_));
      similarity::cpu::learn_dim_scales(src, count, dim_, learned.data());
      dscale = learned;
    }
  }
  std::vector<char> codes;
  std::vector<float> cscale, cnorm;
  std::vector<int32_t> csum;
  double qsec = 0;
  if (coded) {
    const auto t0 = std::chrono::steady_clock::now();
    codes.resize(static_cast<size_t>(count * cdim_) * esize);
    cscale.assign(static_cast<size_t>(count), 1.f);
    cnorm.assign(static_cast<size_t>(count), 0.f);
    if (storage_ == Storage::I8) csum.assign(static_cast<size_t>(count), 0);
    std::vector<float> dec(static_cast<size_t>(dim_));
    for (int64_t i = 0; i < count; ++i) {
      void* c = codes.data() + static_cast<size_t>(i * cdim_) * esize;
      if (dim_scaled_) {
        saturated += similarity::cpu::encode_row_i8_dims(src + i * dim_, dim_, dscale.data(), metric_ == Metric::Cosine,
                                                         static_cast<int8_t*>(c), &cscale[i]);
      } else if (!similarity::cpu::encode_row(storage_, src + i * dim_, dim_, metric_ == Metric::Cosine, c,
                                              &cscale[i])) {
        int64_t col = 0;
        while (col < dim_ && std::fabs(src[i * dim_ + col]) < 65520.f) ++col;
        throw_error(ErrorCode::NonFinite, "vectors row " + std::to_string(i) + ", column " + std::to_string(col) +
                                              " = " + format_g(src[i * dim_ + col]) +
                                              " is outside the f16 range (|x| < 65520)");
      }
      if (storage_ == Storage::I8) {
        const int8_t* ci = static_cast<const int8_t*>(c);
        int32_t sum = 0;
        for (int64_t d = 0; d < cdim_; ++d) sum += ci[d];
        csum[i] = sum;
      }
      if (metric_ == Metric::L2) {
        double ss = 0;
        for (int64_t d = 0; d < dim_; ++d) {
          const double x = static_cast<double>(similarity::cpu::decode_element(storage_, c, d, cscale[i])) *
                           (dim_scaled_ ? dscale[d] : 1.f);
          ss += x * x;
        }
        cnorm[i] = static_cast<float>(ss);
      }
    }
    qsec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  apply_rows(ids, src, coded ? codes.data() : nullptr, cscale.data(), csum.data(), cnorm.data(), count, qsec,
             learned.empty() ? nullptr : &learned, saturated);
}

void VectorStore::apply_rows(const int64_t* ids, const float* src, const char* codes, const float* cscale,
                             const int32_t* csum, const float* cnorm, int64_t count, double qsec,
                             const std::vector<float>* learned, int64_t saturated) {
  const bool coded = storage_ != Storage::F32;
  const size_t esize = static_cast<size_t>(storage_bytes(storage_));
  std::unique_lock<std::shared_mutex> lk(mu_);
  // 2. Reserve for the worst case (all new), so the loop below cannot fail half way.
  ensure_capacity(n_ + count);
  if (keep_f32_ && f32_.size() < static_cast<size_t>((n_ + count) * dim_))
    f32_.resize(static_cast<size_t>((n_ + count) * dim_));  // capacity reserved: no reallocation
  if (learned) dim_scales_.reserve(learned->size());
  // 3. Apply.
  if (learned) dim_scales_.assign(learned->begin(), learned->end());
  saturated_ += saturated;
  for (int64_t i = 0; i < count; ++i) {
    const float* v = src ? src + i * dim_ : nullptr;
    int64_t row;
    auto it = rows_.find(ids[i]);
    if (it != rows_.end()) {
      row = it->second;
    } else {
      row = n_++;
      rows_.emplace(ids[i], row);
      ids_.push_back(ids[i]);
      sq_norms_.push_back(0.f);
      if (storage_ == Storage::I8) {
        scales_.push_back(0.f);
        code_sums_.push_back(0);
      }
    }
    if (coded) {
      write_coded_row(row, codes + static_cast<size_t>(i * cdim_) * esize);
      if (storage_ == Storage::I8) {
        scales_[row] = cscale[i];
        code_sums_[row] = csum[i];
      }
      sq_norms_[row] = cnorm[i];
      if (keep_f32_) std::memcpy(f32_.data() + row * dim_, v, static_cast<size_t>(dim_) * sizeof(float));
      continue;
    }
    write_row(row, v);
    if (metric_ == Metric::L2) {
      float ss = 0;
      for (int64_t d = 0; d < dim_; ++d) ss += v[d] * v[d];
      sq_norms_[row] = ss;
    }
  }
  if (coded) {
    quant_seconds_ += qsec;
    quant_rows_ += count;
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
    } else if (storage_ != Storage::F32) {
      const int g = storage_group(storage_);
      const size_t es = static_cast<size_t>(storage_bytes(storage_));
      for (int64_t d = 0; d < cdim_; ++d)
        std::memset(static_cast<char*>(coded_) + es * similarity::cpu::coded_index(last, d, cdim_, g), 0, es);
    } else {
      float* p = panels_ + (last / kPanel) * dim_ * kPanel + (last % kPanel);
      for (int64_t d = 0; d < dim_; ++d) p[d * kPanel] = 0.f;
    }
    mark_dirty(last);
    ids_.pop_back();
    sq_norms_.pop_back();
    if (storage_ == Storage::I8) {
      scales_.pop_back();
      code_sums_.pop_back();
    }
    if (keep_f32_) f32_.resize(static_cast<size_t>(last * dim_));
    --n_;
    ++removed;
  }
  return removed;
}

bool VectorStore::has(int64_t id) const {
  std::shared_lock<std::shared_mutex> lk(mu_);
  return rows_.count(id) != 0;
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
  c.storage = storage_;
  c.coded = coded_;
  c.scales = scales_.data();
  c.code_sums = code_sums_.data();
  c.dim_scales = dim_scaled_ && !dim_scales_.empty() ? dim_scales_.data() : nullptr;
  c.sq_norms = sq_norms_.data();
  c.ids = ids_.data();
  c.n = n_;
  c.dim = dim_;
  if (p.rerank < 0) throw_error(ErrorCode::InvalidArgument, "rerank must be a non-negative integer");
  if (p.rerank > 0 && storage_ != Storage::F32) {
    if (!keep_f32_)
      throw_error(ErrorCode::InvalidArgument, "rerank needs the f32 vectors: create the index with keepF32 (storage '" +
                                                  std::string(storage_name(storage_)) + "')");
    return rerank_locked(level, q, q.filter, c);
  }
  return topk_panels_at(level, q, c);
}

// Reduced-precision scan for the best m = min(max(rerank, k), n) rows per query (ids are rows here),
// then each candidate re-scored in double from its f32 copy with the exact formulas (cosine: unit
// query and unit stored vector; l2: |q - x|^2 term by term), sorted (ties toward the smaller id),
// and the best k written with their ids.
TopkStats VectorStore::rerank_locked(SimdLevel level, const TopkParams& p, const RowFilter&,
                                     const PanelCorpus& corpus) const {
  const int64_t m = std::max<int64_t>(1, std::min(std::max(p.rerank, p.k), n_));
  const int64_t nq = p.nq, K = p.k, D = dim_;
  std::vector<int64_t> rid(static_cast<size_t>(nq * m));
  std::vector<float> rsc(static_cast<size_t>(nq * m));
  std::vector<int32_t> rcnt(static_cast<size_t>(nq));
  TopkParams q = p;
  q.k = m;
  q.out_ids = rid.data();
  q.out_scores = rsc.data();
  q.out_counts = rcnt.data();
  PanelCorpus c = corpus;
  c.ids = nullptr;  // rows
  TopkStats st = topk_panels_at(level, q, c);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  parallel_chunks(nq, 16, resolve_threads(p.threads), [&](int64_t i0, int64_t i1, int) {
    std::vector<similarity::cpu::TopkCand> cand;
    std::vector<double> qv(static_cast<size_t>(D));
    for (int64_t i = i0; i < i1; ++i) {
      const float* qs = p.queries + i * D;
      double ss = 0;
      for (int64_t d = 0; d < D; ++d) ss += static_cast<double>(qs[d]) * qs[d];
      const double inv = metric_ == Metric::Cosine && ss > 0 ? 1.0 / std::sqrt(ss) : 1.0;
      for (int64_t d = 0; d < D; ++d) qv[d] = qs[d] * inv;
      cand.clear();
      for (int32_t j = 0; j < rcnt[i]; ++j) {
        const int64_t row = rid[i * m + j];
        const float* x = f32_.data() + row * D;
        double acc = 0;
        if (metric_ == Metric::L2) {
          for (int64_t d = 0; d < D; ++d) acc -= (qv[d] - x[d]) * (qv[d] - x[d]);
        } else {
          for (int64_t d = 0; d < D; ++d) acc += qv[d] * x[d];
        }
        cand.push_back({static_cast<float>(acc), ids_[row]});
      }
      const int64_t keep = similarity::cpu::topk_sort_best(cand.data(), static_cast<int64_t>(cand.size()), K);
      for (int64_t j = 0; j < K; ++j) {
        p.out_ids[i * K + j] = j < keep ? cand[j].id : -1;
        p.out_scores[i * K + j] = j < keep ? (metric_ == Metric::L2 ? -cand[j].score : cand[j].score) : nan;
      }
      p.out_counts[i] = static_cast<int32_t>(keep);
    }
  });
  st.reranked = true;
  return st;
}

void VectorStore::export_rows(float* vectors, int64_t* ids, int64_t max_rows) const {
  std::shared_lock<std::shared_mutex> lk(mu_);
  if (max_rows < n_) throw_error(ErrorCode::InvalidArgument, "export buffer too small");
  if (storage_ != Storage::F32) {
    for (int64_t r = 0; r < n_; ++r) {
      if (keep_f32_)
        std::memcpy(vectors + r * dim_, f32_.data() + r * dim_, static_cast<size_t>(dim_) * sizeof(float));
      else
        decode_row(r, vectors + r * dim_);
      ids[r] = ids_[r];
    }
    return;
  }
  for (int64_t r = 0; r < n_; ++r) {
    const float* p = panels_ + (r / kPanel) * dim_ * kPanel + (r % kPanel);
    float* out = vectors + r * dim_;
    for (int64_t d = 0; d < dim_; ++d) out[d] = p[d * kPanel];
    ids[r] = ids_[r];
  }
}

}  // namespace simsage
