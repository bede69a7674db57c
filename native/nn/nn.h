// Dense building blocks of the towers: GEMM, linear, ReLU, row L2-normalisation, layer norm (forward
// and backward), and fused optimizer updates (SGD with momentum, Adam / AdamW).
//
// Layouts: every matrix is row-major and dense (row stride = its column count). A batch of B
// samples with F features is B x F. Weights follow PyTorch: a linear layer's W is O x I.
// Outputs are caller-provided and overwritten unless a params struct says `accumulate`.
// Shapes and pointers are checked: ERR_SIMSAGE_DIM_MISMATCH for a bad shape,
// ERR_SIMSAGE_INVALID_ARGUMENT for a null pointer or bad option, ERR_SIMSAGE_NON_FINITE for a
// NaN/Inf hyperparameter. Data values themselves are not scanned (one pass less per call).
//
// Row and elementwise ops run the SIMD level active_simd_level() (scalar / AVX2 / AVX-512, one
// source file per level compiled from native/nn/cpu/layer.inl); the `_at` forms pick a level (for
// tests; an unsupported level steps down). Large inputs are split by rows over the thread pool in
// fixed-size chunks, so results do not depend on the thread count.
#pragma once
#include <cstdint>

#include "core/cpu_features.h"

namespace simsage {

// ---- GEMM (also the Gram matrix of the mining family) ------------------------------------------

// General matrix multiply:
//   C = alpha * op(A) * op(B) + beta * C,   op(X) = X or X^T,  all row-major.
// op(A) is m x k: A is m x k (lda >= k) when trans_a is false, k x m (lda >= m) when true.
// op(B) is k x n: B is k x n (ldb >= n) when trans_b is false, n x k (ldb >= k) when true.
// C is m x n (ldc >= n). With beta == 0, C is overwritten (NaN in C does not propagate).
// The fast path shares the register-blocked micro-kernel of the similarity family.
struct GemmParams {
  bool trans_a = false;
  bool trans_b = false;
  int64_t m = 0, n = 0, k = 0;
  float alpha = 1.f;
  float beta = 0.f;
  const float* a = nullptr;
  int64_t lda = 0;
  const float* b = nullptr;
  int64_t ldb = 0;
  float* c = nullptr;
  int64_t ldc = 0;
  int threads = 0;  // <= 0: default_threads()
};

// Checks shapes and leading dimensions (ERR_SIMSAGE_DIM_MISMATCH / INVALID_ARGUMENT).
void gemm_check(const GemmParams& p);
void gemm(const GemmParams& p);
void gemm_at(SimdLevel level, const GemmParams& p);
// Plain triple loop with double accumulation: ground truth for tests.
void gemm_reference(const GemmParams& p);

// ---- linear -----------------------------------------------------------------------------------

// Y = X W^T + b.
struct LinearParams {
  int64_t batch = 0;         // B >= 0
  int64_t in_features = 0;   // I >= 1
  int64_t out_features = 0;  // O >= 1
  const float* x = nullptr;  // B x I
  const float* w = nullptr;  // O x I
  const float* b = nullptr;  // O, or null (no bias)
  float* y = nullptr;        // B x O
  int threads = 0;           // <= 0: default_threads()
};
void linear_forward(const LinearParams& p);
void linear_forward_at(SimdLevel level, const LinearParams& p);

// From dL/dY: dX = dY W (B x I), dW = dY^T X (O x I), db[o] = sum_b dY[b][o].
// Any of dx, dw, db may be null to skip it. With accumulate, dW and db are added to (gradient
// accumulation across modules or micro-batches); dX is always overwritten.
struct LinearBackwardParams {
  int64_t batch = 0, in_features = 0, out_features = 0;
  const float* x = nullptr;   // B x I, the forward input (needed for dw)
  const float* w = nullptr;   // O x I (needed for dx)
  const float* dy = nullptr;  // B x O
  float* dx = nullptr;        // B x I or null
  float* dw = nullptr;        // O x I or null
  float* db = nullptr;        // O or null
  bool accumulate = false;
  int threads = 0;
};
void linear_backward(const LinearBackwardParams& p);
void linear_backward_at(SimdLevel level, const LinearBackwardParams& p);

// ---- ReLU -------------------------------------------------------------------------------------

// y = max(x, 0) over n elements; y may alias x.
struct ReluParams {
  int64_t n = 0;
  const float* x = nullptr;
  float* y = nullptr;
  int threads = 0;
};
void relu_forward(const ReluParams& p);
void relu_forward_at(SimdLevel level, const ReluParams& p);

// dx = dy where y > 0 (equivalently x > 0), else 0; the subgradient at 0 is 0 (as PyTorch).
// dx may alias dy.
struct ReluBackwardParams {
  int64_t n = 0;
  const float* y = nullptr;  // the forward output
  const float* dy = nullptr;
  float* dx = nullptr;
  int threads = 0;
};
void relu_backward(const ReluBackwardParams& p);
void relu_backward_at(SimdLevel level, const ReluBackwardParams& p);

// ---- L2 normalisation per row -----------------------------------------------------------------

// y = x / max(|x|, eps) per row (torch.nn.functional.normalize, p = 2). eps keeps a zero row finite
// (it maps to zero); the default 1e-12 is PyTorch's. norms[r] = |x_r| is saved for the backward.
// y may alias x.
struct L2NormParams {
  int64_t rows = 0, dim = 0;
  float eps = 1e-12f;        // > 0
  const float* x = nullptr;  // rows x dim
  float* y = nullptr;        // rows x dim
  float* norms = nullptr;    // rows
  int threads = 0;
};
void l2normalize_forward(const L2NormParams& p);
void l2normalize_forward_at(SimdLevel level, const L2NormParams& p);

// With n = |x|: dx = (dy - y (y . dy)) / n when n > eps; dx = dy / eps otherwise (the clamp is
// constant there). dx may alias dy.
struct L2NormBackwardParams {
  int64_t rows = 0, dim = 0;
  float eps = 1e-12f;            // the forward's eps
  const float* y = nullptr;      // rows x dim, the forward output
  const float* norms = nullptr;  // rows, from the forward
  const float* dy = nullptr;     // rows x dim
  float* dx = nullptr;           // rows x dim
  int threads = 0;
};
void l2normalize_backward(const L2NormBackwardParams& p);
void l2normalize_backward_at(SimdLevel level, const L2NormBackwardParams& p);

// ---- layer norm over the feature dimension ----------------------------------------------------

// Per row: mean = sum(x) / D, var = sum((x - mean)^2) / D (biased, as PyTorch),
// rstd = 1 / sqrt(var + eps), xhat = (x - mean) * rstd, y = xhat * gamma + beta.
// gamma / beta null mean 1 / 0 (no affine). mean and rstd (rows each) are saved for the backward.
// y may alias x.
struct LayerNormParams {
  int64_t rows = 0, dim = 0;
  float eps = 1e-5f;             // > 0; PyTorch's default
  const float* x = nullptr;      // rows x dim
  const float* gamma = nullptr;  // dim or null
  const float* beta = nullptr;   // dim or null
  float* y = nullptr;            // rows x dim
  float* mean = nullptr;         // rows
  float* rstd = nullptr;         // rows
  int threads = 0;
};
void layernorm_forward(const LayerNormParams& p);
void layernorm_forward_at(SimdLevel level, const LayerNormParams& p);

// With g = dy * gamma: dx = rstd * (g - mean(g) - xhat * mean(g * xhat)) per row;
// dgamma = sum_rows dy * xhat, dbeta = sum_rows dy (overwritten, or added to with accumulate).
// dgamma / dbeta may be null to skip; dx may alias dy.
struct LayerNormBackwardParams {
  int64_t rows = 0, dim = 0;
  const float* x = nullptr;      // rows x dim, the forward input
  const float* gamma = nullptr;  // dim or null (= 1)
  const float* mean = nullptr;   // rows, from the forward
  const float* rstd = nullptr;   // rows, from the forward
  const float* dy = nullptr;     // rows x dim
  float* dx = nullptr;           // rows x dim
  float* dgamma = nullptr;       // dim or null
  float* dbeta = nullptr;        // dim or null
  bool accumulate = false;
  int threads = 0;
};
void layernorm_backward(const LayerNormBackwardParams& p);
void layernorm_backward_at(SimdLevel level, const LayerNormBackwardParams& p);

// ---- spatial layers over NCHW images: pooling and group norm (part `spatial`) -------------------
// Layout: a batch of B images with C channels of H x W pixels is B x C x H x W, row-major (the
// flattened rows of the TypeScript modules). Pooling windows and the group norm statistics are
// per (sample, channel) plane or per (sample, group) block, so the drivers split the B*C planes
// (B samples for group norm) over the pool. NaN/Inf in x -> ERR_SIMSAGE_NON_FINITE (the forwards
// scan their input: a NaN would make the argmax ambiguous and poison a whole group's statistics).

// 2-D pooling window (PyTorch's MaxPool2d / AvgPool2d with ceil_mode = false, dilation 1):
//   OH = (H + 2 pad_h - kernel_h) / stride_h + 1 (floor), likewise OW.
// Window (oh, ow) covers rows oh*stride_h - pad_h + [0, kernel_h), columns likewise; rows and
// columns outside [0, H) x [0, W) are padding. pad <= kernel / 2 per axis (PyTorch's rule; every
// window then holds at least one real pixel). kernel > H + 2 pad -> ERR_SIMSAGE_DIM_MISMATCH.
struct Pool2dParams {
  int64_t batch = 0;              // B >= 0
  int64_t channels = 0;           // C >= 1
  int64_t height = 0, width = 0;  // H, W >= 1
  int64_t kernel_h = 1, kernel_w = 1;
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_h = 0, pad_w = 0;
  const float* x = nullptr;   // B x C x H x W
  float* y = nullptr;         // B x C x OH x OW
  int32_t* argmax = nullptr;  // max pooling: B x C x OH x OW, the winner's index h * W + w in its plane
  int threads = 0;
};
// OH and OW of a pooling window (checks the shape; ERR_SIMSAGE_DIM_MISMATCH / INVALID_ARGUMENT).
void pool2d_output_size(const Pool2dParams& p, int64_t* oh, int64_t* ow);

// Max pooling: padding counts as -inf (never wins); ties keep the first index in row-major window
// order (as PyTorch's CPU kernel). argmax is required (the backward routes dy through it).
void max_pool2d_forward(const Pool2dParams& p);
void max_pool2d_forward_at(SimdLevel level, const Pool2dParams& p);
// Average pooling with count_include_pad = false: y = mean of the window's real pixels.
// (Global average pooling is the window kernel = stride = (H, W), pad 0: B x C x 1 x 1.)
void avg_pool2d_forward(const Pool2dParams& p);
void avg_pool2d_forward_at(SimdLevel level, const Pool2dParams& p);

// dx (B x C x H x W) from dy (B x C x OH x OW): max routes dy[o] to x[argmax[o]] (summing where
// windows overlap); avg spreads dy[o] / count over the window's real pixels. dx is overwritten.
struct Pool2dBackwardParams {
  Pool2dParams shape;               // the forward's shape fields (x, y unused)
  const int32_t* argmax = nullptr;  // max only, from the forward
  const float* dy = nullptr;        // B x C x OH x OW
  float* dx = nullptr;              // B x C x H x W
};
void max_pool2d_backward(const Pool2dBackwardParams& p);
void max_pool2d_backward_at(SimdLevel level, const Pool2dBackwardParams& p);
void avg_pool2d_backward(const Pool2dBackwardParams& p);
void avg_pool2d_backward_at(SimdLevel level, const Pool2dBackwardParams& p);

// Group norm (Wu & He, ECCV 2018) over B x C x S (S = H * W): channels split into G groups of
// C / G consecutive channels; per sample and group, over its (C / G) * S values:
//   mean, var (biased), rstd = 1 / sqrt(var + eps), y = (x - mean) * rstd * gamma[c] + beta[c].
// gamma / beta null mean 1 / 0. mean and rstd (B x G) are saved for the backward. y may alias x.
// C % G != 0 -> ERR_SIMSAGE_DIM_MISMATCH.
struct GroupNormParams {
  int64_t batch = 0;             // B >= 0
  int64_t channels = 0;          // C >= 1
  int64_t groups = 1;            // G in [1, C], divides C
  int64_t spatial = 1;           // S = H * W >= 1
  float eps = 1e-5f;             // > 0; PyTorch's default
  const float* x = nullptr;      // B x C x S
  const float* gamma = nullptr;  // C or null
  const float* beta = nullptr;   // C or null
  float* y = nullptr;            // B x C x S
  float* mean = nullptr;         // B x G
  float* rstd = nullptr;         // B x G
  int threads = 0;
};
void group_norm_forward(const GroupNormParams& p);
void group_norm_forward_at(SimdLevel level, const GroupNormParams& p);

// With g = dy * gamma[c] and n = (C / G) * S, per sample and group:
//   dx = rstd * (g - mean_n(g) - xhat * mean_n(g * xhat));
// dgamma[c] = sum_{b,s} dy * xhat, dbeta[c] = sum_{b,s} dy (overwritten, or added to with
// accumulate; null to skip). dx may alias dy.
struct GroupNormBackwardParams {
  int64_t batch = 0, channels = 0, groups = 1, spatial = 1;
  const float* x = nullptr;      // B x C x S, the forward input
  const float* gamma = nullptr;  // C or null (= 1)
  const float* mean = nullptr;   // B x G, from the forward
  const float* rstd = nullptr;   // B x G, from the forward
  const float* dy = nullptr;     // B x C x S
  float* dx = nullptr;           // B x C x S
  float* dgamma = nullptr;       // C or null
  float* dbeta = nullptr;        // C or null
  bool accumulate = false;
  int threads = 0;
};
void group_norm_backward(const GroupNormBackwardParams& p);
void group_norm_backward_at(SimdLevel level, const GroupNormBackwardParams& p);

// Double-accumulating loops: ground truth for tests (same checks, same outputs).
void max_pool2d_forward_reference(const Pool2dParams& p);
void avg_pool2d_forward_reference(const Pool2dParams& p);
void max_pool2d_backward_reference(const Pool2dBackwardParams& p);
void avg_pool2d_backward_reference(const Pool2dBackwardParams& p);
void group_norm_forward_reference(const GroupNormParams& p);
void group_norm_backward_reference(const GroupNormBackwardParams& p);
// ---- 2-D convolution (NCHW) -------------------------------------------------------------------

// Shape of a 2-D convolution over NCHW images (PyTorch's Conv2d with zero padding, groups 1):
//   OH = (H + 2 pad_h - dilation_h (KH - 1) - 1) / stride_h + 1, likewise OW;
//   y[b, o, i, j] = bias[o] + sum_{c, kh, kw} W[o, c, kh, kw] x[b, c, i sh - ph + kh dh, j sw - pw + kw dw]
// with x read as zero outside [0, H) x [0, W). A kernel larger than the padded input (OH or OW
// < 1) is ERR_SIMSAGE_DIM_MISMATCH.
struct Conv2dShape {
  int64_t batch = 0;         // B >= 0
  int64_t in_channels = 0;   // Cin >= 1
  int64_t out_channels = 0;  // Cout >= 1
  int64_t height = 0, width = 0;
  int64_t kernel_h = 1, kernel_w = 1;
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_h = 0, pad_w = 0;
  int64_t dilation_h = 1, dilation_w = 1;
  int64_t out_h() const { return (height + 2 * pad_h - dilation_h * (kernel_h - 1) - 1) / stride_h + 1; }
  int64_t out_w() const { return (width + 2 * pad_w - dilation_w * (kernel_w - 1) - 1) / stride_w + 1; }
};

// Forward: one GEMM per call, W (Cout x Cin KH KW) times the patches of all images, read in place
// from a zero-padded, stride-phase-split copy of a block of images that the pool task using it lays
// out in L2 (implicit im2col: no patch matrix is built; native/nn/cpu/conv2d_kernels.h).
// x (and w) are scanned: NaN/Inf is ERR_SIMSAGE_NON_FINITE (y is then incomplete).
struct Conv2dParams {
  Conv2dShape s;
  const float* x = nullptr;  // B x Cin x H x W
  const float* w = nullptr;  // Cout x Cin x KH x KW
  const float* b = nullptr;  // Cout, or null (no bias)
  float* y = nullptr;        // B x Cout x OH x OW
  int threads = 0;           // <= 0: default_threads()
};
// Checks a shape alone (options, sizes, the kernel against the padded input); the checks below
// call it first.
void conv2d_check_shape(const Conv2dShape& s);
void conv2d_check(const Conv2dParams& p);
// conv2d_check without the scan of x (the forward scans x while it lays x out for the GEMM).
void conv2d_check_params(const Conv2dParams& p);
void conv2d_forward(const Conv2dParams& p);
void conv2d_forward_at(SimdLevel level, const Conv2dParams& p);
void conv2d_reference(const Conv2dParams& p);  // direct loops, double accumulation

// Backward from dL/dY (dy scanned for NaN/Inf): dx (overwritten) is the transposed convolution
// dx[b, c, u, v] = sum W[o, c, kh, kw] dy[b, o, (u + ph - kh dh) / sh, (v + pw - kw dw) / sw] over
// the terms whose division is exact and in range (per stride phase, a stride-1 correlation of dy);
// dw[o, c, kh, kw] = sum over b, i, j of dy[b, o, i, j] times the forward patch; db[o] = sum dy[b, o].
// Any of dx, dw, db may be null to skip it; with accumulate, dw and db are added to.
// dW is reduced over fixed image blocks into a fixed number of partial sums: results do not depend
// on the thread count.
struct Conv2dBackwardParams {
  Conv2dShape s;
  const float* x = nullptr;   // B x Cin x H x W (needed for dw)
  const float* w = nullptr;   // Cout x Cin x KH x KW (needed for dx)
  const float* dy = nullptr;  // B x Cout x OH x OW
  float* dx = nullptr;        // B x Cin x H x W or null
  float* dw = nullptr;        // Cout x Cin x KH x KW or null
  float* db = nullptr;        // Cout or null
  bool accumulate = false;
  int threads = 0;
};
void conv2d_backward_check(const Conv2dBackwardParams& p);
void conv2d_backward(const Conv2dBackwardParams& p);
void conv2d_backward_at(SimdLevel level, const Conv2dBackwardParams& p);
void conv2d_backward_reference(const Conv2dBackwardParams& p);

// ---- fused optimizer updates (one pass over the parameter vector) -----------------------------

// torch.optim.SGD with dampening 0:
//   g = grad + weight_decay * p;  v = momentum * v + g;  step = nesterov ? g + momentum * v : v;
//   p -= lr * step.
// With momentum == 0, velocity may be null and step = g. velocity starts at zero (PyTorch's first
// step sets v = g, which is the same thing when dampening is 0).
struct SgdParams {
  int64_t n = 0;
  float* param = nullptr;       // n
  const float* grad = nullptr;  // n
  float* velocity = nullptr;    // n, or null when momentum == 0
  float lr = 0.01f;             // >= 0
  float momentum = 0.f;         // >= 0
  float weight_decay = 0.f;     // >= 0
  bool nesterov = false;        // requires momentum > 0
  int threads = 0;
};
void sgd_step(const SgdParams& p);

// torch.optim.Adam (decoupled = false: g = grad + weight_decay * p) and torch.optim.AdamW
// (decoupled = true: p *= 1 - lr * weight_decay before the update); then
//   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
//   p -= (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
// where t >= 1 counts steps taken, this one included (Kingma & Ba 2015, Alg. 1; Loshchilov &
// Hutter 2019 for the decoupled decay).
struct AdamParams {
  int64_t n = 0;
  float* param = nullptr;       // n
  const float* grad = nullptr;  // n
  float* m = nullptr;           // n, first moment (starts at 0)
  float* v = nullptr;           // n, second moment (starts at 0)
  float lr = 1e-3f;             // >= 0
  float beta1 = 0.9f;           // in [0, 1)
  float beta2 = 0.999f;         // in [0, 1)
  float eps = 1e-8f;            // > 0
  float weight_decay = 0.f;     // >= 0
  bool decoupled = false;       // AdamW
  int64_t step = 1;             // t >= 1
  int threads = 0;
};
void adam_step(const AdamParams& p);

}  // namespace simsage
