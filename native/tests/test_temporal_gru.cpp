// The temporal family's GRU: every SIMD level against the double-precision reference at awkward
// sizes (with and without carry and mask), results independent of the thread count, central-
// difference gradient checks of the reference for dx, dh0 and every weight and bias, and bad
// arguments (forward, backward, stream step). (Streaming and state blobs:
// test_temporal_gru_stream.cpp; the shared model, batch and forward: gru_fixtures.h.)
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "core/error.h"
#include "fixtures.h"
#include "gru_fixtures.h"
#include "temporal/temporal.h"

using namespace simsage;
using namespace simsage_test;

namespace {

// The reference forward with every tensor (and x, h0) in double; y = [B, T, H], h_n = [L, B, H].
void reference(const Model& m, const std::vector<DVec>& t, const DVec& x, const DVec& h0, const Batch& bt, DVec* y,
               DVec* hn) {
  std::vector<const double*> ptrs;
  for (auto& v : t) ptrs.push_back(v.data());
  DVec carry(bt.carry.begin(), bt.carry.end());
  y->assign(static_cast<size_t>(bt.B * bt.T * m.H), 0.0);
  hn->assign(static_cast<size_t>(m.L * bt.B * m.H), 0.0);
  GruReferenceParams p;
  p.layers = m.L;
  p.input_size = m.D;
  p.hidden_size = m.H;
  p.batch = bt.B;
  p.steps = bt.T;
  p.tensors = ptrs.data();
  p.x = x.data();
  p.h0 = h0.data();
  p.carry = carry.empty() ? nullptr : carry.data();
  p.mask = bt.mask_ptr();
  p.y = y->data();
  p.h_n = hn->data();
  gru_reference(p);
}

std::vector<DVec> to_d(const std::vector<Vec>& t) {
  std::vector<DVec> out;
  for (auto& v : t) out.emplace_back(v.begin(), v.end());
  return out;
}

struct Backward {
  Vec dx, dh0;
  std::vector<Vec> grads;
};

Backward run_backward(SimdLevel level, const Model& m, const Batch& bt, const Forward& f, const Vec& dy, const Vec& dhn,
                      int threads = 0) {
  Backward g;
  g.dx.assign(bt.x.size(), -7.f);
  g.dh0.assign(bt.h0.size(), -7.f);
  std::vector<float*> gp;
  for (auto& v : m.t) g.grads.emplace_back(v.size(), 0.f);
  for (auto& v : g.grads) gp.push_back(v.data());
  GruBackwardParams p;
  p.w = m.weights();
  p.batch = bt.B;
  p.steps = bt.T;
  p.x = bt.x.data();
  p.carry = bt.carry_ptr();
  p.mask = bt.mask_ptr();
  p.workspace = f.ws.data();
  p.dy = dy.data();
  p.dh_n = dhn.data();
  p.dx = g.dx.data();
  p.dh0 = g.dh0.data();
  p.grads.tensors = gp.data();
  p.threads = threads;
  gru_backward_at(level, p);
  return g;
}

double worst(const Vec& got, const DVec& want) {
  double e = 0;
  for (size_t i = 0; i < got.size(); ++i) e = std::max(e, std::fabs(got[i] - want[i]));
  return e;
}

}  // namespace

TEST_CASE(every_level_matches_the_reference) {
  const int64_t dims[] = {1, 3, 17, 33};
  for (SimdLevel level : kLevels)
    for (int64_t D : dims)
      for (int64_t H : dims)
        for (int64_t T : {1, 2, 7})
          for (int64_t L : {1, 2, 3}) {
            if ((D + H + T + L) % 2 && L == 3) continue;  // keep the grid small; the rest covers L = 3
            const int extras = static_cast<int>((D * 7 + H * 3 + T + L) % 4);  // carry / mask on and off
            Model m(L, D, H);
            Batch bt(m, 3, T, extras & 1, extras & 2);
            Forward f = run_forward(level, m, bt);
            DVec y, hn;
            reference(m, to_d(m.t), to_d(bt.x), to_d(bt.h0), bt, &y, &hn);
            const double ey = worst(f.y, y), eh = worst(f.hn, hn);
            CHECK(ey < 1e-5 && eh < 1e-5, "%s D=%ld H=%ld T=%ld L=%ld extras=%d: |dy| %g |dh| %g",
                  simd_level_name(level), (long)D, (long)H, (long)T, (long)L, extras, ey, eh);
          }
}

