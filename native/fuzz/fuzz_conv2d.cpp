// libFuzzer target: the nn family's 2-D convolution with random shapes (also invalid: kernels
// larger than the padded input, zero or negative sizes and options), strides, paddings,
// dilations, thread counts, value modes (NaN / Inf included) and SIMD levels, forward and backward.
// Buffers are sized from the shapes the call declares (as the addon sizes them), so a check that
// lets a bad shape through, or a canvas read past its slack, shows up as an ASan report. Outcome: a
// coded simsage::Error or a clean return; with tame inputs the forward and backward are compared
// with conv2d_reference / conv2d_backward_reference.
#include <cmath>
#include <cstdint>
#include <vector>

#include "fuzz_common.h"
#include "nn/nn.h"

using namespace simsage;
using namespace simsage_fuzz;

namespace {
constexpr const char* kTarget = "fuzz_conv2d";

int64_t pick(FuzzedDataProvider& in, int64_t lo, int64_t hi) { return in.ConsumeIntegralInRange<int64_t>(lo, hi); }
int64_t nonneg(int64_t v) { return v > 0 ? v : 0; }

double maxabs(const std::vector<float>& v) {
  double m = 0;
  for (float x : v) m = std::fmax(m, std::fabs(double(x)));
  return m;
}

// Every |a - b| within float rounding of a sum of `terms` products of at most `scale` each.
bool close(const std::vector<float>& a, const std::vector<float>& b, double terms, double scale) {
  for (size_t i = 0; i < b.size(); ++i)
    if (std::fabs(double(a[i]) - b[i]) > 2e-7 * (terms + 4) * scale + 1e-30) return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const SimdLevel level = pick_level(in);
  const Values mode = pick_values(in);
  Conv2dShape s;
  s.batch = pick(in, -1, 3);
  s.in_channels = pick(in, -1, 9);
  s.out_channels = pick(in, -1, 20);
  s.height = pick(in, -1, 12);
  s.width = pick(in, -1, 12);
  s.kernel_h = pick(in, -1, 6);
  s.kernel_w = pick(in, -1, 6);
  s.stride_h = pick(in, -1, 4);
  s.stride_w = pick(in, -1, 4);
  s.pad_h = pick(in, -1, 4);
  s.pad_w = pick(in, -1, 4);
  s.dilation_h = pick(in, -1, 3);
  s.dilation_w = pick(in, -1, 3);
  const int threads = in.ConsumeIntegralInRange<int>(0, 3);
  // Exactly the memory the declared shapes need, never more (zero when a size is invalid).
  const bool fits = s.kernel_h >= 1 && s.kernel_w >= 1 && s.stride_h >= 1 && s.stride_w >= 1 && s.dilation_h >= 1 &&
                    s.dilation_w >= 1 && s.out_h() >= 1 && s.out_w() >= 1;
  const int64_t xn = nonneg(s.batch) * nonneg(s.in_channels) * nonneg(s.height) * nonneg(s.width);
  const int64_t wn = nonneg(s.out_channels) * nonneg(s.in_channels) * nonneg(s.kernel_h) * nonneg(s.kernel_w);
  const int64_t yn = fits ? nonneg(s.batch) * nonneg(s.out_channels) * s.out_h() * s.out_w() : 0;
  std::vector<float> x = matrix(in, xn, mode), w = matrix(in, wn, mode), b = matrix(in, nonneg(s.out_channels), mode);
  std::vector<float> dy = matrix(in, yn, mode);
  std::vector<float> y(static_cast<size_t>(yn)), yr = y;
  Conv2dParams p;
  p.s = s;
  p.x = x.empty() ? nullptr : x.data();
  p.w = w.empty() ? nullptr : w.data();
  p.b = in.ConsumeBool() && !b.empty() ? b.data() : nullptr;
  p.y = y.empty() ? nullptr : y.data();
  p.threads = threads;
  if (accepted([&] { conv2d_forward_at(level, p); }) && mode == Values::Tame) {
    Conv2dParams r = p;
    r.y = yr.empty() ? nullptr : yr.data();
    conv2d_reference(r);
    const double terms = double(nonneg(s.in_channels) * s.kernel_h * s.kernel_w);
    FUZZ_CHECK(close(y, yr, terms, maxabs(x) * maxabs(w) + maxabs(b)), kTarget);
  }
  std::vector<float> dx(static_cast<size_t>(xn)), dw(static_cast<size_t>(wn)),
      db(static_cast<size_t>(nonneg(s.out_channels)));
  std::vector<float> dxr = dx, dwr = dw, dbr = db;
  Conv2dBackwardParams q;
  q.s = s;
  q.x = p.x;
  q.w = p.w;
  q.dy = dy.empty() ? nullptr : dy.data();
  q.dx = in.ConsumeBool() && !dx.empty() ? dx.data() : nullptr;
  q.dw = dw.empty() ? nullptr : dw.data();
  q.db = db.empty() ? nullptr : db.data();
  q.threads = threads;
  if (accepted([&] { conv2d_backward_at(level, q); }) && mode == Values::Tame) {
    Conv2dBackwardParams r = q;
    r.dx = q.dx ? dxr.data() : nullptr;
    r.dw = q.dw ? dwr.data() : nullptr;
    r.db = q.db ? dbr.data() : nullptr;
    conv2d_backward_reference(r);
    const double per_w = double(nonneg(s.batch)) * (fits ? s.out_h() * s.out_w() : 0);
    FUZZ_CHECK(close(dx, dxr, double(wn), maxabs(w) * maxabs(dy)), kTarget);
    FUZZ_CHECK(close(dw, dwr, per_w, maxabs(x) * maxabs(dy)), kTarget);
    FUZZ_CHECK(close(db, dbr, per_w, maxabs(dy)), kTarget);
  }
  return 0;
}
