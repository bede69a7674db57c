// nn layers: every SIMD level against a double-precision reference at awkward sizes, results
// independent of the thread count, and numerical gradient checks (central differences of a
// double-precision reference forward on L = sum(w .* y)) for every backward and for a chain.
// Optimizers and bad arguments: test_optim.cpp.
#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <vector>

#include "core/error.h"
#include "fixtures.h"
#include "nn/nn.h"

using namespace simsage;
using namespace simsage_test;

namespace {

const int64_t kDims[] = {1, 3, 7, 15, 16, 17, 33, 129};
const int64_t kBatches[] = {1, 5, 64};

// ---- double-precision references --------------------------------------------------------------

DVec ref_linear(const DVec& x, const DVec& w, const DVec* b, int64_t B, int64_t I, int64_t O) {
  DVec y(B * O);
  for (int64_t r = 0; r < B; ++r)
    for (int64_t o = 0; o < O; ++o) {
      double s = b ? (*b)[o] : 0.0;
      for (int64_t i = 0; i < I; ++i) s += x[r * I + i] * w[o * I + i];
      y[r * O + o] = s;
    }
  return y;
}

DVec ref_relu(const DVec& x) {
  DVec y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] > 0 ? x[i] : 0.0;
  return y;
}

DVec ref_l2(const DVec& x, int64_t rows, int64_t dim, double eps) {
  DVec y(x.size());
  for (int64_t r = 0; r < rows; ++r) {
    double s = 0;
    for (int64_t i = 0; i < dim; ++i) s += x[r * dim + i] * x[r * dim + i];
    const double n = std::max(std::sqrt(s), eps);
    for (int64_t i = 0; i < dim; ++i) y[r * dim + i] = x[r * dim + i] / n;
  }
  return y;
}

DVec ref_ln(const DVec& x, const DVec* g, const DVec* b, int64_t rows, int64_t dim, double eps) {
  DVec y(x.size());
  for (int64_t r = 0; r < rows; ++r) {
    double mu = 0, var = 0;
    for (int64_t i = 0; i < dim; ++i) mu += x[r * dim + i];
    mu /= dim;
    for (int64_t i = 0; i < dim; ++i) var += (x[r * dim + i] - mu) * (x[r * dim + i] - mu);
    const double rs = 1.0 / std::sqrt(var / dim + eps);
    for (int64_t i = 0; i < dim; ++i)
      y[r * dim + i] = (x[r * dim + i] - mu) * rs * (g ? (*g)[i] : 1.0) + (b ? (*b)[i] : 0.0);
  }
  return y;
}

double weighted(const DVec& y, const DVec& w) {
  double s = 0;
  for (size_t i = 0; i < y.size(); ++i) s += y[i] * w[i];
  return s;
}

}  // namespace

// ---- SIMD levels against the reference ---------------------------------------------------------