TEST_CASE(saturated_gates_stay_finite) {
  for (SimdLevel level : kLevels) {
    Model m(1, 4, 17);
    for (auto& v : m.t)
      for (auto& x : v) x *= 200.f;  // pre-activations of thousands: exp clamps, gates saturate
    Batch bt(m, 2, 3, false, false);
    Forward f = run_forward(level, m, bt);
    DVec y, hn;
    reference(m, to_d(m.t), to_d(bt.x), to_d(bt.h0), bt, &y, &hn);
    CHECK(worst(f.y, y) < 1e-5, "%s: saturated error %g", simd_level_name(level), worst(f.y, y));
  }
}

TEST_CASE(results_do_not_depend_on_the_thread_count) {
  Model m(2, 33, 40);
  Batch bt(m, 37, 5, true, true);
  const Vec dy = randv(static_cast<size_t>(bt.B * bt.T * m.H)), dhn = randv(static_cast<size_t>(m.L * bt.B * m.H));
  for (SimdLevel level : kLevels) {
    Forward f1 = run_forward(level, m, bt, 1);
    Backward g1 = run_backward(level, m, bt, f1, dy, dhn, 1);
    for (int threads : {2, 3}) {
      Forward f = run_forward(level, m, bt, threads);
      Backward g = run_backward(level, m, bt, f, dy, dhn, threads);
      CHECK(f.y == f1.y && f.hn == f1.hn, "%s forward differs at %d threads", simd_level_name(level), threads);
      bool same = g.dx == g1.dx && g.dh0 == g1.dh0;
      for (size_t i = 0; i < g.grads.size(); ++i) same = same && g.grads[i] == g1.grads[i];
      CHECK(same, "%s backward differs at %d threads", simd_level_name(level), threads);
    }
  }
}

// A batch of several fixed row chunks (row_chunk(H) = 4096 / H rows each: 13 rows at H = 300, the
// last chunk short), each running its own recurrent GEMM through time: the forward against the
// double reference, and every row's y, h_n, dx and dh0 equal to the same row run alone (one chunk),
// at 1 and 2 threads, at every level.
TEST_CASE(row_chunks_match_rows_run_alone) {
  const int64_t B = 30, T = 4;
  Model m(2, 9, 300);
  Batch bt(m, B, T, true, true);
  const Vec dy = randv(static_cast<size_t>(B * T * m.H)), dhn = randv(static_cast<size_t>(m.L * B * m.H));
  DVec yr, hnr;
  reference(m, to_d(m.t), to_d(bt.x), to_d(bt.h0), bt, &yr, &hnr);
  for (SimdLevel level : kLevels)
    for (int threads : {1, 2}) {
      Forward f = run_forward(level, m, bt, threads);
      Backward g = run_backward(level, m, bt, f, dy, dhn, threads);
      CHECK(worst(f.y, yr) < 1e-5 && worst(f.hn, hnr) < 1e-5, "%s %d threads: forward vs reference %g %g",
            simd_level_name(level), threads, worst(f.y, yr), worst(f.hn, hnr));
      double e = 0;
      for (int64_t b = 0; b < B; b += 7) {
        Batch one(m, 1, T, true, true);
        std::copy_n(&bt.x[b * T * m.D], T * m.D, one.x.begin());
        std::copy_n(&bt.carry[b * T], T, one.carry.begin());
        std::copy_n(&bt.mask[b * T], T, one.mask.begin());
        Vec dy1(dy.begin() + b * T * m.H, dy.begin() + (b + 1) * T * m.H), dhn1(m.L * m.H);
        for (int64_t l = 0; l < m.L; ++l) {
          std::copy_n(&bt.h0[(l * B + b) * m.H], m.H, &one.h0[l * m.H]);
          std::copy_n(&dhn[(l * B + b) * m.H], m.H, &dhn1[l * m.H]);
        }
        Forward f1 = run_forward(level, m, one, 1);
        Backward g1 = run_backward(level, m, one, f1, dy1, dhn1, 1);
        for (int64_t i = 0; i < T * m.H; ++i) e = std::max(e, (double)std::fabs(f1.y[i] - f.y[b * T * m.H + i]));
        for (int64_t i = 0; i < T * m.D; ++i) e = std::max(e, (double)std::fabs(g1.dx[i] - g.dx[b * T * m.D + i]));
        for (int64_t l = 0; l < m.L; ++l)
          for (int64_t j = 0; j < m.H; ++j) {
            e = std::max(e, (double)std::fabs(f1.hn[l * m.H + j] - f.hn[(l * B + b) * m.H + j]));
            e = std::max(e, (double)std::fabs(g1.dh0[l * m.H + j] - g.dh0[(l * B + b) * m.H + j]));
          }
      }
      CHECK(e == 0, "%s %d threads: rows differ from the rows run alone by %g", simd_level_name(level), threads, e);
    }
}

