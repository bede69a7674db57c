// nn optimizers: fused SGD / Adam / AdamW updates against PyTorch-semantics reference updates
// (double precision) over several steps, at sizes that run one chunk and several over the pool, plus
// hand-computed steps; and bad arguments of every nn entry point -> exceptions with codes.
#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "core/error.h"
#include "fixtures.h"
#include "nn/nn.h"

using namespace simsage;
using namespace simsage_test;

namespace {}  // namespace

// ---- optimizers ------------------------------------------------------------------------------

TEST_CASE(sgd_matches_pytorch_semantics) {
  struct Cfg {
    float mu, wd;
    bool nesterov;
    int threads;
    int64_t n;
  };
  for (Cfg c : {Cfg{0.f, 0.f, false, 1, 37}, Cfg{0.9f, 0.f, false, 1, 37}, Cfg{0.9f, 0.01f, false, 2, 200003},
                Cfg{0.5f, 0.1f, true, 2, 200003}, Cfg{0.f, 0.1f, false, 0, 5}}) {
    const int64_t n = c.n;
    Vec p = randv(n), v(n, 0.f);
    DVec rp = to_d(p), rv(n, 0.0);
    for (int step = 0; step < 5; ++step) {
      Vec g = randv(n);
      SgdParams s;
      s.n = n;
      s.param = p.data();
      s.grad = g.data();
      s.velocity = c.mu > 0 ? v.data() : nullptr;
      s.lr = 0.1f;
      s.momentum = c.mu;
      s.weight_decay = c.wd;
      s.nesterov = c.nesterov;
      s.threads = c.threads;
      sgd_step(s);
      for (int64_t i = 0; i < n; ++i) {  // torch.optim.SGD, dampening 0
        double gi = g[i] + double(c.wd) * rp[i];
        if (c.mu > 0) {
          rv[i] = step == 0 ? gi : c.mu * rv[i] + gi;
          gi = c.nesterov ? gi + c.mu * rv[i] : rv[i];
        }
        rp[i] -= 0.1 * gi;
      }
    }
    CHECK(worst_err(p, rp) < 1e-5, "sgd mu=%g wd=%g nesterov=%d n=%lld", c.mu, c.wd, c.nesterov, (long long)n);
  }
  // By hand: p = 1, g = 0.5, lr 0.1, momentum 0.9: v = 0.5, p = 0.95; then v = 0.95, p = 0.855.
  float p = 1.f, g = 0.5f, v = 0.f;
  SgdParams s;
  s.n = 1;
  s.param = &p;
  s.grad = &g;
  s.velocity = &v;
  s.lr = 0.1f;
  s.momentum = 0.9f;
  sgd_step(s);
  CHECK(std::fabs(p - 0.95f) < 1e-7f, "sgd by hand step 1: %g", p);
  sgd_step(s);
  CHECK(std::fabs(p - 0.855f) < 1e-7f && std::fabs(v - 0.95f) < 1e-7f, "sgd by hand step 2: %g %g", p, v);
}

TEST_CASE(adam_matches_pytorch_semantics) {
  struct Cfg {
    float wd;
    bool decoupled;
    int threads;
    int64_t n;
  };
  for (Cfg c :
       {Cfg{0.f, false, 1, 33}, Cfg{0.01f, false, 2, 200003}, Cfg{0.01f, true, 2, 200003}, Cfg{0.1f, true, 1, 7}}) {
    const int64_t n = c.n;
    const double lr = 0.01, b1 = 0.9, b2 = 0.99, eps = 1e-8;
    Vec p = randv(n), m(n, 0.f), v(n, 0.f);
    DVec rp = to_d(p), rm(n, 0.0), rv(n, 0.0);
    for (int t = 1; t <= 6; ++t) {
      Vec g = randv(n);
      AdamParams a;
      a.n = n;
      a.param = p.data();
      a.grad = g.data();
      a.m = m.data();
      a.v = v.data();
      a.lr = float(lr);
      a.beta1 = float(b1);
      a.beta2 = float(b2);
      a.eps = float(eps);
      a.weight_decay = c.wd;
      a.decoupled = c.decoupled;
      a.step = t;
      a.threads = c.threads;
      adam_step(a);
      for (int64_t i = 0; i < n; ++i) {  // torch.optim.Adam / AdamW
        double gi = g[i];
        if (c.decoupled)
          rp[i] *= 1 - lr * c.wd;
        else
          gi += c.wd * rp[i];
        rm[i] = b1 * rm[i] + (1 - b1) * gi;
        rv[i] = b2 * rv[i] + (1 - b2) * gi * gi;
        const double bc1 = 1 - std::pow(b1, t), bc2 = 1 - std::pow(b2, t);
        rp[i] -= (lr / bc1) * rm[i] / (std::sqrt(rv[i]) / std::sqrt(bc2) + eps);
      }
    }
    CHECK(worst_err(p, rp) < 2e-6, "adam wd=%g decoupled=%d n=%lld: %g", c.wd, c.decoupled, (long long)n,
          worst_err(p, rp));
  }
  // By hand: the first Adam step moves each weight by lr * g / (|g| + eps) = lr * sign(g).
  float p[2] = {1.f, 1.f}, g[2] = {0.3f, -2.f}, m[2] = {0, 0}, v[2] = {0, 0};
  AdamParams a;
  a.n = 2;
  a.param = p;
  a.grad = g;
  a.m = m;
  a.v = v;
  a.lr = 0.1f;
  adam_step(a);
  CHECK(std::fabs(p[0] - 0.9f) < 1e-6f && std::fabs(p[1] - 1.1f) < 1e-6f, "adam by hand: %g %g", p[0], p[1]);
}