TEST_CASE(levels_match_reference) {
  for (SimdLevel lvl : kLevels) {
    if (!simd_level_supported(lvl)) continue;
    for (int64_t B : kBatches)
      for (int64_t D : kDims) {
        const double tol = 2e-6 * (D + 8);
        Vec x = randv(B * D), dy = randv(B * D), y(B * D), dx(B * D), s1(B), s2(B);
        // ReLU (forward in place on a copy too).
        relu_forward_at(lvl, {B * D, x.data(), y.data(), 2});
        DVec ry = ref_relu(to_d(x));
        CHECK(worst_err(y, ry) == 0, "relu fwd %s D=%lld", simd_level_name(lvl), (long long)D);
        relu_backward_at(lvl, {B * D, y.data(), dy.data(), dx.data(), 2});
        bool ok = true;
        for (int64_t i = 0; i < B * D; ++i) ok &= dx[i] == (x[i] > 0 ? dy[i] : 0.f);
        CHECK(ok, "relu bwd %s D=%lld", simd_level_name(lvl), (long long)D);
        // L2.
        L2NormParams lp;
        lp.rows = B;
        lp.dim = D;
        lp.x = x.data();
        lp.y = y.data();
        lp.norms = s1.data();
        l2normalize_forward_at(lvl, lp);
        CHECK(worst_err(y, ref_l2(to_d(x), B, D, 1e-12)) < tol, "l2 fwd %s B=%lld D=%lld", simd_level_name(lvl),
              (long long)B, (long long)D);
        // LayerNorm with affine.
        Vec g = randv(D), b = randv(D);
        LayerNormParams np;
        np.rows = B;
        np.dim = D;
        np.x = x.data();
        np.gamma = g.data();
        np.beta = b.data();
        np.y = y.data();
        np.mean = s1.data();
        np.rstd = s2.data();
        layernorm_forward_at(lvl, np);
        DVec gd = to_d(g), bd = to_d(b);
        CHECK(worst_err(y, ref_ln(to_d(x), &gd, &bd, B, D, 1e-5)) < 50 * tol, "ln fwd %s B=%lld D=%lld",
              simd_level_name(lvl), (long long)B, (long long)D);
        // Backward passes against the scalar level (the gradient checks below pin the scalar level).
        if (lvl != SimdLevel::Scalar) {
          Vec dg(D), db(D), dx0(B * D), dg0(D), db0(D);
          LayerNormBackwardParams bp;
          bp.rows = B;
          bp.dim = D;
          bp.x = x.data();
          bp.gamma = g.data();
          bp.mean = s1.data();
          bp.rstd = s2.data();
          bp.dy = dy.data();
          bp.dx = dx.data();
          bp.dgamma = dg.data();
          bp.dbeta = db.data();
          layernorm_backward_at(lvl, bp);
          bp.dx = dx0.data();
          bp.dgamma = dg0.data();
          bp.dbeta = db0.data();
          layernorm_backward_at(SimdLevel::Scalar, bp);
          CHECK(worst_err(dx, to_d(dx0)) < 50 * tol && worst_err(dg, to_d(dg0)) < 10 * tol * B &&
                    worst_err(db, to_d(db0)) < tol * B,
                "ln bwd %s B=%lld D=%lld", simd_level_name(lvl), (long long)B, (long long)D);
          l2normalize_forward_at(lvl, lp);
          L2NormBackwardParams lb;
          lb.rows = B;
          lb.dim = D;
          lb.y = y.data();
          lb.norms = s1.data();
          lb.dy = dy.data();
          lb.dx = dx.data();
          l2normalize_backward_at(lvl, lb);
          lb.dx = dx0.data();
          l2normalize_backward_at(SimdLevel::Scalar, lb);
          CHECK(worst_err(dx, to_d(dx0)) < tol, "l2 bwd %s B=%lld D=%lld", simd_level_name(lvl), (long long)B,
                (long long)D);
        }
        // Linear: forward and all three gradients against the reference.
        const int64_t I = D, O = kDims[(D + B) % 8];
        Vec w = randv(O * I), bias = randv(O), yl(B * O), gy = randv(B * O), gx(B * I), gw(O * I), gb(O);
        linear_forward_at(lvl, {B, I, O, x.data(), w.data(), bias.data(), yl.data(), 2});
        DVec bb = to_d(bias);
        CHECK(worst_err(yl, ref_linear(to_d(x), to_d(w), &bb, B, I, O)) < tol, "linear fwd %s", simd_level_name(lvl));
        LinearBackwardParams q;
        q.batch = B;
        q.in_features = I;
        q.out_features = O;
        q.x = x.data();
        q.w = w.data();
        q.dy = gy.data();
        q.dx = gx.data();
        q.dw = gw.data();
        q.db = gb.data();
        linear_backward_at(lvl, q);
        DVec rgx(B * I, 0), rgw(O * I, 0), rgb(O, 0);
        for (int64_t r = 0; r < B; ++r)
          for (int64_t o = 0; o < O; ++o) {
            rgb[o] += gy[r * O + o];
            for (int64_t i = 0; i < I; ++i) {
              rgx[r * I + i] += double(gy[r * O + o]) * w[o * I + i];
              rgw[o * I + i] += double(gy[r * O + o]) * x[r * I + i];
            }
          }
        CHECK(worst_err(gx, rgx) < 2e-6 * (O + 8) && worst_err(gw, rgw) < 2e-6 * (B + 8) &&
                  worst_err(gb, rgb) < 2e-6 * (B + 8),
              "linear bwd %s B=%lld I=%lld O=%lld", simd_level_name(lvl), (long long)B, (long long)I, (long long)O);
        q.accumulate = true;  // a second pass doubles dW and db
        linear_backward_at(lvl, q);
        for (auto& v : rgw) v *= 2;
        for (auto& v : rgb) v *= 2;
        CHECK(worst_err(gw, rgw) < 4e-6 * (B + 8) && worst_err(gb, rgb) < 4e-6 * (B + 8), "linear accumulate %s",
              simd_level_name(lvl));
      }
  }
}

