// 2-D convolution drivers (nn.h): pack the weights once per call as the A operand (K blocks of
// MR-row tiles), then run column-group tasks (conv2d.inl) over the thread pool; the packer of each
// task gathers its patches from the image, so no im2col matrix exists. dX is the same kernel over
// dy with the geometry reversed and W transposed per tap; dW reduces fixed chunks of columns into a
// fixed number of partial sums (chunk c into slot c mod slots), added in slot order; db is a sum.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "core/parallel.h"
#include "core/thread_pool.h"
#include "nn/cpu/conv2d_kernels.h"
#include "nn/cpu/gemm_kernels.h"
#include "nn/nn.h"

namespace simsage {

namespace {

using nn::cpu::Conv2dGeom;
using nn::cpu::Conv2dKernels;
using nn::cpu::kKc;

// Scratch reused across calls (page faults cost more than a small conv): packed weights and dW
// partial sums per calling thread, panels and accumulators per worker thread.
std::vector<float>& weights_scratch() {
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
std::vector<float>& tile_scratch() {
  thread_local std::vector<float> v;
  return v;
}

constexpr int64_t kGroupsPerTask = 4;         // column groups per pool task
constexpr int64_t kDwChunk = 512;             // columns per dW reduction chunk (fixed: determinism)
constexpr int64_t kDwSlots = 8;               // dW partial sums (fixed: determinism)
constexpr int64_t kDbColumns = 16;            // bias-gradient channels per task
constexpr double kMinParallelWork = 1 << 18;  // multiply-adds worth a pool hand-off

float* grow(std::vector<float>* v, int64_t n) {
  if (v->size() < static_cast<size_t>(n)) v->resize(static_cast<size_t>(n));
  return v->data();
}

// A[r, l] = w[r * rs + (l / taps) * cs + l % taps] (r < m, l < k) into K blocks of mr-row tiles:
// block k0 (kc = min(kKc, k - k0)) tile t at dst + k0 * mpad + t * kc * mr, element (l, i) at
// l * mr + i; zero rows past m.
void pack_weights(const float* w, int64_t m, int64_t k, int64_t taps, int64_t rs, int64_t cs, int mr,
                  std::vector<float>* dst) {
  const int64_t tiles = (m + mr - 1) / mr, mpad = tiles * mr;
  float* out = grow(dst, mpad * k);
  for (int64_t k0 = 0; k0 < k; k0 += kKc) {
    const int64_t kc = std::min(kKc, k - k0);
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

Conv2dGeom forward_geom(const Conv2dShape& s, const float* x) {
  Conv2dGeom g;
  g.src = x;
  g.src_c = s.in_channels;
  g.src_h = s.height;
  g.src_w = s.width;
  g.u_h = s.out_h();
  g.u_w = s.out_w();
  g.kh = s.kernel_h;
  g.kw = s.kernel_w;
  g.mul_h = s.stride_h;
  g.add_h = -s.pad_h;
  g.step_h = s.dilation_h;
  g.mul_w = s.stride_w;
  g.add_w = -s.pad_w;
  g.step_w = s.dilation_w;
  return g;
}

// Runs `proto` over every column group, kGroupsPerTask groups per pool task.
void run_groups(const Conv2dKernels& tb, nn::cpu::Conv2dTask proto, int threads) {
  const int64_t gw = 16 * tb.np;
  const int64_t groups = (proto.batch * proto.g.u_h * proto.g.u_w + gw - 1) / gw;
  const int64_t mpad = (proto.m + tb.mr - 1) / tb.mr * tb.mr;
  const double work = static_cast<double>(mpad) * static_cast<double>(proto.k) * static_cast<double>(groups * gw);
  const int run_threads = work >= kMinParallelWork ? threads : 1;
  parallel_chunks(groups, kGroupsPerTask, run_threads, [&](int64_t g0, int64_t g1, int) {
    nn::cpu::Conv2dTask t = proto;
    t.g0 = g0;
    t.g1 = g1;
    t.bpack = grow(&panel_scratch(), tb.np * kKc * 16);
    t.acc = grow(&tile_scratch(), mpad * gw);
    tb.run(t);
  });
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

void weight_grad(const Conv2dKernels& tb, const Conv2dBackwardParams& p, int threads) {
  const Conv2dShape& s = p.s;
  const int64_t cout = s.out_channels, k = s.in_channels * s.kernel_h * s.kernel_w;
  const int64_t cols = s.batch * s.out_h() * s.out_w();
  const int64_t chunks = (cols + kDwChunk - 1) / kDwChunk;
  const int64_t slots = std::min(kDwSlots, chunks);
  const int64_t size = cout * k;
  if (slots == 0) {
    if (!p.accumulate) std::memset(p.dw, 0, sizeof(float) * size);
    return;
  }
  float* partial = grow(&partial_scratch(), slots * size);
  const int64_t mpad = (cout + tb.mr - 1) / tb.mr * tb.mr;
  const int64_t panels = (k + 16 * tb.np - 1) / (16 * tb.np) * tb.np;
  const double work = static_cast<double>(mpad) * static_cast<double>(k) * static_cast<double>(cols);
  const int run_threads = slots > 1 && work >= kMinParallelWork ? threads : 1;
  auto slot_fn = [&](int64_t slot, int) {
    nn::cpu::Conv2dDwTask t;
    t.g = forward_geom(s, p.x);
    t.dy = p.dy;
    t.m = cout;
    t.k = k;
    t.dw = partial + slot * size;
    t.apack = grow(&tile_scratch(), mpad * kDwChunk);
    t.bpack = grow(&panel_scratch(), panels * kDwChunk * 16);
    for (int64_t c = slot; c < chunks; c += slots) {
      t.overwrite = c == slot;
      t.q0 = c * kDwChunk;
      t.q1 = std::min(cols, t.q0 + kDwChunk);
      tb.dw(t);
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

}  // namespace

void conv2d_forward_at(SimdLevel level, const Conv2dParams& p) {
  conv2d_check(p);
  const Conv2dShape& s = p.s;
  if (s.batch == 0) return;
  const Conv2dKernels& tb = nn::cpu::conv2d_kernels_for(level);
  const int64_t taps = s.kernel_h * s.kernel_w, k = s.in_channels * taps;
  std::vector<float>& wpack = weights_scratch();
  pack_weights(p.w, s.out_channels, k, taps, k, taps, tb.mr, &wpack);
  nn::cpu::Conv2dTask t;
  t.g = forward_geom(s, p.x);
  t.apack = wpack.data();
  t.m = s.out_channels;
  t.k = k;
  t.batch = s.batch;
  t.out = p.y;
  t.bias = p.b;
  run_groups(tb, t, resolve_threads(p.threads));
}

void conv2d_forward(const Conv2dParams& p) { conv2d_forward_at(active_simd_level(), p); }

void conv2d_backward_at(SimdLevel level, const Conv2dBackwardParams& p) {
  conv2d_backward_check(p);
  const Conv2dShape& s = p.s;
  const int threads = resolve_threads(p.threads);
  const Conv2dKernels& tb = nn::cpu::conv2d_kernels_for(level);
  if (p.db) bias_grad(p, threads);
  if (p.dw) weight_grad(tb, p, threads);
  if (p.dx && s.batch > 0) {
    // dx[b, c, u, v] = sum over l = (o, kh, kw) of W[o, c, kh, kw] * dy-entry(l, (b, u, v)).
    const int64_t taps = s.kernel_h * s.kernel_w, cin = s.in_channels;
    std::vector<float>& wpack = weights_scratch();
    pack_weights(p.w, cin, s.out_channels * taps, taps, taps, cin * taps, tb.mr, &wpack);
    nn::cpu::Conv2dTask t;
    Conv2dGeom& g = t.g;
    g.src = p.dy;
    g.src_c = s.out_channels;
    g.src_h = s.out_h();
    g.src_w = s.out_w();
    g.u_h = s.height;
    g.u_w = s.width;
    g.kh = s.kernel_h;
    g.kw = s.kernel_w;
    g.add_h = s.pad_h;
    g.step_h = -s.dilation_h;
    g.div_h = s.stride_h;
    g.add_w = s.pad_w;
    g.step_w = -s.dilation_w;
    g.div_w = s.stride_w;
    t.apack = wpack.data();
    t.m = cin;
    t.k = s.out_channels * taps;
    t.batch = s.batch;
    t.out = p.dx;
    run_groups(tb, t, threads);
  }
}

void conv2d_backward(const Conv2dBackwardParams& p) { conv2d_backward_at(active_simd_level(), p); }

}  // namespace simsage
