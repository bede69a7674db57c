// Temporal family, conv / block: every SIMD level against the double reference at awkward sizes
// (C 1, 3, 17, 33; T 1, 2, 7; d > T; K 1..5), results independent of the thread count,
// central-difference gradient checks (conv in double; the block through its float forward with a
// fixed dropout mask), bad arguments (conv, block, streamer). (The streamer:
// test_temporal_stream.cpp; the shared block and TCN fixtures: tcn_fixtures.h.)
#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"
#include "fixtures.h"
#include "tcn_fixtures.h"
#include "temporal/temporal.h"

using namespace simsage;
using namespace simsage_test;

namespace {

// The causal conv in double, for gradient checks.
DVec conv_d(const DVec& x, const DVec& w, const DVec& b, int64_t B, int64_t T, int64_t I, int64_t O, int64_t K,
            int64_t d) {
  DVec y(B * T * O);
  for (int64_t n = 0; n < B; ++n)
    for (int64_t t = 0; t < T; ++t)
      for (int64_t o = 0; o < O; ++o) {
        double s = b[o];
        for (int64_t k = 0; k < K; ++k) {
          const int64_t src = t - (K - 1 - k) * d;
          if (src < 0) continue;
          for (int64_t c = 0; c < I; ++c) s += w[(o * I + c) * K + k] * x[(n * T + src) * I + c];
        }
        y[(n * T + t) * O + o] = s;
      }
  return y;
}

}  // namespace

TEST_CASE(conv_forward_every_level_vs_reference) {
  const int64_t chans[][2] = {{1, 1}, {3, 17}, {17, 3}, {33, 33}};
  const int64_t steps[] = {1, 2, 7, 40};
  const int64_t dils[] = {1, 2, 9};
  int variant = 0;
  for (SimdLevel level : kLevels)
    for (auto& ch : chans)
      for (int64_t T : steps)
        for (int64_t K = 1; K <= 5; ++K)
          for (int64_t d : dils) {
            const int64_t B = 1 + (variant % 3), I = ch[0], O = ch[1];
            ++variant;
            Vec x = randv(B * T * I), w = randv(O * I * K), b = randv(O);
            Vec y(B * T * O, 9.f), yr(B * T * O, 7.f);
            Conv1dParams p;
            p.batch = B;
            p.steps = T;
            p.in_channels = I;
            p.out_channels = O;
            p.kernel_size = K;
            p.dilation = d;
            p.x = x.data();
            p.w = w.data();
            p.b = variant % 2 ? b.data() : nullptr;
            p.relu = variant % 4 == 1;
            p.y = y.data();
            conv1d_forward_at(level, p);
            p.y = yr.data();
            conv1d_reference(p);
            const double e = rel_err(y, yr);
            CHECK(e < 2e-6 * std::sqrt(static_cast<double>(I * K)) + 1e-6,
                  "level %d I %lld O %lld T %lld K %lld d %lld: err %g", static_cast<int>(level), (long long)I,
                  (long long)O, (long long)T, (long long)K, (long long)d, e);
          }
}