TEST_CASE(threaded_results_do_not_depend_on_thread_count) {
  const int64_t B = 1100, D = 129;  // 141900 floats: several row chunks
  Vec x = randv(B * D), dy = randv(B * D), g = randv(D), mean(B), rstd(B), y1(B * D), y2(B * D);
  LayerNormParams np;
  np.rows = B;
  np.dim = D;
  np.x = x.data();
  np.gamma = g.data();
  np.y = y1.data();
  np.mean = mean.data();
  np.rstd = rstd.data();
  np.threads = 1;
  layernorm_forward(np);
  np.y = y2.data();
  np.threads = 2;
  layernorm_forward(np);
  CHECK(y1 == y2, "ln fwd differs between 1 and 2 threads");
  Vec dx1(B * D), dx2(B * D), dg1(D), dg2(D), db1(D), db2(D);
  LayerNormBackwardParams bp;
  bp.rows = B;
  bp.dim = D;
  bp.x = x.data();
  bp.gamma = g.data();
  bp.mean = mean.data();
  bp.rstd = rstd.data();
  bp.dy = dy.data();
  bp.dx = dx1.data();
  bp.dgamma = dg1.data();
  bp.dbeta = db1.data();
  bp.threads = 1;
  layernorm_backward(bp);
  bp.dx = dx2.data();
  bp.dgamma = dg2.data();
  bp.dbeta = db2.data();
  bp.threads = 2;
  layernorm_backward(bp);
  CHECK(dx1 == dx2 && dg1 == dg2 && db1 == db2, "ln bwd differs between 1 and 2 threads");
  DVec rdb(D, 0);
  for (int64_t r = 0; r < B; ++r)
    for (int64_t i = 0; i < D; ++i) rdb[i] += dy[r * D + i];
  CHECK(worst_err(db1, rdb) < 1e-4, "ln dbeta over many chunks");
  // In-place ReLU and L2 over many chunks.
  Vec z = x;
  relu_forward({B * D, z.data(), z.data(), 2});
  CHECK(worst_err(z, ref_relu(to_d(x))) == 0, "relu in place, threaded");
  z = x;
  Vec norms(B);
  L2NormParams lp;
  lp.rows = B;
  lp.dim = D;
  lp.x = z.data();
  lp.y = z.data();
  lp.norms = norms.data();
  lp.threads = 2;
  l2normalize_forward(lp);
  CHECK(worst_err(z, ref_l2(to_d(x), B, D, 1e-12)) < 1e-5, "l2 in place, threaded");
}

// ---- numerical gradient checks ---------------------------------------------------------------

TEST_CASE(gradcheck_linear) {
  const int64_t B = 5, I = 7, O = 3;
  Vec x = randv(B * I), w = randv(O * I), b = randv(O), y(B * O), wy = randv(B * O);
  Vec dx(B * I), dw(O * I), db(O);
  LinearBackwardParams q;
  q.batch = B;
  q.in_features = I;
  q.out_features = O;
  q.x = x.data();
  q.w = w.data();
  q.dy = wy.data();
  q.dx = dx.data();
  q.dw = dw.data();
  q.db = db.data();
  linear_backward(q);
  DVec xd = to_d(x), wd = to_d(w), bd = to_d(b), wyd = to_d(wy);
  auto loss = [&] { return weighted(ref_linear(xd, wd, &bd, B, I, O), wyd); };
  check_grad("linear dx", dx, numgrad(xd, loss));
  check_grad("linear dw", dw, numgrad(wd, loss));
  check_grad("linear db", db, numgrad(bd, loss));
}

