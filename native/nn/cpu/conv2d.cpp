// 2-D convolution drivers (nn.h): lay the source out as a zero-padded canvas split into stride
// phases (one pass, about the input's size: every tap of a panel is then one contiguous run), pack
// the weights once per call as the A operand (K blocks of MR-row tiles), then run column-group tasks
// (conv2d.inl) over the thread pool; the packer of each task gathers its patches from the canvas, so
// no im2col matrix exists. dX is the same kernel over dy placed on a canvas with stride - 1 zeros
// between pixels (the transposed convolution as a stride-1 one) and the taps flipped; dW reduces
// fixed chunks of grid columns into a fixed number of partial sums (chunk c into slot c mod slots),
// added in slot order; db is a sum.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <vector>

#include "core/parallel.h"
#include "core/thread_pool.h"
#include "nn/cpu/conv2d_kernels.h"
#include "nn/nn.h"

namespace simsage {

namespace {

using nn::cpu::Conv2dKernels;

// Scratch reused across calls (page faults cost more than a small conv): packed weights and dW
// partial sums per calling thread, panels and accumulators per worker thread.
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

constexpr int64_t kBlockFloats = 1 << 16;     // canvas floats per image block (256 KiB, L2)
constexpr int64_t kDwSlots = 8;               // dW partial sums (fixed: determinism)
constexpr int64_t kDbColumns = 16;            // bias-gradient channels per task
constexpr double kMinParallelWork = 1 << 18;  // multiply-adds worth a pool hand-off

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

// The canvas of conv2d_kernels.h: src pixel (y, x) of each channel sits at canvas (top + y,
// left + x) of an hp x wp zero canvas, stored as sh x sw phase planes of hq x wq.
// shared_row_stride gives the narrowest row stride (at least the valid width) with which every read of a valid grid
// column (canvas columns up to xmax of its row) still sees zeros outside the data: a read past the row end lands on the
// next row's left zeros.
struct Canvas {
  const float* src = nullptr;
  int64_t batch = 0, src_c = 0, src_h = 0, src_w = 0;
  int64_t top = 0, left = 0;
  int64_t hp = 0, wp = 0, sh = 1, sw = 1;
  // With sw == 1: a row stride below wp, so that a row's right zeros are the next row's left ones
  // (0: wp). Fewer grid columns per row are computed and dropped.
  int64_t row_stride = 0;
  int64_t hq() const { return (hp + sh - 1) / sh; }
  int64_t wq() const { return row_stride > 0 ? row_stride : (wp + sw - 1) / sw; }
  int64_t plane() const { return hq() * wq(); }
  int64_t img() const { return src_c * sh * sw * plane(); }
};

int64_t shared_row_stride(const Canvas& cv, int64_t valid_w, int64_t xmax) {
  const int64_t data_end = cv.left + cv.src_w;
  const int64_t zeros_left = cv.left > 0 ? cv.left : 0;
  return std::max<int64_t>({valid_w, data_end, xmax + 1 - zeros_left});
}

// Source index along one axis for canvas coordinate p (-1 outside the source).
inline int64_t source_at(int64_t p, int64_t start, int64_t n) {
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

void bias_grad(const Conv2dBackwardParams& p, int threads) {
  const Conv2dShape& s = p.s;
  const int64_t per_image = s.out_h() * s.out_w(), cout = s.out_channels;
  const int db_threads = s.batch * cout * per_image >= (int64_t(1) << 16) ? threads : 1;
  parallel_chunks(cout, kDbColumns, db_threads, [&](int64_t o0, int64_t o1, int) {
    for (int64_t o = o0; o < o1; ++o) {
      double acc = 0;
      for (int64_t b = 0; b < s.batch; ++b) {
        const float* d = p.dy + (b * cout + o) * per_image;
        for (int64_t q = 0; q < per_image; ++q) acc += d[q];
      }
      p.db[o] = static_cast<float>((p.accumulate ? p.db[o] : 0.0) + acc);
    }
  });
}

// dW = sum over images of patches x dy^T. Images go in fixed blocks (canvas in L2, laid out by the
// task that reduces it); block c is added into partial sum c mod slots, chunk by chunk of grid
// columns, and the partial sums are added in slot order: blocks, slots and chunks depend on the
// shapes only, so results do not depend on the thread count.
void weight_grad(const Conv2dKernels& tb, const Conv2dBackwardParams& p, int threads) {
  const Conv2dShape& s = p.s;
  const int64_t cout = s.out_channels, k = s.in_channels * s.kernel_h * s.kernel_w;
  const int64_t size = cout * k;
  if (s.batch == 0) {
    if (!p.accumulate) std::memset(p.dw, 0, sizeof(float) * size);
    return;
  }
  const Canvas cv = forward_canvas(s, p.x);
  std::vector<int64_t>& loff = offset_scratch();
  forward_offsets(s, cv, &loff);
  const nn::cpu::Conv2dGrid grid = forward_grid(s, cv, nullptr, loff.data());
  const int64_t img = cv.img(), slack = canvas_slack(cv), per_image = grid.rows * grid.wq;
  const int64_t out_image = s.out_h() * s.out_w();
  const int64_t ib = std::max<int64_t>(1, std::min(kBlockFloats / img, (s.batch + kDwSlots - 1) / kDwSlots));
  const int64_t blocks = (s.batch + ib - 1) / ib;
  const int64_t slots = std::min(kDwSlots, blocks);
  float* partial = grow(&partial_scratch(), slots * size);
  const int64_t gw = 16 * tb.np, opad = (cout + gw - 1) / gw * gw;
  const double work = static_cast<double>(opad) * static_cast<double>(k) * static_cast<double>(s.batch * per_image);
  const int run_threads = slots > 1 && work >= kMinParallelWork ? threads : 1;
  auto slot_fn = [&](int64_t slot, int) {
    nn::cpu::Conv2dDwTask t;
    t.g = grid;
    t.m = cout;
    t.k = k;
    t.dw = partial + slot * size;
    t.bpack = grow(&panel_scratch(), opad * nn::cpu::kConv2dDwChunk);
    std::vector<nn::cpu::Run>& runs = run_scratch();
    if (runs.size() < static_cast<size_t>(nn::cpu::kConv2dDwChunk)) runs.resize(nn::cpu::kConv2dDwChunk);
    t.runs = runs.data();
    bool first = true;
    for (int64_t blk = slot; blk < blocks; blk += slots) {
      const int64_t b0 = blk * ib, b1 = std::min(s.batch, b0 + ib);
      float* xs = grow(&canvas_scratch(), (b1 - b0) * img + slack);
      std::memset(xs + (b1 - b0) * img, 0, sizeof(float) * slack);
      canvas_planes(tb, cv, b0, b0 * cv.src_c, b1 * cv.src_c, xs);  // x was scanned by the forward
      t.g.xs = xs;
      t.g.batch = b1 - b0;
      t.dy = p.dy + b0 * cout * out_image;
      const int64_t cols = (b1 - b0) * per_image;
      for (int64_t q0 = 0; q0 < cols; q0 += nn::cpu::kConv2dDwChunk) {
        t.overwrite = first;
        first = false;
        t.q0 = q0;
        t.q1 = std::min(cols, q0 + nn::cpu::kConv2dDwChunk);
        tb.dw(t);
      }
    }
  };
  if (run_threads == 1) {
    for (int64_t slot = 0; slot < slots; ++slot) slot_fn(slot, 0);
  } else {
    parallel_for(slots, run_threads, slot_fn);
  }
  for (int64_t i = 0; i < size; ++i) {
    float sum = partial[i];
    for (int64_t slot = 1; slot < slots; ++slot) sum += partial[slot * size + i];
    p.dw[i] = p.accumulate ? p.dw[i] + sum : sum;
  }
}

// dX, one stride phase (ph_h, ph_w) at a time (no zeros inserted): for u = ph_h + sh u', the taps i
// with (ph_h + pad_h - i dh) divisible by sh read dy row u' + c_i, c_i = (ph_h + pad_h - i dh) / sh
// (likewise along the width), so the phase is a stride-1 correlation of dy with those taps:
//   dx[b, c, u, v] = sum over o and the phase's taps of W[o, c, i, j] dy[b, o, u' + c_i, v' + c_j].
// All phases share one canvas of dy, placed at (-min c_i, -min c_j).
void input_grad(const Conv2dKernels& tb, const Conv2dBackwardParams& p, int threads) {
  const Conv2dShape& s = p.s;
  const int64_t sh = s.stride_h, sw = s.stride_w, cin = s.in_channels, cout = s.out_channels;
  // Per axis: the offset c of tap i in phase f (or none), and the extreme offsets over all phases.
  auto offset = [](int64_t f, int64_t pad, int64_t i, int64_t d, int64_t st, int64_t* c) {
    const int64_t t = f + pad - i * d;
    const int64_t q = t >= 0 ? t / st : -((-t + st - 1) / st);
    *c = q;
    return q * st == t;
  };
  int64_t cmin_h = 0, cmax_h = 0, cmin_w = 0, cmax_w = 0;
  bool first_h = true, first_w = true;
  for (int64_t f = 0; f < sh; ++f)
    for (int64_t i = 0; i < s.kernel_h; ++i) {
      int64_t c;
      if (!offset(f, s.pad_h, i, s.dilation_h, sh, &c)) continue;
      cmin_h = first_h ? c : std::min(cmin_h, c);
      cmax_h = first_h ? c : std::max(cmax_h, c);
      first_h = false;
    }
  for (int64_t f = 0; f < sw; ++f)
    for (int64_t j = 0; j < s.kernel_w; ++j) {
      int64_t c;
      if (!offset(f, s.pad_w, j, s.dilation_w, sw, &c)) continue;
      cmin_w = first_w ? c : std::min(cmin_w, c);
      cmax_w = first_w ? c : std::max(cmax_w, c);
      first_w = false;
    }
  const int64_t hmax = (s.height + sh - 1) / sh, wmax = (s.width + sw - 1) / sw;  // phase 0 is the largest
  Canvas cv;
  cv.src = p.dy;
  cv.batch = s.batch;
  cv.src_c = cout;
  cv.src_h = s.out_h();
  cv.src_w = s.out_w();
  cv.top = -cmin_h;
  cv.left = -cmin_w;
  cv.hp = hmax + cmax_h - cmin_h;
  cv.wp = wmax + cmax_w - cmin_w;
  cv.row_stride = shared_row_stride(cv, wmax, wmax - 1 + cmax_w - cmin_w);
  std::vector<int64_t>& loff = offset_scratch();
  std::vector<float>& wpack = weights_scratch();
  std::vector<float>& wsub = phase_scratch();  // the phase's taps of W, cin x (cout x taps of the phase)
  std::vector<int64_t> ti, tj, tc;
  for (int64_t fh = 0; fh < sh && fh < s.height; ++fh)
    for (int64_t fw = 0; fw < sw && fw < s.width; ++fw) {
      const int64_t rows = (s.height - fh + sh - 1) / sh, cols = (s.width - fw + sw - 1) / sw;
      ti.clear();
      tj.clear();
      tc.clear();
      for (int64_t i = 0; i < s.kernel_h; ++i)
        for (int64_t j = 0; j < s.kernel_w; ++j) {
          int64_t ci, cj;
          if (!offset(fh, s.pad_h, i, s.dilation_h, sh, &ci) || !offset(fw, s.pad_w, j, s.dilation_w, sw, &cj))
            continue;
          ti.push_back(i);
          tj.push_back(j);
          tc.push_back((ci - cmin_h) * cv.wq() + (cj - cmin_w));
        }
      const int64_t nt = static_cast<int64_t>(ti.size());
      if (nt == 0) {  // no tap reaches this phase: dx is zero there
        for (int64_t b = 0; b < s.batch; ++b)
          for (int64_t c = 0; c < cin; ++c)
            for (int64_t u = 0; u < rows; ++u)
              for (int64_t v = 0; v < cols; ++v)
                p.dx[((b * cin + c) * s.height + fh + u * sh) * s.width + fw + v * sw] = 0.f;
        continue;
      }
      const int64_t k = cout * nt, kb = nn::cpu::conv2d_k_block(k);
      float* ws = grow(&wsub, cin * k);
      loff.resize(static_cast<size_t>(k));
      for (int64_t o = 0; o < cout; ++o)
        for (int64_t t = 0; t < nt; ++t) {
          loff[o * nt + t] = o * cv.plane() + tc[t];
          for (int64_t c = 0; c < cin; ++c)
            ws[c * k + o * nt + t] = p.w[((o * cin + c) * s.kernel_h + ti[t]) * s.kernel_w + tj[t]];
        }
      pack_weights(ws, cin, k, kb, 1, k, 1, tb.mr, &wpack);
      nn::cpu::Conv2dTask t;
      t.g.img = cv.img();
      t.g.loff = loff.data();
      t.g.rows = rows;
      t.g.wq = cv.wq();
      t.g.valid_w = cols;
      t.g.batch = s.batch;
      t.apack = wpack.data();
      t.m = cin;
      t.k = k;
      t.kb = kb;
      t.out = p.dx;
      t.out_image = s.height * s.width;
      t.out_off = fh * s.width + fw;
      t.out_row = sh * s.width;
      t.out_col = sw;
      run_blocks(tb, cv, t, threads);  // dy was scanned by conv2d_backward_check
    }
}

}  // namespace

void conv2d_forward_at(SimdLevel level, const Conv2dParams& p) {
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

void conv2d_backward_at(SimdLevel level, const Conv2dBackwardParams& p) {
  conv2d_backward_check(p);
  const int threads = resolve_threads(p.threads);
  const Conv2dKernels& tb = nn::cpu::conv2d_kernels_for(level);
  if (p.db) bias_grad(p, threads);
  if (p.dw) weight_grad(tb, p, threads);  // uses the canvas scratch before input_grad reuses it
  if (p.dx && p.s.batch > 0) input_grad(tb, p, threads);
}

void conv2d_backward(const Conv2dBackwardParams& p) { conv2d_backward_at(active_simd_level(), p); }

}  // namespace simsage