TEST_CASE(conv_backward_every_level_vs_reference) {
  const int64_t chans[][2] = {{1, 1}, {3, 17}, {17, 3}, {33, 33}};
  const int64_t steps[] = {1, 2, 7, 40};
  int variant = 0;
  for (SimdLevel level : kLevels)
    for (auto& ch : chans)
      for (int64_t T : steps)
        for (int64_t K = 1; K <= 5; K += 2)
          for (int64_t d : {1, 3, 11}) {
            const int64_t B = 1 + (variant % 3), I = ch[0], O = ch[1];
            const bool acc = variant % 2 == 1;
            ++variant;
            Vec x = randv(B * T * I), w = randv(O * I * K), dy = randv(B * T * O);
            Vec dx0 = randv(B * T * I), dw0 = randv(O * I * K), db0 = randv(O);
            Vec dx = dx0, dw = dw0, db = db0, dxr = dx0, dwr = dw0, dbr = db0;
            Conv1dBackwardParams p;
            p.batch = B;
            p.steps = T;
            p.in_channels = I;
            p.out_channels = O;
            p.kernel_size = K;
            p.dilation = d;
            p.x = x.data();
            p.w = w.data();
            p.dy = dy.data();
            p.accumulate = acc;
            p.accumulate_dx = !acc;
            p.dx = dx.data();
            p.dw = dw.data();
            p.db = db.data();
            conv1d_backward_at(level, p);
            p.dx = dxr.data();
            p.dw = dwr.data();
            p.db = dbr.data();
            conv1d_backward_reference(p);
            const double tol = 2e-6 * std::sqrt(static_cast<double>(B * T * K * std::max(I, O))) + 1e-6;
            CHECK(rel_err(dx, dxr) < tol, "dx level %d I %lld O %lld T %lld K %lld d %lld: %g", static_cast<int>(level),
                  (long long)I, (long long)O, (long long)T, (long long)K, (long long)d, rel_err(dx, dxr));
            CHECK(rel_err(dw, dwr) < tol, "dw level %d I %lld O %lld T %lld K %lld: %g", static_cast<int>(level),
                  (long long)I, (long long)O, (long long)T, (long long)K, rel_err(dw, dwr));
            CHECK(rel_err(db, dbr) < tol, "db level %d: %g", static_cast<int>(level), rel_err(db, dbr));
          }
}

TEST_CASE(conv_results_independent_of_thread_count) {
  const int64_t B = 3, T = 500, I = 40, O = 70, K = 3, d = 4;  // 1500 rows: two dW chunks
  Vec x = randv(B * T * I), w = randv(O * I * K), b = randv(O), dy = randv(B * T * O);
  Vec y1(B * T * O), dx1(B * T * I), dw1(O * I * K), db1(O);
  for (int threads : {1, 2, 3, 5}) {
    Vec y(B * T * O), dx(B * T * I), dw(O * I * K), db(O);
    Conv1dParams p;
    p.batch = B;
    p.steps = T;
    p.in_channels = I;
    p.out_channels = O;
    p.kernel_size = K;
    p.dilation = d;
    p.x = x.data();
    p.w = w.data();
    p.b = b.data();
    p.y = y.data();
    p.threads = threads;
    conv1d_forward(p);
    Conv1dBackwardParams q;
    q.batch = B;
    q.steps = T;
    q.in_channels = I;
    q.out_channels = O;
    q.kernel_size = K;
    q.dilation = d;
    q.x = x.data();
    q.w = w.data();
    q.dy = dy.data();
    q.dx = dx.data();
    q.dw = dw.data();
    q.db = db.data();
    q.threads = threads;
    conv1d_backward(q);
    if (threads == 1) {
      y1 = y;
      dx1 = dx;
      dw1 = dw;
      db1 = db;
    } else {
      CHECK(y == y1 && dx == dx1 && dw == dw1 && db == db1, "threads %d differ from 1 thread", threads);
    }
  }
}

TEST_CASE(conv_gradient_central_differences) {
  const int64_t B = 2, T = 9, I = 3, O = 4, K = 3, d = 2;
  Vec x = randv(B * T * I), w = randv(O * I * K), b = randv(O), g = randv(B * T * O);
  DVec xd(x.begin(), x.end()), wd(w.begin(), w.end()), bd(b.begin(), b.end());
  auto loss = [&]() {
    DVec y = conv_d(xd, wd, bd, B, T, I, O, K, d);
    double s = 0;
    for (size_t i = 0; i < y.size(); ++i) s += g[i] * y[i];
    return s;
  };
  Vec dx(x.size()), dw(w.size()), db(b.size());
  for (SimdLevel level : kLevels) {
    Conv1dBackwardParams p;
    p.batch = B;
    p.steps = T;
    p.in_channels = I;
    p.out_channels = O;
    p.kernel_size = K;
    p.dilation = d;
    p.x = x.data();
    p.w = w.data();
    p.dy = g.data();
    p.dx = dx.data();
    p.dw = dw.data();
    p.db = db.data();
    conv1d_backward_at(level, p);
    auto check = [&](const char* what, DVec& param, const Vec& grad) {
      double worst = 0;
      for (size_t i = 0; i < param.size(); ++i) {
        const double keep = param[i], h = 1e-3;
        param[i] = keep + h;
        const double lp = loss();
        param[i] = keep - h;
        const double lm = loss();
        param[i] = keep;
        worst = std::max(worst, std::fabs((lp - lm) / (2 * h) - grad[i]));
      }
      CHECK(worst < 1e-4, "%s level %d: worst %g", what, static_cast<int>(level), worst);
    };
    check("dx", xd, dx);
    check("dw", wd, dw);
    check("db", bd, db);
  }
}

