// Causal dilated conv1d drivers (temporal.h): pack W once per call as the B operand of one GEMM
// whose reduction folds the K taps (l = k * C_in + c), and run conv tasks whose A packer gathers
// the shifted rows (conv.inl). Backward: dx is the same kernel with the shifts reversed and W
// packed the other way round; dW is a GEMM over the time rows (nn's trans_a task) against a
// packed, shifted copy of x, in fixed chunks of rows; db is a column sum.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "core/parallel.h"
#include "core/thread_pool.h"
#include "nn/cpu/gemm_kernels.h"
#include "temporal/cpu/conv_kernels.h"
#include "temporal/cpu/driver.h"
#include "temporal/temporal.h"

#if SIMSAGE_WITH_CUDA
#include "temporal/cuda/temporal_cuda.h"
#endif

namespace simsage {
namespace temporal {
namespace cpu {

namespace {

// Scratch reused across calls (page faults cost more than a small conv): packed B per calling
// thread, A tiles per worker thread, the dW staging buffer per calling thread.
std::vector<float>& bpack_scratch() {
  thread_local std::vector<float> v;
  return v;
}
std::vector<float>& apack_scratch() {
  thread_local std::vector<float> v;
  return v;
}
std::vector<float>& dw_scratch() {
  thread_local std::vector<float> v;
  return v;
}

constexpr int64_t kRowTiles = 6;              // register tiles of rows per task
constexpr int64_t kDwChunk = 1024;            // time rows per dW reduction chunk (fixed: determinism)
constexpr int64_t kDbColumns = 32;            // bias-gradient columns per task
constexpr double kMinParallelWork = 1 << 18;  // multiply-adds worth a pool hand-off

void grow(std::vector<float>* v, size_t n) {
  if (v->size() < n) v->resize(n);
}

}  // namespace

int64_t panel_count(const ConvKernels& tb, int64_t n) { return ((n + 15) / 16 + tb.np - 1) / tb.np * tb.np; }

void pack_w_forward(const float* w, int64_t cin, int64_t cout, int64_t taps, int64_t panels, std::vector<float>* dst) {
  const int64_t ktot = taps * cin;
  grow(dst, static_cast<size_t>(panels * ktot * 16));
  float* out = dst->data();
  for (int64_t p = 0; p < panels; ++p) {
    float* panel = out + p * ktot * 16;
    for (int64_t j = 0; j < 16; ++j) {
      const int64_t o = p * 16 + j;
      if (o >= cout) {
        for (int64_t l = 0; l < ktot; ++l) panel[l * 16 + j] = 0.f;
        continue;
      }
      const float* wo = w + o * cin * taps;
      for (int64_t k = 0; k < taps; ++k)
        for (int64_t c = 0; c < cin; ++c) panel[(k * cin + c) * 16 + j] = wo[c * taps + k];
    }
  }
}

void run_conv_tasks(const ConvKernels& tb, const ConvTask& proto, int64_t rows, int64_t panels, int threads) {
  if (rows <= 0) return;
  threads = resolve_threads(threads);
  const int64_t mc = static_cast<int64_t>(tb.mr) * kRowTiles;
  const int64_t row_blocks = (rows + mc - 1) / mc;
  const int64_t groups = panels / tb.np;
  int64_t col_splits = 1;
  if (threads > 1 && row_blocks < 2 * threads)
    col_splits = std::min<int64_t>(groups, (2 * threads + row_blocks - 1) / row_blocks);
  const int64_t groups_per = (groups + col_splits - 1) / col_splits;
  const size_t apack_size = static_cast<size_t>(mc * nn::cpu::kKc);
  // Below kMinParallelWork multiply-adds a pool hand-off (waking a worker) costs more than the
  // work: run on the calling thread (a streaming step of one row, a short sequence).
  const double work = static_cast<double>(rows) * static_cast<double>(proto.taps * proto.cin) * panels * 16;
  const int run_threads = row_blocks * col_splits > 1 && work >= kMinParallelWork ? threads : 1;
  auto task_fn = [&](int64_t task, int) {
    ConvTask t = proto;
    const int64_t rb = task / col_splits, cs = task % col_splits;
    t.r0 = rb * mc;
    t.r1 = std::min(rows, t.r0 + mc);
    t.p0 = cs * groups_per * tb.np;
    t.p1 = std::min(panels, t.p0 + groups_per * tb.np);
    if (t.p0 >= t.p1) return;
    std::vector<float>& ap = apack_scratch();
    grow(&ap, apack_size);
    t.apack = ap.data();
    tb.run(t);
  };
  if (run_threads == 1) {  // in order on this thread, without building a std::function
    for (int64_t task = 0; task < row_blocks * col_splits; ++task) task_fn(task, 0);
  } else {
    parallel_for(row_blocks * col_splits, run_threads, task_fn);
  }
}

}  // namespace cpu
}  // namespace temporal

void conv1d_forward_at(SimdLevel level, const Conv1dParams& p) {
  using namespace temporal::cpu;
  conv1d_check(p);
  const int64_t rows = p.batch * p.steps;
  if (rows == 0) return;
  const ConvKernels& tb = conv_kernels_for(level);
  const int64_t panels = panel_count(tb, p.out_channels);
  std::vector<float>& bpack = bpack_scratch();
  pack_w_forward(p.w, p.in_channels, p.out_channels, p.kernel_size, panels, &bpack);
  std::vector<int64_t> offset(static_cast<size_t>(p.kernel_size));
  for (int64_t k = 0; k < p.kernel_size; ++k) offset[k] = -(p.kernel_size - 1 - k) * p.dilation;
  ConvTask t;
  t.x = p.x;
  t.steps = p.steps;
  t.cin = p.in_channels;
  t.taps = p.kernel_size;
  t.offset = offset.data();
  t.bpack = bpack.data();
  t.n = p.out_channels;
  t.y = p.y;
  t.ldy = p.out_channels;
  t.bias = p.b;
  t.relu = p.relu;
  run_conv_tasks(tb, t, rows, panels, p.threads);
}

Backend conv1d_forward(const Conv1dParams& p) {
#if SIMSAGE_WITH_CUDA
  conv1d_check(p);  // (bounded shapes before conv1d_supported multiplies them)
  if (preferred_backend() == Backend::Cuda &&
      temporal::cuda::conv1d_supported(p.batch, p.steps, p.in_channels, p.out_channels, p.kernel_size)) {
    temporal::cuda::conv1d_forward(p);
    return Backend::Cuda;
  }
#endif
  conv1d_forward_at(active_simd_level(), p);
  return Backend::Cpu;
}

void conv1d_backward_at(SimdLevel level, const Conv1dBackwardParams& p) {
  using namespace temporal::cpu;
  conv1d_backward_check(p);
  const int64_t rows = p.batch * p.steps;
  const int64_t cin = p.in_channels, cout = p.out_channels, taps = p.kernel_size;
  const int threads = resolve_threads(p.threads);

  if (p.db) {  // column sums of dy, rows in order (double accumulators), column ranges on the pool
    const int db_threads = rows * cout >= (int64_t(1) << 16) ? threads : 1;
    parallel_chunks(cout, kDbColumns, db_threads, [&](int64_t o0, int64_t o1, int) {
      double acc[kDbColumns] = {};
      for (int64_t r = 0; r < rows; ++r) {
        const float* d = p.dy + r * cout;
        for (int64_t o = o0; o < o1; ++o) acc[o - o0] += d[o];
      }
      for (int64_t o = o0; o < o1; ++o) p.db[o] = static_cast<float>((p.accumulate ? p.db[o] : 0.0) + acc[o - o0]);
    });
  }

  if (p.dx && rows > 0) {  // dx[u] = sum_k dy[u + s_k] W_k: B row l = k * cout + o, column c
    const ConvKernels& tb = conv_kernels_for(level);
    const int64_t panels = panel_count(tb, cin);
    const int64_t ktot = taps * cout;
    std::vector<float>& bpack = bpack_scratch();
    grow(&bpack, static_cast<size_t>(panels * ktot * 16));
    for (int64_t pn = 0; pn < panels; ++pn) {
      float* panel = bpack.data() + pn * ktot * 16;
      for (int64_t k = 0; k < taps; ++k)
        for (int64_t o = 0; o < cout; ++o) {
          float* dst = panel + (k * cout + o) * 16;
          const float* src = p.w + o * cin * taps + k;
          for (int64_t j = 0; j < 16; ++j) {
            const int64_t c = pn * 16 + j;
            dst[j] = c < cin ? src[c * taps] : 0.f;
          }
        }
    }
    std::vector<int64_t> offset(static_cast<size_t>(taps));
    for (int64_t k = 0; k < taps; ++k) offset[k] = (taps - 1 - k) * p.dilation;
    ConvTask t;
    t.x = p.dy;
    t.steps = p.steps;
    t.cin = cout;
    t.taps = taps;
    t.offset = offset.data();
    t.bpack = bpack.data();
    t.n = cin;
    t.y = p.dx;
    t.ldy = cin;
    t.accumulate = p.accumulate_dx;
    run_conv_tasks(tb, t, rows, panels, threads);
  }

  if (p.dw) {  // dWt[o, k * cin + c] = sum_r dy[r, o] * xs_k[r, c], xs_k the shifted x
    const int64_t ktot = taps * cin;
    std::vector<float>& dwt = dw_scratch();
    grow(&dwt, static_cast<size_t>(cout * ktot));
    std::memset(dwt.data(), 0, sizeof(float) * cout * ktot);
    if (rows > 0) {
      const nn::cpu::GemmKernels& gk = nn::cpu::gemm_kernels_for(level);
      const int64_t panels = ((ktot + 15) / 16 + gk.np - 1) / gk.np * gk.np;
      const int64_t chunk = std::min(kDwChunk, rows);
      std::vector<float>& bpack = bpack_scratch();
      grow(&bpack, static_cast<size_t>(panels * chunk * 16));
      const int64_t mc = static_cast<int64_t>(gk.mr) * kRowTiles;
      const int64_t row_blocks = (cout + mc - 1) / mc;
      const int64_t groups = panels / gk.np;
      int64_t col_splits = 1;
      if (threads > 1 && row_blocks < 2 * threads)
        col_splits = std::min<int64_t>(groups, (2 * threads + row_blocks - 1) / row_blocks);
      const int64_t groups_per = (groups + col_splits - 1) / col_splits;
      for (int64_t q0 = 0; q0 < rows; q0 += chunk) {
        const int64_t kch = std::min(chunk, rows - q0);
        // Pack the chunk's shifted x rows: panel pn, element (rr, j) at pn * kch * 16 + rr * 16 + j.
        const int pack_threads = panels * kch >= 4096 ? threads : 1;
        parallel_for(panels, pack_threads, [&](int64_t pn, int) {
          float* panel = bpack.data() + pn * kch * 16;
          const int64_t l0 = pn * 16;
          for (int64_t rr = 0; rr < kch; ++rr) {
            const int64_t r = q0 + rr, b = r / p.steps, tt = r - b * p.steps;
            float* dst = panel + rr * 16;
            int64_t l = l0;
            while (l < l0 + 16) {
              if (l >= ktot) {
                std::memset(dst + (l - l0), 0, sizeof(float) * (l0 + 16 - l));
                break;
              }
              const int64_t k = l / cin, c0 = l - k * cin;
              const int64_t len = std::min(cin - c0, l0 + 16 - l);
              const int64_t src_t = tt - (taps - 1 - k) * p.dilation;
              if (src_t < 0) {
                std::memset(dst + (l - l0), 0, sizeof(float) * len);
              } else {
                std::memcpy(dst + (l - l0), p.x + (b * p.steps + src_t) * cin + c0, sizeof(float) * len);
              }
              l += len;
            }
          }
        });
        const float beta = q0 == 0 ? 0.f : 1.f;
        const int run_threads = row_blocks * col_splits > 1 ? threads : 1;
        parallel_for(row_blocks * col_splits, run_threads, [&](int64_t task, int) {
          nn::cpu::Task t;
          t.a = p.dy + q0 * cout;
          t.lda = cout;
          t.trans_a = true;
          t.bpack = bpack.data();
          t.m = cout;
          t.n = ktot;
          t.k = kch;
          t.c = dwt.data();
          t.ldc = ktot;
          t.alpha = 1.f;
          t.beta = beta;
          const int64_t rb = task / col_splits, cs = task % col_splits;
          t.i0 = rb * mc;
          t.i1 = std::min(cout, t.i0 + mc);
          t.p0 = cs * groups_per * gk.np;
          t.p1 = std::min(panels, t.p0 + groups_per * gk.np);
          if (t.p0 >= t.p1) return;
          std::vector<float>& ap = apack_scratch();
          grow(&ap, static_cast<size_t>(mc * nn::cpu::kKc));
          t.apack = ap.data();
          gk.run(t);
        });
      }
    }
    for (int64_t o = 0; o < cout; ++o)
      for (int64_t c = 0; c < cin; ++c)
        for (int64_t k = 0; k < taps; ++k) {
          float& d = p.dw[(o * cin + c) * taps + k];
          const float g = dwt[o * ktot + k * cin + c];
          d = p.accumulate ? d + g : g;
        }
  }
}

Backend conv1d_backward(const Conv1dBackwardParams& p) {
#if SIMSAGE_WITH_CUDA
  conv1d_backward_check(p);
  if (preferred_backend() == Backend::Cuda &&
      temporal::cuda::conv1d_supported(p.batch, p.steps, p.in_channels, p.out_channels, p.kernel_size)) {
    temporal::cuda::conv1d_backward(p);
    return Backend::Cuda;
  }
#endif
  conv1d_backward_at(active_simd_level(), p);
  return Backend::Cpu;
}

}  // namespace simsage
