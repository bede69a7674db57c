// Internal pieces of the 2-D convolution drivers shared by conv2d.cpp (forward) and
// conv2d_backward.cpp: scratch, the packed weights, the canvas and the block runner.
#pragma once
#include <cstdint>
#include <vector>

#include "nn/cpu/conv2d_kernels.h"
#include "nn/nn.h"

namespace simsage {
namespace nn {
namespace cpu {

constexpr int64_t kBlockFloats = 1 << 16;     // canvas floats per image block (256 KiB, L2)
constexpr int64_t kDwSlots = 8;               // dW partial sums (fixed: determinism)
constexpr int64_t kDbColumns = 16;            // bias-gradient channels per task
constexpr double kMinParallelWork = 1 << 18;  // multiply-adds worth a pool hand-off

// Scratch reused across calls (page faults cost more than a small conv), thread-local: packed
// weights, tap offsets, a phase's weights and dW partial sums on the calling thread; canvases,
// panels, runs and accumulators on each worker.
std::vector<float>& weights_scratch();
std::vector<float>& canvas_scratch();
std::vector<int64_t>& offset_scratch();
std::vector<float>& phase_scratch();
std::vector<float>& partial_scratch();
std::vector<float>& panel_scratch();
std::vector<Run>& run_scratch();
std::vector<float>& tile_scratch();
float* grow(std::vector<float>* v, int64_t n);  // at least n floats; returns data()

// A[r, l] = w[r * rs + (l / taps) * cs + l % taps] (r < m, l < k) into K blocks of mr-row tiles
// (the layout of Conv2dTask::apack).
void pack_weights(const float* w, int64_t m, int64_t k, int64_t kb, int64_t taps, int64_t rs, int64_t cs, int mr,
                  std::vector<float>* dst);

// The canvas of conv2d_kernels.h: src pixel (y, x) of each channel sits at canvas (top + y,
// left + x) of an hp x wp zero canvas, stored as sh x sw phase planes of hq x wq.
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

// The narrowest row stride (at least valid_w) with which every read of a valid grid column (canvas
// columns up to xmax of its row) still sees zeros outside the data: a read past the row end lands
// on the next row's left zeros.
int64_t shared_row_stride(const Canvas& cv, int64_t valid_w, int64_t xmax);

// Source planes [i0, i1) (plane i = image i / src_c, channel i % src_c) laid out into out from
// image b0 on; false when a source value is NaN or infinite.
bool canvas_planes(const Conv2dKernels& tb, const Canvas& cv, int64_t b0, int64_t i0, int64_t i1, float* out);
int64_t canvas_slack(const Canvas& cv);  // zeroed floats after a canvas

// The forward's canvas (x padded, split by the stride), tap offsets (tap l = (c, i, j) reads plane
// (c, i dh mod sh, j dw mod sw) at row i dh / sh, column j dw / sw) and grid.
Canvas forward_canvas(const Conv2dShape& s, const float* x);
void forward_offsets(const Conv2dShape& s, const Canvas& cv, std::vector<int64_t>* loff);
Conv2dGrid forward_grid(const Conv2dShape& s, const Canvas& cv, const float* xs, const int64_t* loff);

// Runs `proto` over every column group, block of images by block: a pool task lays out its
// block's canvas in its own scratch (L2) and runs the block's groups while it is warm. False when
// the source holds NaN or Inf (that task stops; the output is then incomplete).
bool run_blocks(const Conv2dKernels& tb, const Canvas& cv, Conv2dTask proto, int threads);

}  // namespace cpu
}  // namespace nn
}  // namespace simsage