TEST_CASE(block_forward_matches_composition) {
  for (SimdLevel level : kLevels)
    for (int64_t I : {5, 8}) {
      BlockFixture f(2, 13, I, 8, 3, 2);
      const int64_t n = f.B * f.T * f.O;
      Vec a1(n), a2(n), y(n);
      temporal_block_forward_at(level, f.params(a1.data(), a2.data(), y.data(), 0.f, false));
      // The composition through the reference conv.
      Vec r1(n), r2(n), rd(n);
      Conv1dParams c;
      c.batch = f.B;
      c.steps = f.T;
      c.in_channels = I;
      c.out_channels = f.O;
      c.kernel_size = f.K;
      c.dilation = f.d;
      c.x = f.x.data();
      c.w = f.w1.data();
      c.b = f.b1.data();
      c.y = r1.data();
      c.relu = true;
      conv1d_reference(c);
      c.in_channels = f.O;
      c.x = r1.data();
      c.w = f.w2.data();
      c.b = f.b2.data();
      c.y = r2.data();
      conv1d_reference(c);
      // The residual: identity when I == O (x has n values then), else the 1x1 projection.
      if (I == f.O) {
        for (int64_t i = 0; i < n; ++i) rd[i] = f.x[i];
      } else {
        c.in_channels = I;
        c.kernel_size = 1;
        c.x = f.x.data();
        c.w = f.wd.data();
        c.b = f.bd.data();
        c.y = rd.data();
        c.relu = false;
        conv1d_reference(c);
      }
      Vec ry(n);
      for (int64_t i = 0; i < n; ++i) ry[i] = std::max(0.f, r2[i] + rd[i]);
      CHECK(rel_err(y, ry) < 1e-5, "block level %d I %lld: %g", static_cast<int>(level), (long long)I, rel_err(y, ry));
      CHECK(rel_err(a1, r1) < 1e-5, "a1");
    }
  // Dropout: about p of a1 dropped; kept ones scaled by 1 / (1 - p); same mask for the same seed.
  BlockFixture f(4, 50, 8, 8, 2, 1);
  const int64_t n = f.B * f.T * f.O;
  Vec a1(n), a2(n), y(n), e1(n), e2(n), ey(n), b1(n);
  temporal_block_forward(f.params(e1.data(), e2.data(), ey.data(), 0.f, false));
  temporal_block_forward(f.params(a1.data(), a2.data(), y.data(), 0.25f, true));
  temporal_block_forward(f.params(b1.data(), e2.data(), ey.data(), 0.25f, true));
  int64_t dropped = 0, positive = 0;
  bool scaled = true;
  for (int64_t i = 0; i < n; ++i) {
    if (e1[i] > 0) {
      ++positive;
      if (a1[i] == 0)
        ++dropped;
      else
        scaled = scaled && std::fabs(a1[i] - e1[i] / 0.75f) <= 1e-5f * std::max(1.f, e1[i]);
    }
  }
  const double frac = static_cast<double>(dropped) / std::max<int64_t>(1, positive);
  CHECK(frac > 0.18 && frac < 0.32, "dropped fraction %g", frac);
  CHECK(scaled, "kept elements scaled by 1 / (1 - p)");
  CHECK(a1 == b1, "same seed, same mask");
}

