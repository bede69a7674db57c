// libFuzzer target: the nn family with random shapes, leading dimensions, transposes, null
// pointers, hyperparameters (negative, NaN, Inf) and SIMD levels: gemm, linear forward/backward,
// ReLU, L2 normalisation and layer norm forward/backward, SGD and Adam steps. Buffers are sized
// from the shapes the call declares (as the addon sizes them), so a shape check that lets a bad
// shape through shows up as an ASan report. Outcome: a coded simsage::Error or a clean return;
// gemm with tame inputs is also compared with gemm_reference.
#include <cmath>
#include <cstdint>
#include <vector>

#include "fuzz_common.h"
#include "nn/nn.h"

using namespace simsage;
using namespace simsage_fuzz;

namespace {
constexpr const char* kTarget = "fuzz_nn";

int64_t dim_of(FuzzedDataProvider& in, int64_t lo, int64_t hi) { return in.ConsumeIntegralInRange<int64_t>(lo, hi); }
size_t sz(int64_t a, int64_t b) { return static_cast<size_t>((a > 0 ? a : 0) * (b > 0 ? b : 0)); }
float hyper(FuzzedDataProvider& in, float usual) {
  return in.PickValueInArray<float>({usual, usual, 0.f, -1.f, 1e-12f, 1.f, 1e30f, std::nanf(""), INFINITY});
}

void fuzz_gemm(FuzzedDataProvider& in, SimdLevel level, Values mode) {
  GemmParams p;
  p.trans_a = in.ConsumeBool();
  p.trans_b = in.ConsumeBool();
  p.m = dim_of(in, -1, 40);
  p.n = dim_of(in, -1, 40);
  p.k = dim_of(in, -1, 40);
  const int64_t ar = p.trans_a ? p.k : p.m, ac = p.trans_a ? p.m : p.k;
  const int64_t br = p.trans_b ? p.n : p.k, bc = p.trans_b ? p.k : p.n;
  p.lda = ac + dim_of(in, -1, 3);
  p.ldb = bc + dim_of(in, -1, 3);
  p.ldc = p.n + dim_of(in, -1, 3);
  p.alpha = in.PickValueInArray<float>({1.f, 0.f, -2.f, 0.5f});
  p.beta = in.PickValueInArray<float>({0.f, 1.f, 0.5f});
  p.threads = in.ConsumeIntegralInRange<int>(0, 3);
  // Exactly the memory the declared shapes need (rows x ld), never more.
  std::vector<float> a = matrix(in, static_cast<int64_t>(sz(ar, p.lda)), mode);
  std::vector<float> b = matrix(in, static_cast<int64_t>(sz(br, p.ldb)), mode);
  std::vector<float> c = matrix(in, static_cast<int64_t>(sz(p.m, p.ldc)), Values::Tame);
  std::vector<float> c_ref = c, c_saved = c;
  p.a = a.empty() ? nullptr : a.data();
  p.b = b.empty() ? nullptr : b.data();
  p.c = c.empty() ? nullptr : c.data();
  if (!accepted([&] { gemm_at(level, p); })) return;
  if (mode != Values::Tame) return;
  GemmParams r = p;
  r.c = c_ref.empty() ? nullptr : c_ref.data();
  gemm_reference(r);
  auto at = [](const std::vector<float>& v, int64_t ld, bool t, int64_t r, int64_t c) {
    return double(t ? v[c * ld + r] : v[r * ld + c]);
  };
  for (int64_t i = 0; i < p.m; ++i)
    for (int64_t j = 0; j < p.n; ++j) {
      // Error bound: float rounding of sum |alpha a b| + |beta c|, scaled by the depth.
      double scale = std::fabs(double(p.beta) * c_saved[i * p.ldc + j]);
      for (int64_t l = 0; l < p.k; ++l)
        scale += std::fabs(double(p.alpha) * at(a, p.lda, p.trans_a, i, l) * at(b, p.ldb, p.trans_b, l, j));
      const double want = c_ref[i * p.ldc + j], got = c[i * p.ldc + j];
      FUZZ_CHECK(std::fabs(got - want) <= 2e-7 * double(p.k + 4) * scale + 1e-30, kTarget);
    }
}

void fuzz_linear(FuzzedDataProvider& in, SimdLevel level, Values mode) {
  const int64_t batch = dim_of(in, -1, 20), i = dim_of(in, -1, 20), o = dim_of(in, -1, 20);
  std::vector<float> x = matrix(in, static_cast<int64_t>(sz(batch, i)), mode);
  std::vector<float> w = matrix(in, static_cast<int64_t>(sz(o, i)), mode);
  std::vector<float> bias = matrix(in, o > 0 ? o : 0, mode);
  std::vector<float> y(sz(batch, o)), dy = matrix(in, static_cast<int64_t>(sz(batch, o)), mode);
  std::vector<float> dx(sz(batch, i)), dw(sz(o, i)), db(o > 0 ? o : 0);
  const bool with_bias = in.ConsumeBool();
  LinearParams p;
  p.batch = batch;
  p.in_features = i;
  p.out_features = o;
  p.x = x.data();
  p.w = w.data();
  p.b = with_bias ? bias.data() : nullptr;
  p.y = y.data();
  p.threads = in.ConsumeIntegralInRange<int>(0, 3);
  accepted([&] { linear_forward_at(level, p); });
  LinearBackwardParams bp;
  bp.batch = batch;
  bp.in_features = i;
  bp.out_features = o;
  bp.x = x.data();
  bp.w = w.data();
  bp.dy = dy.data();
  bp.dx = in.ConsumeBool() ? dx.data() : nullptr;
  bp.dw = in.ConsumeBool() ? dw.data() : nullptr;
  bp.db = in.ConsumeBool() ? db.data() : nullptr;
  bp.accumulate = in.ConsumeBool();
  bp.threads = p.threads;
  accepted([&] { linear_backward_at(level, bp); });
}

void fuzz_rows(FuzzedDataProvider& in, SimdLevel level, Values mode) {
  const int64_t rows = dim_of(in, -1, 20), dim = dim_of(in, -1, 40);
  const int threads = in.ConsumeIntegralInRange<int>(0, 3);
  std::vector<float> x = matrix(in, static_cast<int64_t>(sz(rows, dim)), mode);
  std::vector<float> y(x.size()), dy = matrix(in, static_cast<int64_t>(x.size()), mode), dx(x.size());
  std::vector<float> norms(rows > 0 ? rows : 0), mean(norms.size()), rstd(norms.size());
  std::vector<float> gamma = matrix(in, dim > 0 ? dim : 0, mode), beta = matrix(in, dim > 0 ? dim : 0, mode);
  std::vector<float> dgamma(gamma.size()), dbeta(gamma.size());
  const bool alias = in.ConsumeBool();
  switch (in.ConsumeIntegralInRange<int>(0, 2)) {
    case 0: {
      ReluParams p;
      p.n = static_cast<int64_t>(x.size()) - in.ConsumeIntegralInRange<int64_t>(0, 1);
      p.x = x.data();
      p.y = alias ? x.data() : y.data();
      p.threads = threads;
      accepted([&] { relu_forward_at(level, p); });
      ReluBackwardParams bp;
      bp.n = p.n;
      bp.y = p.y;
      bp.dy = dy.data();
      bp.dx = alias ? dy.data() : dx.data();
      bp.threads = threads;
      accepted([&] { relu_backward_at(level, bp); });
      break;
    }
    case 1: {
      L2NormParams p;
      p.rows = rows;
      p.dim = dim;
      p.eps = hyper(in, 1e-12f);
      p.x = x.data();
      p.y = alias ? x.data() : y.data();
      p.norms = norms.data();
      p.threads = threads;
      if (!accepted([&] { l2normalize_forward_at(level, p); })) break;
      L2NormBackwardParams bp;
      bp.rows = rows;
      bp.dim = dim;
      bp.eps = p.eps;
      bp.y = p.y;
      bp.norms = norms.data();
      bp.dy = dy.data();
      bp.dx = alias ? dy.data() : dx.data();
      bp.threads = threads;
      accepted([&] { l2normalize_backward_at(level, bp); });
      break;
    }
    default: {
      LayerNormParams p;
      p.rows = rows;
      p.dim = dim;
      p.eps = hyper(in, 1e-5f);
      p.x = x.data();
      p.gamma = in.ConsumeBool() ? gamma.data() : nullptr;
      p.beta = in.ConsumeBool() ? beta.data() : nullptr;
      std::vector<float> x_saved = x;
      p.y = alias ? x.data() : y.data();
      p.mean = mean.data();
      p.rstd = rstd.data();
      p.threads = threads;
      if (!accepted([&] { layernorm_forward_at(level, p); })) break;
      LayerNormBackwardParams bp;
      bp.rows = rows;
      bp.dim = dim;
      bp.x = x_saved.data();
      bp.gamma = p.gamma;
      bp.mean = mean.data();
      bp.rstd = rstd.data();
      bp.dy = dy.data();
      bp.dx = alias ? dy.data() : dx.data();
      bp.dgamma = in.ConsumeBool() ? dgamma.data() : nullptr;
      bp.dbeta = in.ConsumeBool() ? dbeta.data() : nullptr;
      bp.accumulate = in.ConsumeBool();
      bp.threads = threads;
      accepted([&] { layernorm_backward_at(level, bp); });
      break;
    }
  }
}

void fuzz_optim(FuzzedDataProvider& in, Values mode) {
  const int64_t n = dim_of(in, -1, 100);
  std::vector<float> param = matrix(in, n, mode), grad = matrix(in, n, mode);
  std::vector<float> s1(param.size()), s2(param.size());
  const int threads = in.ConsumeIntegralInRange<int>(0, 3);
  if (in.ConsumeBool()) {
    SgdParams p;
    p.n = n;
    p.param = param.data();
    p.grad = grad.data();
    p.velocity = in.ConsumeBool() ? s1.data() : nullptr;
    p.lr = hyper(in, 0.01f);
    p.momentum = hyper(in, 0.9f);
    p.weight_decay = hyper(in, 0.f);
    p.nesterov = in.ConsumeBool();
    p.threads = threads;
    accepted([&] { sgd_step(p); });
  } else {
    AdamParams p;
    p.n = n;
    p.param = param.data();
    p.grad = grad.data();
    p.m = s1.data();
    p.v = in.ConsumeBool() ? s2.data() : nullptr;
    p.lr = hyper(in, 1e-3f);
    p.beta1 = hyper(in, 0.9f);
    p.beta2 = hyper(in, 0.999f);
    p.eps = hyper(in, 1e-8f);
    p.weight_decay = hyper(in, 0.f);
    p.decoupled = in.ConsumeBool();
    p.step = in.PickValueInArray<int64_t>({1, 2, 0, -1, 1000000, INT64_MAX});
    p.threads = threads;
    accepted([&] { adam_step(p); });
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const SimdLevel level = pick_level(in);
  const Values mode = pick_values(in);
  switch (in.ConsumeIntegralInRange<int>(0, 3)) {
    case 0:
      fuzz_gemm(in, level, mode);
      break;
    case 1:
      fuzz_linear(in, level, mode);
      break;
    case 2:
      fuzz_rows(in, level, mode);
      break;
    default:
      fuzz_optim(in, mode);
      break;
  }
  return 0;
}
