// nn part `spatial`: max / average pooling and group norm at every SIMD level against the
// double-precision reference (nn.h *_reference) at awkward sizes, results independent of the
// thread count, central-difference gradient checks on L = sum(w .* y), and bad arguments.
#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <vector>

#include "check.h"
#include "core/error.h"
#include "nn/nn.h"

using namespace simsage;
using Vec = std::vector<float>;
using IVec = std::vector<int32_t>;

namespace {

std::mt19937 g_rng(13);

Vec randv(size_t n, float scale = 1.f, float shift = 0.f) {
  std::normal_distribution<float> nd(shift, scale);
  Vec v(n);
  for (auto& x : v) x = nd(g_rng);
  return v;
}

const SimdLevel kLevels[] = {SimdLevel::Scalar, SimdLevel::Avx2, SimdLevel::Avx512};

bool close(float a, float b, float tol) { return std::fabs(a - b) <= tol * (1.f + std::fabs(b)); }

struct PoolCase {
  int64_t b, c, h, w, kh, kw, sh, sw, ph, pw;
};

// Awkward planes (1 x 1, odd, wider than tall), windows (1, 2, 3, 2 x 3, whole plane), strides
// (1, 2, 3, unequal) and paddings up to kernel / 2.
const PoolCase kPools[] = {
    {1, 1, 1, 1, 1, 1, 1, 1, 0, 0},  {2, 3, 5, 7, 2, 2, 2, 2, 0, 0},   {1, 2, 7, 7, 3, 3, 1, 1, 1, 1},
    {3, 1, 9, 17, 3, 3, 2, 2, 1, 1}, {2, 5, 28, 28, 2, 2, 2, 2, 0, 0}, {1, 3, 11, 13, 2, 3, 3, 2, 1, 1},
    {2, 2, 6, 6, 6, 6, 6, 6, 0, 0},  {1, 4, 33, 15, 4, 4, 4, 4, 2, 2}, {70, 3, 14, 14, 3, 3, 2, 2, 1, 1},
    {1, 1, 3, 3, 3, 3, 1, 1, 1, 1},  {2, 2, 8, 5, 1, 2, 1, 2, 0, 1},
};

Pool2dParams pool_params(const PoolCase& k) {
  Pool2dParams p;
  p.batch = k.b;
  p.channels = k.c;
  p.height = k.h;
  p.width = k.w;
  p.kernel_h = k.kh;
  p.kernel_w = k.kw;
  p.stride_h = k.sh;
  p.stride_w = k.sw;
  p.pad_h = k.ph;
  p.pad_w = k.pw;
  return p;
}

int64_t out_len(const Pool2dParams& p) {
  int64_t oh, ow;
  pool2d_output_size(p, &oh, &ow);
  return p.batch * p.channels * oh * ow;
}

TEST_CASE(pool_levels_match_reference) {
  for (const auto& k : kPools) {
    Pool2dParams p = pool_params(k);
    const int64_t in = k.b * k.c * k.h * k.w, out = out_len(p);
    Vec x = randv(in);
    for (int64_t i = 0; i < in; i += 5) x[i] = x[i / 2];  // ties
    Vec yr(out), ya(out), dy = randv(out), dxr(in), dxa(in);
    IVec ar(out);
    p.x = x.data();
    p.y = yr.data();
    p.argmax = ar.data();
    max_pool2d_forward_reference(p);
    Pool2dBackwardParams q;
    q.shape = p;
    q.argmax = ar.data();
    q.dy = dy.data();
    q.dx = dxr.data();
    max_pool2d_backward_reference(q);
    Vec avr(out), avdx(in);
    p.y = avr.data();
    avg_pool2d_forward_reference(p);
    q.dx = avdx.data();
    avg_pool2d_backward_reference(q);
    for (SimdLevel lv : kLevels) {
      for (int threads : {1, 3}) {
        Vec y(out), dx(in), ay(out), adx(in);
        IVec a(out);
        Pool2dParams f = p;
        f.threads = threads;
        f.y = y.data();
        f.argmax = a.data();
        max_pool2d_forward_at(lv, f);
        Pool2dBackwardParams g = q;
        g.shape = f;
        g.argmax = a.data();
        g.dx = dx.data();
        max_pool2d_backward_at(lv, g);
        f.y = ay.data();
        avg_pool2d_forward_at(lv, f);
        g.dx = adx.data();
        avg_pool2d_backward_at(lv, g);
        int bad = 0;
        for (int64_t i = 0; i < out; ++i) bad += y[i] != yr[i] || a[i] != ar[i] || !close(ay[i], avr[i], 1e-5f);
        for (int64_t i = 0; i < in; ++i) bad += !close(dx[i], dxr[i], 1e-6f) || !close(adx[i], avdx[i], 1e-5f);
        CHECK(bad == 0, "level %d threads %d case %lldx%lld k%lldx%lld s%lld p%lld: %d mismatches", int(lv), threads,
              (long long)k.h, (long long)k.w, (long long)k.kh, (long long)k.kw, (long long)k.sh, (long long)k.ph, bad);
      }
    }
  }
}

TEST_CASE(max_pool_ties_keep_first_and_padding_never_wins) {
  Pool2dParams p = pool_params({1, 1, 3, 3, 3, 3, 1, 1, 1, 1});
  Vec x(9, -5.f), y(9);
  IVec a(9);
  p.x = x.data();
  p.y = y.data();
  p.argmax = a.data();
  for (SimdLevel lv : kLevels) {
    max_pool2d_forward_at(lv, p);
    // Window (0, 0) covers pixels (0..1, 0..1): the first, index 0, wins; padding (-inf) never does.
    CHECK(a[0] == 0 && y[0] == -5.f, "level %d: argmax %d y %g", int(lv), a[0], y[0]);
    CHECK(a[4] == 0 && a[8] == 4, "level %d: argmax %d %d", int(lv), a[4], a[8]);
  }
}

// Central differences of L = sum(w .* y(x)) against the backward's dx.
void grad_check_pool(bool max) {
  const PoolCase k = {2, 2, 7, 6, 3, 2, 2, 1, 1, 1};
  Pool2dParams p = pool_params(k);
  const int64_t in = k.b * k.c * k.h * k.w, out = out_len(p);
  Vec x(in);
  for (int64_t i = 0; i < in; ++i) x[i] = 0.05f * static_cast<float>((i * 37) % in) - 1.f;  // distinct, 0.05 apart
  Vec w = randv(out), y(out), dx(in);
  IVec a(out);
  p.x = x.data();
  p.argmax = a.data();
  auto loss = [&](const Vec& xv) {
    Vec yy(out);
    IVec aa(out);
    Pool2dParams f = p;
    f.x = xv.data();
    f.y = yy.data();
    f.argmax = aa.data();
    max ? max_pool2d_forward_reference(f) : avg_pool2d_forward_reference(f);
    double s = 0;
    for (int64_t i = 0; i < out; ++i) s += static_cast<double>(w[i]) * yy[i];
    return s;
  };
  for (SimdLevel lv : kLevels) {
    p.y = y.data();
    max ? max_pool2d_forward_at(lv, p) : avg_pool2d_forward_at(lv, p);
    Pool2dBackwardParams q;
    q.shape = p;
    q.argmax = a.data();
    q.dy = w.data();
    q.dx = dx.data();
    max ? max_pool2d_backward_at(lv, q) : avg_pool2d_backward_at(lv, q);
    int bad = 0;
    for (int64_t i = 0; i < in; ++i) {
      Vec xp = x, xm = x;
      xp[i] += 1e-2f;
      xm[i] -= 1e-2f;
      const double num = (loss(xp) - loss(xm)) / 2e-2;
      bad += std::fabs(num - dx[i]) > 2e-3 * (1 + std::fabs(num));
    }
    CHECK(bad == 0, "%s pool level %d: %d gradient mismatches", max ? "max" : "avg", int(lv), bad);
  }
}

TEST_CASE(pool_gradients_match_central_differences) {
  grad_check_pool(true);
  grad_check_pool(false);
}

TEST_CASE(global_avg_pool_is_the_plane_mean) {
  Pool2dParams p = pool_params({3, 4, 5, 7, 5, 7, 5, 7, 0, 0});
  Vec x = randv(3 * 4 * 35), y(12);
  p.x = x.data();
  p.y = y.data();
  avg_pool2d_forward(p);
  for (int64_t pl = 0; pl < 12; ++pl) {
    double s = 0;
    for (int64_t i = 0; i < 35; ++i) s += x[pl * 35 + i];
    CHECK(close(y[pl], static_cast<float>(s / 35), 1e-5f), "plane %lld: %g vs %g", (long long)pl, y[pl], s / 35);
  }
}

struct GnCase {
  int64_t b, c, g, s;
};
const GnCase kGns[] = {{1, 1, 1, 1},   {3, 6, 3, 17},  {2, 8, 2, 33},   {5, 4, 4, 7},
                       {2, 32, 8, 49}, {1, 3, 1, 129}, {9, 16, 4, 196}, {4, 5, 5, 15}};

TEST_CASE(group_norm_levels_match_reference) {
  for (const auto& k : kGns) {
    const int64_t n = k.b * k.c * k.s;
    for (bool affine : {true, false}) {
      Vec x = randv(n, 2.f, 3.f), gamma = randv(k.c, 0.5f, 1.f), beta = randv(k.c), dy = randv(n);
      GroupNormParams p;
      p.batch = k.b;
      p.channels = k.c;
      p.groups = k.g;
      p.spatial = k.s;
      p.x = x.data();
      p.gamma = affine ? gamma.data() : nullptr;
      p.beta = affine ? beta.data() : nullptr;
      Vec yr(n), mr(k.b * k.g), rr(k.b * k.g), dxr(n), dgr(k.c, 0.5f), dbr(k.c, 0.5f);
      p.y = yr.data();
      p.mean = mr.data();
      p.rstd = rr.data();
      group_norm_forward_reference(p);
      GroupNormBackwardParams q;
      q.batch = k.b;
      q.channels = k.c;
      q.groups = k.g;
      q.spatial = k.s;
      q.x = x.data();
      q.gamma = p.gamma;
      q.mean = mr.data();
      q.rstd = rr.data();
      q.dy = dy.data();
      q.dx = dxr.data();
      q.dgamma = dgr.data();
      q.dbeta = dbr.data();
      q.accumulate = true;
      group_norm_backward_reference(q);
      for (SimdLevel lv : kLevels)
        for (int threads : {1, 3}) {
          Vec y(n), m(k.b * k.g), r(k.b * k.g), dx(n), dg(k.c, 0.5f), db(k.c, 0.5f);
          GroupNormParams f = p;
          f.y = y.data();
          f.mean = m.data();
          f.rstd = r.data();
          f.threads = threads;
          group_norm_forward_at(lv, f);
          GroupNormBackwardParams g = q;
          g.dx = dx.data();
          g.dgamma = dg.data();
          g.dbeta = db.data();
          g.threads = threads;
          group_norm_backward_at(lv, g);
          int bad = 0;
          for (int64_t i = 0; i < n; ++i) bad += !close(y[i], yr[i], 1e-4f) || !close(dx[i], dxr[i], 2e-4f);
          for (int64_t i = 0; i < k.b * k.g; ++i) bad += !close(m[i], mr[i], 1e-5f) || !close(r[i], rr[i], 1e-4f);
          for (int64_t i = 0; i < k.c; ++i) bad += !close(dg[i], dgr[i], 2e-4f) || !close(db[i], dbr[i], 2e-4f);
          CHECK(bad == 0, "level %d threads %d B%lld C%lld G%lld S%lld affine %d: %d mismatches", int(lv), threads,
                (long long)k.b, (long long)k.c, (long long)k.g, (long long)k.s, int(affine), bad);
        }
    }
  }
}

TEST_CASE(group_norm_results_do_not_depend_on_threads) {
  const int64_t B = 40, C = 8, G = 2, S = 784, n = B * C * S;
  Vec x = randv(n), gamma = randv(C), dy = randv(n);
  Vec y1(n), y4(n), m(B * G), r(B * G), dx1(n), dx4(n), dg1(C), dg4(C), db1(C), db4(C);
  for (int t : {1, 4}) {
    GroupNormParams p{B,        C,        G, S, 1e-5f, x.data(), gamma.data(), nullptr, t == 1 ? y1.data() : y4.data(),
                      m.data(), r.data(), t};
    group_norm_forward(p);
    GroupNormBackwardParams q{B,
                              C,
                              G,
                              S,
                              x.data(),
                              gamma.data(),
                              m.data(),
                              r.data(),
                              dy.data(),
                              t == 1 ? dx1.data() : dx4.data(),
                              t == 1 ? dg1.data() : dg4.data(),
                              t == 1 ? db1.data() : db4.data(),
                              false,
                              t};
    group_norm_backward(q);
  }
  CHECK(y1 == y4 && dx1 == dx4 && dg1 == dg4 && db1 == db4, "thread count changed the results");
}

// Double-precision forward of group norm for the gradient check.
double gn_loss(const Vec& x, const Vec& gamma, const Vec& beta, const Vec& w, int64_t B, int64_t C, int64_t G,
               int64_t S) {
  const int64_t cg = C / G, n = cg * S;
  double L = 0;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t g = 0; g < G; ++g) {
      const int64_t base = (b * C + g * cg) * S;
      double mu = 0, var = 0;
      for (int64_t i = 0; i < n; ++i) mu += x[base + i];
      mu /= n;
      for (int64_t i = 0; i < n; ++i) var += (x[base + i] - mu) * (x[base + i] - mu);
      const double rs = 1 / std::sqrt(var / n + 1e-5);
      for (int64_t i = 0; i < n; ++i) {
        const int64_t c = g * cg + i / S;
        L += w[base + i] * ((x[base + i] - mu) * rs * gamma[c] + beta[c]);
      }
    }
  return L;
}