namespace {

// The block in double with explicit dropout masks (1 / (1 - p) or 0 per element; empty = no dropout).
DVec block_d(const BlockFixture& f, const DVec& x, const DVec& w1, const DVec& b1, const DVec& w2, const DVec& b2,
             const DVec& wd, const DVec& bd, const DVec& m1, const DVec& m2) {
  DVec a1 = conv_d(x, w1, b1, f.B, f.T, f.I, f.O, f.K, f.d);
  for (size_t i = 0; i < a1.size(); ++i) a1[i] = std::max(0.0, a1[i]) * (m1.empty() ? 1.0 : m1[i]);
  DVec a2 = conv_d(a1, w2, b2, f.B, f.T, f.O, f.O, f.K, f.d);
  for (size_t i = 0; i < a2.size(); ++i) a2[i] = std::max(0.0, a2[i]) * (m2.empty() ? 1.0 : m2[i]);
  DVec res = f.I != f.O ? conv_d(x, wd, bd, f.B, f.T, f.I, f.O, 1, 1) : x;
  for (size_t i = 0; i < a2.size(); ++i) a2[i] = std::max(0.0, a2[i] + res[i]);
  return a2;
}

}  // namespace

TEST_CASE(block_gradient_central_differences) {
  for (int64_t I : {3, 4}) {
    for (bool training : {false, true}) {
      BlockFixture f(2, 7, I, 4, 3, 2);
      const int64_t n = f.B * f.T * f.O;
      const float p_drop = training ? 0.3f : 0.f;
      // The masks of this seed and shape, read from a block whose pre-activations are all positive
      // (x = 0, biases 1, w2 = 0): a1 and a2 are then the masks times 1.
      DVec m1, m2;
      if (training) {
        BlockFixture probe = f;
        std::fill(probe.x.begin(), probe.x.end(), 0.f);
        std::fill(probe.b1.begin(), probe.b1.end(), 1.f);
        std::fill(probe.w2.begin(), probe.w2.end(), 0.f);
        std::fill(probe.b2.begin(), probe.b2.end(), 1.f);
        Vec a1(n), a2(n), y(n);
        temporal_block_forward(probe.params(a1.data(), a2.data(), y.data(), p_drop, true));
        m1 = to_d(a1);
        m2 = to_d(a2);
      }
      Vec g = randv(n);
      Vec a1(n), a2(n), y(n);
      temporal_block_forward(f.params(a1.data(), a2.data(), y.data(), p_drop, training));
      DVec xd = to_d(f.x), w1 = to_d(f.w1), b1 = to_d(f.b1), w2 = to_d(f.w2), b2 = to_d(f.b2), wd = to_d(f.wd),
           bd = to_d(f.bd);
      DVec yd = block_d(f, xd, w1, b1, w2, b2, wd, bd, m1, m2);
      CHECK(rel_err(y, Vec(yd.begin(), yd.end())) < 1e-5, "block forward (training %d) vs double reference",
            training ? 1 : 0);
      auto loss = [&]() {
        DVec yy = block_d(f, xd, w1, b1, w2, b2, wd, bd, m1, m2);
        double s = 0;
        for (int64_t i = 0; i < n; ++i) s += static_cast<double>(g[i]) * yy[i];
        return s;
      };
      Vec dx(f.x.size()), dw1(f.w1.size()), db1(f.O), dw2(f.w2.size()), db2(f.O), dwd(f.wd.size()), dbd(f.bd.size());
      TemporalBlockBackwardParams q;
      q.batch = f.B;
      q.steps = f.T;
      q.in_channels = I;
      q.out_channels = f.O;
      q.kernel_size = f.K;
      q.dilation = f.d;
      q.x = f.x.data();
      q.w1 = f.w1.data();
      q.w2 = f.w2.data();
      q.wd = I != f.O ? f.wd.data() : nullptr;
      q.a1 = a1.data();
      q.a2 = a2.data();
      q.y = y.data();
      q.dy = g.data();
      q.dropout = p_drop;
      q.training = training;
      q.dx = dx.data();
      q.dw1 = dw1.data();
      q.db1 = db1.data();
      q.dw2 = dw2.data();
      q.db2 = db2.data();
      q.dwd = I != f.O ? dwd.data() : nullptr;
      q.dbd = I != f.O ? dbd.data() : nullptr;
      temporal_block_backward(q);
      auto check = [&](const char* what, DVec& param, const Vec& grad) {
        double worst = 0;
        for (size_t i = 0; i < param.size(); ++i) {
          const double keep = param[i], h = 1e-6;
          param[i] = keep + h;
          const double lp = loss();
          param[i] = keep - h;
          const double lm = loss();
          param[i] = keep;
          worst = std::max(
              worst, std::fabs((lp - lm) / (2 * h) - grad[i]) / std::max(1.0, std::fabs(static_cast<double>(grad[i]))));
        }
        CHECK(worst < 1e-4, "%s I %lld training %d: worst %g", what, (long long)I, training ? 1 : 0, worst);
      };
      check("dx", xd, dx);
      check("dw1", w1, dw1);
      check("db1", b1, db1);
      check("dw2", w2, dw2);
      check("db2", b2, db2);
      if (I != f.O) {
        check("dwd", wd, dwd);
        check("dbd", bd, dbd);
      }
    }
  }
}

