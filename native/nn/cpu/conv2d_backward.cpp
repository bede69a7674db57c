// 2-D convolution backward (nn.h): db a sum over dy; dW = sum over images of patches x dy^T,
// reduced over fixed image blocks into a fixed number of partial sums added in slot order (results
// do not depend on the thread count); dX one stride phase at a time, each a stride-1 correlation of
// dy with the phase's taps, on the forward's kernels (conv2d_driver.h).
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "core/parallel.h"
#include "core/thread_pool.h"
#include "nn/cpu/conv2d_driver.h"
#include "nn/cpu/conv2d_kernels.h"
#include "nn/nn.h"

namespace simsage {

namespace {

using namespace nn::cpu;

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