TEST_CASE(gradcheck_relu_l2_layernorm) {
  for (SimdLevel lvl : kLevels) {
    if (!simd_level_supported(lvl)) continue;
    const int64_t B = 3, D = 17;
    Vec x = randv(B * D), wy = randv(B * D), y(B * D), dx(B * D), s1(B), s2(B);
    x[4] = 0.f;  // a zero input: subgradient 0
    DVec xd = to_d(x), wyd = to_d(wy);
    relu_forward_at(lvl, {B * D, x.data(), y.data(), 0});
    relu_backward_at(lvl, {B * D, y.data(), wy.data(), dx.data(), 0});
    DVec nr = numgrad(
        xd, [&] { return weighted(ref_relu(xd), wyd); }, 1e-7);
    nr[4] = 0;  // the kink: the central difference is 0.5 w there
    check_grad("relu dx", dx, nr);

    for (float scale : {1.f, 1e-14f}) {  // normal rows, and rows under eps (clamped branch)
      Vec xs = x;
      for (auto& v : xs) v *= scale;
      L2NormParams lp;
      lp.rows = B;
      lp.dim = D;
      lp.eps = 1e-12f;
      lp.x = xs.data();
      lp.y = y.data();
      lp.norms = s1.data();
      l2normalize_forward_at(lvl, lp);
      L2NormBackwardParams lb;
      lb.rows = B;
      lb.dim = D;
      lb.eps = 1e-12f;
      lb.y = y.data();
      lb.norms = s1.data();
      lb.dy = wy.data();
      lb.dx = dx.data();
      l2normalize_backward_at(lvl, lb);
      DVec xsd = to_d(xs);
      DVec nl = numgrad(
          xsd, [&] { return weighted(ref_l2(xsd, B, D, 1e-12), wyd); }, 1e-6 * scale);
      Vec dxs = dx;
      if (scale != 1.f)  // compare relative to the gradient's scale (1 / eps)
        for (size_t i = 0; i < nl.size(); ++i) nl[i] *= 1e-12, dxs[i] *= 1e-12f;
      check_grad(scale == 1.f ? "l2 dx" : "l2 dx (clamped)", dxs, nl);
    }

    Vec g = randv(D), b = randv(D), dg(D), db(D);
    LayerNormParams np;
    np.rows = B;
    np.dim = D;
    np.x = x.data();
    np.gamma = g.data();
    np.beta = b.data();
    np.y = y.data();
    np.mean = s1.data();
    np.rstd = s2.data();
    layernorm_forward_at(lvl, np);
    LayerNormBackwardParams bp;
    bp.rows = B;
    bp.dim = D;
    bp.x = x.data();
    bp.gamma = g.data();
    bp.mean = s1.data();
    bp.rstd = s2.data();
    bp.dy = wy.data();
    bp.dx = dx.data();
    bp.dgamma = dg.data();
    bp.dbeta = db.data();
    layernorm_backward_at(lvl, bp);
    DVec gd = to_d(g), bd = to_d(b);
    auto loss = [&] { return weighted(ref_ln(xd, &gd, &bd, B, D, 1e-5), wyd); };
    check_grad("ln dx", dx, numgrad(xd, loss));
    check_grad("ln dgamma", dg, numgrad(gd, loss));
    check_grad("ln dbeta", db, numgrad(bd, loss));
    // Without affine parameters.
    np.gamma = nullptr;
    np.beta = nullptr;
    layernorm_forward_at(lvl, np);
    bp.gamma = nullptr;
    bp.dgamma = nullptr;
    bp.dbeta = nullptr;
    layernorm_backward_at(lvl, bp);
    check_grad("ln dx (no affine)", dx,
               numgrad(xd, [&] { return weighted(ref_ln(xd, nullptr, nullptr, B, D, 1e-5), wyd); }));
  }
}