TEST_CASE(bad_arguments) {
  Vec x(64, 1.f), w(64, 1.f), y(64);
  Conv1dParams p;
  p.batch = 1;
  p.steps = 2;
  p.in_channels = 2;
  p.out_channels = 2;
  p.kernel_size = 0;
  p.x = x.data();
  p.w = w.data();
  p.y = y.data();
  EXPECT_THROW_CODE(conv1d_forward(p), ErrorCode::InvalidArgument);
  p.kernel_size = 2;
  p.dilation = 0;
  EXPECT_THROW_CODE(conv1d_forward(p), ErrorCode::InvalidArgument);
  p.dilation = 1;
  p.in_channels = 0;
  EXPECT_THROW_CODE(conv1d_forward(p), ErrorCode::DimMismatch);
  p.in_channels = 2;
  p.steps = -1;
  EXPECT_THROW_CODE(conv1d_forward(p), ErrorCode::DimMismatch);
  p.steps = 2;
  p.y = nullptr;
  EXPECT_THROW_CODE(conv1d_forward(p), ErrorCode::InvalidArgument);
  Conv1dBackwardParams q;
  q.batch = 1;
  q.steps = 2;
  q.in_channels = 2;
  q.out_channels = 2;
  q.kernel_size = 2;
  q.dy = y.data();
  q.dx = x.data();
  EXPECT_THROW_CODE(conv1d_backward(q), ErrorCode::InvalidArgument);  // dx without w
  BlockFixture f(1, 3, 2, 3, 2, 1);
  Vec a1(9), a2(9), yy(9);
  TemporalBlockParams bp = f.params(a1.data(), a2.data(), yy.data(), 1.f, true);
  EXPECT_THROW_CODE(temporal_block_forward(bp), ErrorCode::InvalidArgument);  // dropout 1
  bp.dropout = 0.f;
  bp.wd = nullptr;
  EXPECT_THROW_CODE(temporal_block_forward(bp), ErrorCode::InvalidArgument);  // projection missing
  Tcn tcn = make_tcn(2, {2, 3}, {1});
  std::vector<TcnBlockWeights> ws = tcn.weights();
  EXPECT_THROW_CODE(TcnStreamer(0, ws, 2), ErrorCode::InvalidArgument);
  EXPECT_THROW_CODE(TcnStreamer(2, ws, 0), ErrorCode::InvalidArgument);
  ws.push_back(ws[0]);  // block 1 expects 3 input channels, declares 2
  EXPECT_THROW_CODE(TcnStreamer(2, ws, 2), ErrorCode::DimMismatch);
  TcnStreamer st(2, tcn.weights(), 3);
  Vec sx(6), sy(9);
  int32_t dup[2] = {1, 1}, out_of_range[1] = {3};
  EXPECT_THROW_CODE(st.step(sx.data(), 2, dup, sy.data()), ErrorCode::InvalidArgument);
  EXPECT_THROW_CODE(st.step(sx.data(), 1, out_of_range, sy.data()), ErrorCode::InvalidArgument);
  EXPECT_THROW_CODE(st.step(sx.data(), 2, nullptr, sy.data()), ErrorCode::DimMismatch);
  CHECK(st.position(1) == 0, "a rejected step does not advance");
}

TEST_MAIN()