TEST_CASE(group_norm_gradients_match_central_differences) {
  const int64_t B = 2, C = 6, G = 3, S = 5, n = B * C * S;
  Vec x = randv(n), gamma = randv(C, 0.5f, 1.f), beta = randv(C), w = randv(n);
  for (SimdLevel lv : kLevels) {
    Vec y(n), m(B * G), r(B * G), dx(n), dg(C), db(C);
    GroupNormParams p{B, C, G, S, 1e-5f, x.data(), gamma.data(), beta.data(), y.data(), m.data(), r.data(), 1};
    group_norm_forward_at(lv, p);
    GroupNormBackwardParams q{B,        C,        G,         S,         x.data(),  gamma.data(), m.data(),
                              r.data(), w.data(), dx.data(), dg.data(), db.data(), false,        1};
    group_norm_backward_at(lv, q);
    const float h = 1e-2f;
    int bad = 0;
    auto num = [&](Vec& v, int64_t i) {
      const float keep = v[i];
      v[i] = keep + h;
      const double lp = gn_loss(x, gamma, beta, w, B, C, G, S);
      v[i] = keep - h;
      const double lm = gn_loss(x, gamma, beta, w, B, C, G, S);
      v[i] = keep;
      return (lp - lm) / (2 * h);
    };
    for (int64_t i = 0; i < n; ++i) bad += std::fabs(num(x, i) - dx[i]) > 5e-3 * (1 + std::fabs(dx[i]));
    for (int64_t c = 0; c < C; ++c) {
      bad += std::fabs(num(gamma, c) - dg[c]) > 5e-3 * (1 + std::fabs(dg[c]));
      bad += std::fabs(num(beta, c) - db[c]) > 5e-3 * (1 + std::fabs(db[c]));
    }
    CHECK(bad == 0, "level %d: %d gradient mismatches", int(lv), bad);
  }
}

