// VectorStore rows as stored records (similarity.h, add_records): what the index file (format 3 / 4;
// 4 holds per-dimension i8 scales apart, set_dim_scales) holds for reduced-precision storage, so a
// saved index loads back with the same codes and the file is as small as the storage.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/finite.h"
#include "similarity/cpu/quant.h"
#include "similarity/similarity.h"

namespace simsage {

namespace {
constexpr int64_t kMaxSafeId = (int64_t{1} << 53) - 1;

std::string where(int64_t row) { return "records row " + std::to_string(row); }

std::string format_g(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.4g", v);
  return b;
}
}  // namespace

std::vector<float> VectorStore::dim_scales() const {
  std::shared_lock<std::shared_mutex> lk(mu_);
  return dim_scales_;
}

int64_t VectorStore::saturated_values() const {
  std::shared_lock<std::shared_mutex> lk(mu_);
  return saturated_;
}

void VectorStore::set_dim_scales(const float* scales) {
  if (!dim_scaled_) throw_error(ErrorCode::InvalidArgument, "this index has no per-dimension scales");
  if (!scales) throw_error(ErrorCode::InvalidArgument, "null scales");
  for (int64_t d = 0; d < dim_; ++d)
    if (!(scales[d] >= similarity::cpu::kMinDimScale) || !(scales[d] <= similarity::cpu::kMaxDimScale))
      throw_error(ErrorCode::NonFinite, "dimension scale " + std::to_string(d) + " = " + format_g(scales[d]) +
                                            " is not in [2^-100, 2^62 / 127]");
  std::lock_guard<std::mutex> learn(learn_mu_);
  std::unique_lock<std::shared_mutex> lk(mu_);
  if (n_ > 0) throw_error(ErrorCode::InvalidArgument, "dimension scales can only be set on an empty index");
  dim_scales_.assign(scales, scales + dim_);
}

int64_t VectorStore::record_bytes() const {
  if (storage_ == Storage::F32) return dim_ * 4;
  return dim_ * storage_bytes(storage_) + (storage_ == Storage::I8 ? 4 : 0) + (keep_f32_ ? dim_ * 4 : 0);
}

void VectorStore::add_records(const int64_t* ids, const uint8_t* records, int64_t count) {
  if (storage_ == Storage::F32) throw_error(ErrorCode::InvalidArgument, "add_records: f32 storage takes add()");
  if (count < 0) throw_error(ErrorCode::InvalidArgument, "negative count");
  if (count == 0) return;
  if (!ids || !records) throw_error(ErrorCode::InvalidArgument, "null ids or records");
  for (int64_t i = 0; i < count; ++i)
    if (ids[i] < 0 || ids[i] > kMaxSafeId)
      throw_error(ErrorCode::InvalidId,
                  "ids[" + std::to_string(i) + "] = " + std::to_string(ids[i]) + " is not a non-negative safe integer");
  // Dim-scaled: the scales must be there already (set_dim_scales) and stay fixed until applied.
  std::unique_lock<std::mutex> learn(learn_mu_, std::defer_lock);
  std::vector<float> dscale;
  if (dim_scaled_) {
    learn.lock();
    std::shared_lock<std::shared_mutex> lk(mu_);
    dscale = dim_scales_;
    if (dscale.empty())
      throw_error(ErrorCode::InvalidArgument, "add_records: this index has no dimension scales yet (set them first)");
  }
  const int64_t rb = record_bytes();
  const size_t es = static_cast<size_t>(storage_bytes(storage_));
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<char> codes(static_cast<size_t>(count * cdim_) * es, 0);
  std::vector<float> cscale(static_cast<size_t>(count), 1.f), cnorm(static_cast<size_t>(count), 0.f);
  std::vector<int32_t> csum(static_cast<size_t>(count), 0);
  std::vector<float> f32(keep_f32_ ? static_cast<size_t>(count * dim_) : 0);
  const bool bounded = metric_ != Metric::Cosine;
  for (int64_t i = 0; i < count; ++i) {
    const uint8_t* rec = records + i * rb;
    char* c = codes.data() + static_cast<size_t>(i * cdim_) * es;
    std::memcpy(c, rec, static_cast<size_t>(dim_) * es);  // padding codes stay zero
    const uint8_t* tail = rec + dim_ * es;
    if (storage_ == Storage::I8) {
      std::memcpy(&cscale[i], tail, 4);
      tail += 4;
      if (!std::isfinite(cscale[i]) || cscale[i] < 0)
        throw_error(ErrorCode::NonFinite, where(i) + " has an invalid i8 scale " + std::to_string(cscale[i]));
      if (dim_scaled_ && metric_ != Metric::Cosine && cscale[i] != 1.f)
        throw_error(ErrorCode::InvalidArgument, where(i) + " has the row factor " + std::to_string(cscale[i]) +
                                                    " (ip / l2 with per-dimension scales store 1)");
      const int8_t* ci = reinterpret_cast<const int8_t*>(c);
      for (int64_t d = 0; d < dim_; ++d) {
        if (ci[d] == -128)
          throw_error(ErrorCode::InvalidArgument, where(i) + " has the i8 code -128 (outside [-127, 127])");
        csum[i] += ci[d];
      }
    } else {
      const uint16_t exp = storage_ == Storage::BF16 ? 0x7F80u : 0x7C00u;
      for (int64_t d = 0; d < dim_; ++d) {
        uint16_t h;
        std::memcpy(&h, c + 2 * d, 2);
        if ((h & exp) == exp)
          throw_error(ErrorCode::NonFinite, where(i) + ", column " + std::to_string(d) + " is not a finite code");
      }
    }
    double ss = 0;
    for (int64_t d = 0; d < dim_; ++d) {
      const double x = static_cast<double>(similarity::cpu::decode_element(storage_, c, d, cscale[i])) *
                       (dim_scaled_ ? dscale[d] : 1.f);
      ss += x * x;
    }
    if (bounded && !(ss < static_cast<double>(kMaxSqNorm)))
      throw_error(ErrorCode::NonFinite, where(i) + " decodes to |x|^2 not below 2^124");
    cnorm[i] = static_cast<float>(ss);
    if (keep_f32_) {
      float* v = f32.data() + i * dim_;
      std::memcpy(v, tail, static_cast<size_t>(dim_) * 4);
      if (find_non_finite(v, dim_) >= 0) throw_error(ErrorCode::NonFinite, where(i) + " has a non-finite f32 value");
      double vs = 0;
      for (int64_t d = 0; d < dim_; ++d) vs += static_cast<double>(v[d]) * v[d];
      if (bounded && !(vs < static_cast<double>(kMaxSqNorm)))
        throw_error(ErrorCode::NonFinite, where(i) + " has an f32 copy with |x|^2 not below 2^124");
    }
  }
  const double qsec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  apply_rows(ids, keep_f32_ ? f32.data() : nullptr, codes.data(), cscale.data(), csum.data(), cnorm.data(), count,
             qsec);
}

void VectorStore::export_records(uint8_t* records, int64_t* ids, int64_t max_rows) const {
  std::shared_lock<std::shared_mutex> lk(mu_);
  if (max_rows < n_) throw_error(ErrorCode::InvalidArgument, "export buffer too small");
  const int64_t rb = record_bytes();
  if (storage_ == Storage::F32) {
    for (int64_t r = 0; r < n_; ++r) {
      const float* p = panels_ + (r / kPanel) * dim_ * kPanel + (r % kPanel);
      uint8_t* out = records + r * rb;
      for (int64_t d = 0; d < dim_; ++d) std::memcpy(out + 4 * d, p + d * kPanel, 4);
      ids[r] = ids_[r];
    }
    return;
  }
  const int g = storage_group(storage_);
  const size_t es = static_cast<size_t>(storage_bytes(storage_));
  const char* base = static_cast<const char*>(coded_);
  for (int64_t r = 0; r < n_; ++r) {
    uint8_t* out = records + r * rb;
    for (int64_t d = 0; d < dim_; ++d)
      std::memcpy(out + es * d, base + es * similarity::cpu::coded_index(r, d, cdim_, g), es);
    uint8_t* tail = out + dim_ * es;
    if (storage_ == Storage::I8) {
      std::memcpy(tail, &scales_[r], 4);
      tail += 4;
    }
    if (keep_f32_) std::memcpy(tail, f32_.data() + r * dim_, static_cast<size_t>(dim_) * 4);
    ids[r] = ids_[r];
  }
}

}  // namespace simsage