// L = sum(wy .* y) + sum(wh .* h_n); the kernel's gradients against central differences of the
// double reference, for x, h0 and every tensor.
void gradient_check(SimdLevel level, int64_t L, int64_t D, int64_t H, bool carry, bool mask) {
  Model m(L, D, H);
  Batch bt(m, 2, 4, carry, mask);
  const Vec wy = randv(static_cast<size_t>(bt.B * bt.T * H)), wh = randv(static_cast<size_t>(L * bt.B * H));
  Forward f = run_forward(level, m, bt);
  Backward g = run_backward(level, m, bt, f, wy, wh);

  std::vector<DVec> t = to_d(m.t);
  DVec x = to_d(bt.x), h0 = to_d(bt.h0);
  auto loss = [&]() {
    DVec y, hn;
    reference(m, t, x, h0, bt, &y, &hn);
    double s = 0;
    for (size_t i = 0; i < y.size(); ++i) s += wy[i] * y[i];
    for (size_t i = 0; i < hn.size(); ++i) s += wh[i] * hn[i];
    return s;
  };
  const double eps = 1e-6;
  double worst_err = 0;
  auto check = [&](DVec& v, const Vec& analytic, const char* what) {
    for (size_t i = 0; i < v.size(); ++i) {
      const double keep = v[i];
      v[i] = keep + eps;
      const double up = loss();
      v[i] = keep - eps;
      const double down = loss();
      v[i] = keep;
      const double num = (up - down) / (2 * eps), err = std::fabs(num - analytic[i]) / std::max(1.0, std::fabs(num));
      worst_err = std::max(worst_err, err);
      CHECK(err < 1e-4, "%s L=%ld D=%ld H=%ld carry=%d mask=%d %s[%zu]: analytic %g numeric %g", simd_level_name(level),
            (long)L, (long)D, (long)H, carry, mask, what, i, analytic[i], num);
    }
  };
  check(x, g.dx, "dx");
  check(h0, g.dh0, "dh0");
  static const char* const kNames[4] = {"weight_ih", "weight_hh", "bias_ih", "bias_hh"};
  for (size_t i = 0; i < t.size(); ++i) check(t[i], g.grads[i], kNames[i % 4]);
}

TEST_CASE(gradients_match_central_differences) {
  for (SimdLevel level : kLevels) {
    gradient_check(level, 1, 3, 4, false, false);
    gradient_check(level, 2, 3, 17, true, false);
    gradient_check(level, 2, 5, 3, false, true);
    gradient_check(level, 3, 2, 9, true, true);
  }
}

TEST_CASE(backward_accumulates_and_skips) {
  Model m(2, 3, 5);
  Batch bt(m, 2, 3, true, false);
  const Vec dy = randv(static_cast<size_t>(bt.B * bt.T * m.H)), dhn(static_cast<size_t>(m.L * bt.B * m.H), 0.f);
  Forward f = run_forward(SimdLevel::Avx2, m, bt);
  Backward g = run_backward(SimdLevel::Avx2, m, bt, f, dy, dhn);
  // Twice into the same gradients = 2x; dx and dh0 skipped (null).
  std::vector<Vec> acc = g.grads;
  std::vector<float*> gp;
  for (auto& v : acc) gp.push_back(v.data());
  GruBackwardParams p;
  p.w = m.weights();
  p.batch = bt.B;
  p.steps = bt.T;
  p.x = bt.x.data();
  p.carry = bt.carry_ptr();
  p.workspace = f.ws.data();
  p.dy = dy.data();
  p.grads.tensors = gp.data();
  gru_backward_at(SimdLevel::Avx2, p);
  double e = 0;
  for (size_t i = 0; i < acc.size(); ++i)
    for (size_t j = 0; j < acc[i].size(); ++j) e = std::max(e, (double)std::fabs(acc[i][j] - 2 * g.grads[i][j]));
  CHECK(e < 1e-5, "accumulated gradients off by %g", e);
}

