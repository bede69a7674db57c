// 2-D convolution drivers (nn.h), the forward and the pieces the backward shares: the weights
// packed once per call as the A operand (K blocks of MR-row tiles), the canvas (a block of images
// zero-padded and split into stride phases, so every tap of a 16-column panel is one contiguous run)
// laid out by the pool task that uses it while it sits in L2, and the column-group kernels
// (conv2d.inl) run over it: no im2col matrix exists.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <vector>

#include "core/parallel.h"
#include "core/thread_pool.h"
#include "nn/cpu/conv2d_driver.h"
#include "nn/cpu/conv2d_kernels.h"
#include "nn/nn.h"

namespace simsage {
namespace nn {
namespace cpu {

std::vector<float>& weights_scratch() {
  thread_local std::vector<float> v;
  return v;
}
std::vector<float>& canvas_scratch() {
  thread_local std::vector<float> v;
  return v;
}
std::vector<int64_t>& offset_scratch() {
  thread_local std::vector<int64_t> v;
  return v;
}
std::vector<float>& phase_scratch() {
  thread_local std::vector<float> v;
  return v;
}
std::vector<float>& partial_scratch() {
  thread_local std::vector<float> v;
  return v;
}
std::vector<float>& panel_scratch() {
  thread_local std::vector<float> v;
  return v;
}
std::vector<nn::cpu::Run>& run_scratch() {
  thread_local std::vector<nn::cpu::Run> v;
  return v;
}
std::vector<float>& tile_scratch() {
  thread_local std::vector<float> v;
  return v;
}

float* grow(std::vector<float>* v, int64_t n) {
  if (v->size() < static_cast<size_t>(n)) v->resize(static_cast<size_t>(n));
  return v->data();
}

// A[r, l] = w[r * rs + (l / taps) * cs + l % taps] (r < m, l < k) into K blocks of mr-row tiles:
// block k0 (kc = min(kb, k - k0)) tile t at dst + k0 * mpad + t * kc * mr, element (l, i) at
// l * mr + i; zero rows past m.
void pack_weights(const float* w, int64_t m, int64_t k, int64_t kb, int64_t taps, int64_t rs, int64_t cs, int mr,
                  std::vector<float>* dst) {
  const int64_t tiles = (m + mr - 1) / mr, mpad = tiles * mr;
  float* out = grow(dst, mpad * k);
  for (int64_t k0 = 0; k0 < k; k0 += kb) {
    const int64_t kc = std::min(kb, k - k0);
    for (int64_t t = 0; t < tiles; ++t) {
      float* tile = out + k0 * mpad + t * kc * mr;
      for (int i = 0; i < mr; ++i) {
        const int64_t r = t * mr + i;
        for (int64_t l = 0; l < kc; ++l) {
          const int64_t ll = k0 + l;
          tile[l * mr + i] = r < m ? w[r * rs + (ll / taps) * cs + ll % taps] : 0.f;
        }
      }
    }
  }
}

int64_t shared_row_stride(const Canvas& cv, int64_t valid_w, int64_t xmax) {
  const int64_t data_end = cv.left + cv.src_w;
  const int64_t zeros_left = cv.left > 0 ? cv.left : 0;
  return std::max<int64_t>({valid_w, data_end, xmax + 1 - zeros_left});
}

// Source index along one axis for canvas coordinate p (-1 outside the source).
static int64_t source_at(int64_t p, int64_t start, int64_t n) {
  const int64_t d = p - start;
  return d >= 0 && d < n ? d : -1;
}

// Writes the canvas of source planes [i0, i1) (plane i = image i / src_c, channel i % src_c) into
// out, laid out from image b0 on. Returns false when a source value is NaN or infinite (each
// source plane is checked right after its copy, while it is in cache).
bool canvas_planes(const Conv2dKernels& tb, const Canvas& cv, int64_t b0, int64_t i0, int64_t i1, float* out) {
  const int64_t hq = cv.hq(), wq = cv.wq(), img = cv.img();
  bool ok = true;
  for (int64_t i = i0; i < i1; ++i) {
    const int64_t b = i / cv.src_c, c = i % cv.src_c;
    const float* src = cv.src + i * cv.src_h * cv.src_w;
    float* planes = out + (b - b0) * img + c * cv.sh * cv.sw * hq * wq;  // phase (a, e) at (a sw + e) hq wq
    for (int64_t a = 0; a < cv.sh; ++a)
      for (int64_t y = 0; y < hq; ++y) {
        float* dst0 = planes + a * cv.sw * hq * wq + y * wq;  // phase e's row at dst0 + e hq wq
        const int64_t sy = source_at(y * cv.sh + a, cv.top, cv.src_h);
        for (int64_t e = 0; e < cv.sw; ++e) std::memset(dst0 + e * hq * wq, 0, sizeof(float) * wq);
        if (sy < 0) continue;
        const float* row = src + sy * cv.src_w;
        if (cv.sw == 1) {  // zeros, the source row, zeros
          const int64_t lo = std::min(wq, std::max<int64_t>(0, cv.left));
          const int64_t hi = std::min(wq, std::max(lo, cv.left + cv.src_w));
          std::memcpy(dst0 + lo, row + (lo - cv.left), sizeof(float) * (hi - lo));
        } else {  // canvas column X = left + sx: phase X mod sw, column X / sw
          const int64_t sw = cv.sw, n = cv.src_w, plane = hq * wq;
          const int64_t first = cv.left >= 0 ? 0 : -cv.left;
          int64_t X = cv.left + first, x = X / sw, e = X - x * sw;
          for (int64_t sx = first; sx < n && x < wq; ++sx) {
            dst0[e * plane + x] = row[sx];
            if (++e == sw) e = 0, ++x;
          }
        }
      }
    ok = ok && tb.all_finite(src, cv.src_h * cv.src_w);
  }
  return ok;
}

// Slack after a canvas: reads of dropped grid columns run past the last plane by less than a row.
int64_t canvas_slack(const Canvas& cv) { return cv.wq() + 64; }

// The forward canvas (x padded, split by the stride) and its tap offsets: tap l = (c, i, j) reads
// plane (c, i dh mod sh, j dw mod sw) at row i dh / sh, column j dw / sw.
Canvas forward_canvas(const Conv2dShape& s, const float* x) {
  Canvas cv;
  cv.src = x;
  cv.batch = s.batch;
  cv.src_c = s.in_channels;
  cv.src_h = s.height;
  cv.src_w = s.width;
  cv.top = s.pad_h;
  cv.left = s.pad_w;
  cv.hp = s.height + 2 * s.pad_h;
  cv.wp = s.width + 2 * s.pad_w;
  cv.sh = s.stride_h;
  cv.sw = s.stride_w;
  if (cv.sw == 1) cv.row_stride = shared_row_stride(cv, s.out_w(), s.out_w() - 1 + (s.kernel_w - 1) * s.dilation_w);
  return cv;
}

void forward_offsets(const Conv2dShape& s, const Canvas& cv, std::vector<int64_t>* loff) {
  loff->resize(static_cast<size_t>(s.in_channels * s.kernel_h * s.kernel_w));
  int64_t l = 0;
  for (int64_t c = 0; c < s.in_channels; ++c)
    for (int64_t i = 0; i < s.kernel_h; ++i)
      for (int64_t j = 0; j < s.kernel_w; ++j) {
        const int64_t rh = i * s.dilation_h, rw = j * s.dilation_w;
        (*loff)[l++] =
            ((c * cv.sh + rh % cv.sh) * cv.sw + rw % cv.sw) * cv.plane() + (rh / cv.sh) * cv.wq() + rw / cv.sw;
      }
}

nn::cpu::Conv2dGrid forward_grid(const Conv2dShape& s, const Canvas& cv, const float* xs, const int64_t* loff) {
  nn::cpu::Conv2dGrid g;
  g.xs = xs;
  g.img = cv.img();
  g.loff = loff;
  g.rows = s.out_h();
  g.wq = cv.wq();
  g.valid_w = s.out_w();
  g.batch = s.batch;
  return g;
}

// Runs `proto` over every column group of a canvas built block by block: a pool task lays out the
// canvas of a block of images in its own scratch (sized to stay in L2) and runs the block's groups
// while it is warm, so the canvas never goes to memory. Returns false when the source holds NaN or
// Inf (the task that saw it stops; the output is then incomplete).
bool run_blocks(const Conv2dKernels& tb, const Canvas& cv, nn::cpu::Conv2dTask proto, int threads) {
  const int64_t gw = 16 * tb.np, img = cv.img(), slack = canvas_slack(cv);
  const int64_t per_image = proto.g.rows * proto.g.wq;
  // Blocks small enough for L2 and numerous enough for the threads (a block's results do not depend
  // on where it starts: every column is computed the same way).
  const int64_t ib =
      std::max<int64_t>(1, std::min(kBlockFloats / img, (cv.batch + 4 * threads - 1) / (4 * int64_t(threads))));
  const int64_t blocks = (cv.batch + ib - 1) / ib;
  const int64_t mpad = (proto.m + tb.mr - 1) / tb.mr * tb.mr;
  const double work =
      static_cast<double>(mpad) * static_cast<double>(proto.k) * static_cast<double>(cv.batch * per_image);
  const int run_threads = blocks > 1 && work >= kMinParallelWork ? threads : 1;
  std::atomic<bool> bad{false};
  auto block_fn = [&](int64_t blk, int) {
    if (bad.load(std::memory_order_relaxed)) return;
    const int64_t b0 = blk * ib, b1 = std::min(cv.batch, b0 + ib);
    float* xs = grow(&canvas_scratch(), (b1 - b0) * img + slack);
    std::memset(xs + (b1 - b0) * img, 0, sizeof(float) * slack);
    if (!canvas_planes(tb, cv, b0, b0 * cv.src_c, b1 * cv.src_c, xs)) {
      bad.store(true);
      return;
    }
    nn::cpu::Conv2dTask t = proto;
    t.g.xs = xs;
    t.g.batch = b1 - b0;
    t.out = proto.out + b0 * proto.m * proto.out_image;
    t.g0 = 0;
    t.g1 = ((b1 - b0) * per_image + gw - 1) / gw;
    t.bpack = grow(&panel_scratch(), tb.np * proto.kb * 16);
    t.acc = grow(&tile_scratch(), mpad * gw);
    tb.run(t);
  };
  if (run_threads == 1) {
    for (int64_t blk = 0; blk < blocks; ++blk) block_fn(blk, 0);
  } else {
    parallel_for(blocks, run_threads, block_fn);
  }
  return !bad.load();
}

}  // namespace cpu
}  // namespace nn

void conv2d_forward_at(SimdLevel level, const Conv2dParams& p) {
  using namespace nn::cpu;
  conv2d_check_params(p);  // x is scanned by run_blocks
  const Conv2dShape& s = p.s;
  if (s.batch == 0) return;
  const Conv2dKernels& tb = nn::cpu::conv2d_kernels_for(level);
  const int threads = resolve_threads(p.threads);
  const int64_t taps = s.kernel_h * s.kernel_w, k = s.in_channels * taps, kb = nn::cpu::conv2d_k_block(k);
  std::vector<float>& wpack = weights_scratch();
  pack_weights(p.w, s.out_channels, k, kb, taps, k, taps, tb.mr, &wpack);
  const Canvas cv = forward_canvas(s, p.x);
  std::vector<int64_t>& loff = offset_scratch();
  forward_offsets(s, cv, &loff);
  nn::cpu::Conv2dTask t;
  t.g = forward_grid(s, cv, nullptr, loff.data());
  t.apack = wpack.data();
  t.m = s.out_channels;
  t.k = k;
  t.kb = kb;
  t.out = p.y;
  t.out_image = s.out_h() * s.out_w();
  t.out_row = s.out_w();
  t.bias = p.b;
  // x is scanned while its canvas is laid out; on NaN / Inf this throws naming the first one.
  if (!run_blocks(tb, cv, t, threads)) conv2d_check(p);
}

void conv2d_forward(const Conv2dParams& p) { conv2d_forward_at(active_simd_level(), p); }

}  // namespace simsage