// Linear(7 -> 9) -> ReLU -> Linear(9 -> 5) -> LayerNorm(5) -> L2Normalize, backward by hand.
TEST_CASE(gradcheck_chain) {
  const int64_t B = 4, I = 7, H = 9, O = 5;
  Vec x = randv(B * I), w1 = randv(H * I, 0.5f), b1 = randv(H), w2 = randv(O * H, 0.5f), b2 = randv(O);
  Vec g = randv(O), be = randv(O), wy = randv(B * O);
  Vec h1(B * H), a1(B * H), h2(B * O), h3(B * O), y(B * O), mean(B), rstd(B), norms(B);
  linear_forward({B, I, H, x.data(), w1.data(), b1.data(), h1.data(), 0});
  relu_forward({B * H, h1.data(), a1.data(), 0});
  linear_forward({B, H, O, a1.data(), w2.data(), b2.data(), h2.data(), 0});
  LayerNormParams np;
  np.rows = B;
  np.dim = O;
  np.x = h2.data();
  np.gamma = g.data();
  np.beta = be.data();
  np.y = h3.data();
  np.mean = mean.data();
  np.rstd = rstd.data();
  layernorm_forward(np);
  L2NormParams lp;
  lp.rows = B;
  lp.dim = O;
  lp.x = h3.data();
  lp.y = y.data();
  lp.norms = norms.data();
  l2normalize_forward(lp);
  // Backward (buffers reused in place where the API allows it).
  Vec d = wy, dgm(O), dbe(O), dw2(O * H), db2(O), da1(B * H), dw1(H * I), db1(H), dx(B * I);
  L2NormBackwardParams lb;
  lb.rows = B;
  lb.dim = O;
  lb.y = y.data();
  lb.norms = norms.data();
  lb.dy = d.data();
  lb.dx = d.data();
  l2normalize_backward(lb);
  LayerNormBackwardParams bp;
  bp.rows = B;
  bp.dim = O;
  bp.x = h2.data();
  bp.gamma = g.data();
  bp.mean = mean.data();
  bp.rstd = rstd.data();
  bp.dy = d.data();
  bp.dx = d.data();
  bp.dgamma = dgm.data();
  bp.dbeta = dbe.data();
  layernorm_backward(bp);
  LinearBackwardParams q2;
  q2.batch = B;
  q2.in_features = H;
  q2.out_features = O;
  q2.x = a1.data();
  q2.w = w2.data();
  q2.dy = d.data();
  q2.dx = da1.data();
  q2.dw = dw2.data();
  q2.db = db2.data();
  linear_backward(q2);
  relu_backward({B * H, a1.data(), da1.data(), da1.data(), 0});
  LinearBackwardParams q1;
  q1.batch = B;
  q1.in_features = I;
  q1.out_features = H;
  q1.x = x.data();
  q1.w = w1.data();
  q1.dy = da1.data();
  q1.dx = dx.data();
  q1.dw = dw1.data();
  q1.db = db1.data();
  linear_backward(q1);

  DVec xd = to_d(x), w1d = to_d(w1), b1d = to_d(b1), w2d = to_d(w2), b2d = to_d(b2), gd = to_d(g), bed = to_d(be);
  DVec wyd = to_d(wy);
  auto loss = [&] {
    DVec t = ref_l2(
        ref_ln(ref_linear(ref_relu(ref_linear(xd, w1d, &b1d, B, I, H)), w2d, &b2d, B, H, O), &gd, &bed, B, O, 1e-5), B,
        O, 1e-12);
    return weighted(t, wyd);
  };
  check_grad("chain dx", dx, numgrad(xd, loss));
  check_grad("chain dw1", dw1, numgrad(w1d, loss));
  check_grad("chain db1", db1, numgrad(b1d, loss));
  check_grad("chain dw2", dw2, numgrad(w2d, loss));
  check_grad("chain db2", db2, numgrad(b2d, loss));
  check_grad("chain dgamma", dgm, numgrad(gd, loss));
  check_grad("chain dbeta", dbe, numgrad(bed, loss));
}

TEST_MAIN()