TEST_CASE(bad_arguments_have_codes) {
  Vec buf(4096, 1.f);
  IVec ai(4096);
  Pool2dParams p = pool_params({1, 1, 4, 4, 5, 5, 1, 1, 0, 0});  // kernel larger than the input
  p.x = buf.data();
  p.y = buf.data() + 2048;
  p.argmax = ai.data();
  EXPECT_THROW_CODE(max_pool2d_forward(p), ErrorCode::DimMismatch);
  p = pool_params({1, 1, 4, 4, 7, 7, 1, 1, 1, 1});  // still larger when padded (6 x 6)
  p.x = buf.data();
  p.y = buf.data() + 2048;
  p.argmax = ai.data();
  EXPECT_THROW_CODE(avg_pool2d_forward(p), ErrorCode::DimMismatch);
  p.kernel_h = p.kernel_w = 2;
  p.pad_h = 2;  // pad > kernel / 2
  EXPECT_THROW_CODE(avg_pool2d_forward(p), ErrorCode::InvalidArgument);
  p.pad_h = 1;
  p.stride_w = 0;
  EXPECT_THROW_CODE(max_pool2d_forward(p), ErrorCode::InvalidArgument);
  p.stride_w = 1;
  p.argmax = nullptr;
  EXPECT_THROW_CODE(max_pool2d_forward(p), ErrorCode::InvalidArgument);
  p.argmax = ai.data();
  buf[3] = std::nanf("");
  EXPECT_THROW_CODE(max_pool2d_forward(p), ErrorCode::NonFinite);
  EXPECT_THROW_CODE(avg_pool2d_forward(p), ErrorCode::NonFinite);
  GroupNormParams g{
      2, 6, 4, 3, 1e-5f, buf.data(), nullptr, nullptr, buf.data() + 100, buf.data() + 200, buf.data() + 300, 0};
  EXPECT_THROW_CODE(group_norm_forward(g), ErrorCode::DimMismatch);  // 4 groups do not divide 6 channels
  g.groups = 3;
  EXPECT_THROW_CODE(group_norm_forward(g), ErrorCode::NonFinite);  // buf[3]
  buf[3] = 1.f;
  g.eps = std::nanf("");
  EXPECT_THROW_CODE(group_norm_forward(g), ErrorCode::NonFinite);
  g.eps = 0.f;
  EXPECT_THROW_CODE(group_norm_forward(g), ErrorCode::InvalidArgument);
  g.eps = 1e-5f;
  g.mean = nullptr;
  EXPECT_THROW_CODE(group_norm_forward(g), ErrorCode::InvalidArgument);
  GroupNormBackwardParams q{2,          6,          7,          3,       buf.data(), nullptr, buf.data(),
                            buf.data(), buf.data(), buf.data(), nullptr, nullptr,    false,   0};
  EXPECT_THROW_CODE(group_norm_backward(q), ErrorCode::DimMismatch);
}

}  // namespace

TEST_MAIN()