// ---- bad arguments ---------------------------------------------------------------------------

TEST_CASE(bad_arguments_throw_with_codes) {
  float buf[16] = {0};
  EXPECT_THROW_CODE(linear_forward({2, 0, 3, buf, buf, nullptr, buf, 0}), ErrorCode::DimMismatch);
  EXPECT_THROW_CODE(linear_forward({-1, 2, 3, buf, buf, nullptr, buf, 0}), ErrorCode::DimMismatch);
  EXPECT_THROW_CODE(linear_forward({2, 2, 3, nullptr, buf, nullptr, buf, 0}), ErrorCode::InvalidArgument);
  EXPECT_THROW_CODE(linear_forward({2, 2, 3, buf, nullptr, nullptr, buf, 0}), ErrorCode::InvalidArgument);
  LinearBackwardParams q;
  q.batch = 2;
  q.in_features = 2;
  q.out_features = 2;
  q.dw = buf;
  EXPECT_THROW_CODE(linear_backward(q), ErrorCode::InvalidArgument);  // no dy
  EXPECT_THROW_CODE(relu_forward({-3, buf, buf, 0}), ErrorCode::DimMismatch);
  EXPECT_THROW_CODE(relu_backward({3, buf, nullptr, buf, 0}), ErrorCode::InvalidArgument);
  L2NormParams lp;
  lp.rows = 2;
  lp.dim = 0;
  lp.x = buf;
  lp.y = buf;
  lp.norms = buf;
  EXPECT_THROW_CODE(l2normalize_forward(lp), ErrorCode::DimMismatch);
  lp.dim = 2;
  lp.eps = 0.f;
  EXPECT_THROW_CODE(l2normalize_forward(lp), ErrorCode::InvalidArgument);
  lp.eps = NAN;
  EXPECT_THROW_CODE(l2normalize_forward(lp), ErrorCode::NonFinite);
  LayerNormParams np;
  np.rows = 2;
  np.dim = 2;
  np.x = buf;
  np.y = buf;
  np.mean = buf;
  EXPECT_THROW_CODE(layernorm_forward(np), ErrorCode::InvalidArgument);  // no rstd
  LayerNormBackwardParams bp;
  bp.rows = 1;
  bp.dim = -1;
  EXPECT_THROW_CODE(layernorm_backward(bp), ErrorCode::DimMismatch);
  SgdParams s;
  s.n = 4;
  s.param = buf;
  s.grad = buf;
  s.momentum = 0.9f;
  EXPECT_THROW_CODE(sgd_step(s), ErrorCode::InvalidArgument);  // no velocity
  s.momentum = 0.f;
  s.nesterov = true;
  EXPECT_THROW_CODE(sgd_step(s), ErrorCode::InvalidArgument);
  s.nesterov = false;
  s.lr = NAN;
  EXPECT_THROW_CODE(sgd_step(s), ErrorCode::NonFinite);
  s.lr = -1.f;
  EXPECT_THROW_CODE(sgd_step(s), ErrorCode::InvalidArgument);
  AdamParams a;
  a.n = 4;
  a.param = buf;
  a.grad = buf;
  a.m = buf;
  a.v = buf;
  a.step = 0;
  EXPECT_THROW_CODE(adam_step(a), ErrorCode::InvalidArgument);
  a.step = 1;
  a.beta1 = 1.f;
  EXPECT_THROW_CODE(adam_step(a), ErrorCode::InvalidArgument);
  a.beta1 = 0.9f;
  a.eps = INFINITY;
  EXPECT_THROW_CODE(adam_step(a), ErrorCode::NonFinite);
  a.eps = 1e-8f;
  a.v = nullptr;
  EXPECT_THROW_CODE(adam_step(a), ErrorCode::InvalidArgument);
  // Empty batches are fine and zero the gradients they overwrite.
  float dw[4] = {1, 1, 1, 1}, db[2] = {1, 1};
  LinearBackwardParams e;
  e.batch = 0;
  e.in_features = 2;
  e.out_features = 2;
  e.dw = dw;
  e.db = db;
  linear_backward(e);
  CHECK(dw[0] == 0 && dw[3] == 0 && db[0] == 0 && db[1] == 0, "empty batch zeroes dW and db");
}

TEST_MAIN()