TEST_CASE(bad_arguments_throw_codes) {
  Model m(2, 3, 4);
  Batch bt(m, 2, 3, false, false);
  Forward good = run_forward(SimdLevel::Scalar, m, bt);
  auto fwd = [&](auto edit) {
    Forward f = good;
    GruForwardParams p;
    p.w = m.weights();
    p.batch = bt.B;
    p.steps = bt.T;
    p.x = bt.x.data();
    p.y = f.y.data();
    p.workspace = f.ws.data();
    edit(p);
    gru_forward(p);
  };
  fwd([](GruForwardParams&) {});  // the unedited call is fine
  EXPECT_THROW_CODE(fwd([](GruForwardParams& p) { p.w.layers = 0; }), ErrorCode::DimMismatch);
  EXPECT_THROW_CODE(fwd([](GruForwardParams& p) { p.w.hidden_size = 0; }), ErrorCode::DimMismatch);
  EXPECT_THROW_CODE(fwd([](GruForwardParams& p) { p.w.input_size = -1; }), ErrorCode::DimMismatch);
  EXPECT_THROW_CODE(fwd([](GruForwardParams& p) { p.batch = 0; }), ErrorCode::DimMismatch);
  EXPECT_THROW_CODE(fwd([](GruForwardParams& p) { p.steps = 0; }), ErrorCode::DimMismatch);
  EXPECT_THROW_CODE(fwd([](GruForwardParams& p) { p.x = nullptr; }), ErrorCode::InvalidArgument);
  EXPECT_THROW_CODE(fwd([](GruForwardParams& p) { p.y = nullptr; }), ErrorCode::InvalidArgument);
  EXPECT_THROW_CODE(fwd([](GruForwardParams& p) { p.w.tensors = nullptr; }), ErrorCode::InvalidArgument);
  std::vector<const float*> holes = m.ptrs;
  holes[5] = nullptr;
  EXPECT_THROW_CODE(fwd([&](GruForwardParams& p) { p.w.tensors = holes.data(); }), ErrorCode::InvalidArgument);
  Vec nan_x = bt.x;
  nan_x[4] = std::nanf("");
  EXPECT_THROW_CODE(fwd([&](GruForwardParams& p) { p.x = nan_x.data(); }), ErrorCode::NonFinite);
  Vec inf_carry(static_cast<size_t>(bt.B * bt.T), 1.f);
  inf_carry[1] = INFINITY;
  EXPECT_THROW_CODE(fwd([&](GruForwardParams& p) { p.carry = inf_carry.data(); }), ErrorCode::NonFinite);

  GruBackwardParams b;
  b.w = m.weights();
  b.batch = bt.B;
  b.steps = bt.T;
  b.x = bt.x.data();
  b.workspace = good.ws.data();
  EXPECT_THROW_CODE(gru_backward(b), ErrorCode::InvalidArgument);  // dy null

  Vec state(static_cast<size_t>(3 * m.L * m.H), 0.f), x(3 * 3, 0.5f), y(3 * 4);
  GruStreamStepParams s;
  s.w = m.weights();
  s.streams = 3;
  s.state = state.data();
  s.rows = 2;
  s.x = x.data();
  s.y = y.data();
  EXPECT_THROW_CODE(gru_stream_step(s), ErrorCode::DimMismatch);  // rows != streams without active
  int32_t dup[2] = {1, 1}, out_of_range[2] = {0, 3};
  s.active = dup;
  EXPECT_THROW_CODE(gru_stream_step(s), ErrorCode::InvalidArgument);
  s.active = out_of_range;
  EXPECT_THROW_CODE(gru_stream_step(s), ErrorCode::InvalidArgument);
  s.active = nullptr;
  s.rows = 3;
  s.streams = 0;
  EXPECT_THROW_CODE(gru_stream_step(s), ErrorCode::DimMismatch);
}

TEST_MAIN()
