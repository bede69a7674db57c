// GEMM driver: checks, packs op(B) into 16-column panels (the layout the register tiles load), splits
// C into (row block x panel range) tasks over the thread pool, and runs the per-ISA kernels.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/thread_pool.h"
#include "nn/cpu/gemm_kernels.h"
#include "nn/nn.h"

namespace simsage {

namespace {

// Scratch reused across calls (page faults cost more than small GEMMs): B panels per calling
// thread, A tiles per worker thread.
std::vector<float>& bpack_scratch() {
  thread_local std::vector<float> v;
  return v;
}
std::vector<float>& apack_scratch() {
  thread_local std::vector<float> v;
  return v;
}

// Panel p of op(B): element (l, j) at dst[l * 16 + j] for l < k, column 16p + j (zero past n).
void pack_b_panel(const GemmParams& p, int64_t panel, float* dst) {
  const int64_t j0 = panel * 16;
  const int64_t cols = j0 >= p.n ? 0 : (p.n - j0 < 16 ? p.n - j0 : 16);
  if (cols < 16) std::memset(dst, 0, sizeof(float) * p.k * 16);
  if (!p.trans_b) {
    for (int64_t l = 0; l < p.k; ++l) std::memcpy(dst + l * 16, p.b + l * p.ldb + j0, sizeof(float) * cols);
  } else {
    for (int64_t j = 0; j < cols; ++j) {
      const float* src = p.b + (j0 + j) * p.ldb;
      for (int64_t l = 0; l < p.k; ++l) dst[l * 16 + j] = src[l];
    }
  }
}

}  // namespace

void gemm_check(const GemmParams& p) {
  if (p.m < 0 || p.n < 0 || p.k < 0) throw_error(ErrorCode::DimMismatch, "gemm: negative dimension");
  const int64_t a_cols = p.trans_a ? p.m : p.k, b_cols = p.trans_b ? p.k : p.n;
  if (p.lda < a_cols || p.ldb < b_cols || p.ldc < p.n)
    throw_error(ErrorCode::DimMismatch, "gemm: leading dimension smaller than the row length");
  if ((p.m && p.n && p.k) && (!p.a || !p.b)) throw_error(ErrorCode::InvalidArgument, "gemm: null input");
  if (p.m && p.n && !p.c) throw_error(ErrorCode::InvalidArgument, "gemm: null output");
}

void gemm_at(SimdLevel level, const GemmParams& p) {
  gemm_check(p);
  if (p.m == 0 || p.n == 0) return;
  if (p.k == 0) {  // C = beta * C
    for (int64_t i = 0; i < p.m; ++i)
      for (int64_t j = 0; j < p.n; ++j) p.c[i * p.ldc + j] = p.beta == 0.f ? 0.f : p.beta * p.c[i * p.ldc + j];
    return;
  }
  const nn::cpu::GemmKernels& tb = nn::cpu::gemm_kernels_for(level);
  const int threads = resolve_threads(p.threads);
  const int64_t panels = ((p.n + 15) / 16 + tb.np - 1) / tb.np * tb.np;

  std::vector<float>& bpack = bpack_scratch();
  if (bpack.size() < static_cast<size_t>(panels * p.k * 16)) bpack.resize(static_cast<size_t>(panels * p.k * 16));
  const int64_t pst = p.k * 16;
  const int pack_threads = panels * p.k >= 4096 ? threads : 1;
  parallel_for(panels, pack_threads, [&](int64_t panel, int) { pack_b_panel(p, panel, bpack.data() + panel * pst); });

  // Row blocks of a few register tiles; panel ranges split further when there are too few blocks
  // to keep every thread busy.
  const int64_t mc = static_cast<int64_t>(tb.mr) * 6;
  const int64_t row_blocks = (p.m + mc - 1) / mc;
  const int64_t groups = panels / tb.np;
  int64_t col_splits = 1;
  if (threads > 1 && row_blocks < 2 * threads)
    col_splits = std::min<int64_t>(groups, (2 * threads + row_blocks - 1) / row_blocks);
  const int64_t groups_per = (groups + col_splits - 1) / col_splits;
  const int64_t kc = std::min<int64_t>(nn::cpu::kKc, p.k);
  const size_t apack_size = static_cast<size_t>(mc * kc);
  parallel_for(row_blocks * col_splits, threads, [&](int64_t task, int) {
    nn::cpu::Task t;
    t.a = p.a;
    t.lda = p.lda;
    t.trans_a = p.trans_a;
    t.bpack = bpack.data();
    t.m = p.m;
    t.n = p.n;
    t.k = p.k;
    t.c = p.c;
    t.ldc = p.ldc;
    t.alpha = p.alpha;
    t.beta = p.beta;
    const int64_t rb = task / col_splits, cs = task % col_splits;
    t.i0 = rb * mc;
    t.i1 = std::min(p.m, t.i0 + mc);
    t.p0 = cs * groups_per * tb.np;
    t.p1 = std::min(panels, t.p0 + groups_per * tb.np);
    if (t.p0 >= t.p1) return;
    std::vector<float>& ap = apack_scratch();
    if (ap.size() < apack_size) ap.resize(apack_size);
    t.apack = ap.data();
    tb.run(t);
  });
}

void gemm(const GemmParams& p) { gemm_at(active_simd_level(), p); }

}  // namespace simsage
