// nn conv2d: every SIMD level against the double reference at awkward sizes (C 1, 3, 17, 33;
// H/W 1, 2, 7, 13; kernel 1, 2, 3, 5; stride 1..3; padding 0..2; dilation 1, 2; batch 1, 3, plus
// the benchmark's layer shapes at a small batch), results independent of the thread count,
// central-difference gradient checks of dx, dw, db against a double convolution, bad arguments.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "check.h"
#include "core/error.h"
#include "nn/nn.h"

using namespace simsage;
using Vec = std::vector<float>;
using DVec = std::vector<double>;

namespace {

std::mt19937 g_rng(11);

Vec randv(size_t n, float scale = 1.f) {
  std::normal_distribution<float> nd(0.f, scale);
  Vec v(n);
  for (auto& x : v) x = nd(g_rng);
  return v;
}

const SimdLevel kLevels[] = {SimdLevel::Scalar, SimdLevel::Avx2, SimdLevel::Avx512};

// Largest |a - b| relative to max(1, max|b|).
double rel_err(const Vec& a, const Vec& b) {
  double e = 0, m = 1;
  for (size_t i = 0; i < a.size(); ++i) {
    e = std::max(e, static_cast<double>(std::fabs(a[i] - b[i])));
    m = std::max(m, static_cast<double>(std::fabs(b[i])));
  }
  return e / m;
}

int64_t pick(std::initializer_list<int64_t> v) {
  std::uniform_int_distribution<size_t> d(0, v.size() - 1);
  return *(v.begin() + d(g_rng));
}

// A random valid shape from the awkward sets (kernel never larger than the padded input).
Conv2dShape random_shape() {
  for (;;) {
    Conv2dShape s;
    s.batch = pick({1, 3});
    s.in_channels = pick({1, 3, 17, 33});
    s.out_channels = pick({1, 3, 17, 33});
    s.height = pick({1, 2, 7, 13});
    s.width = pick({1, 2, 7, 13});
    s.kernel_h = pick({1, 2, 3, 5});
    s.kernel_w = pick({1, 2, 3, 5});
    s.stride_h = pick({1, 2, 3});
    s.stride_w = pick({1, 2, 3});
    s.pad_h = pick({0, 1, 2});
    s.pad_w = pick({0, 1, 2});
    s.dilation_h = pick({1, 2});
    s.dilation_w = pick({1, 2});
    if (s.dilation_h * (s.kernel_h - 1) + 1 <= s.height + 2 * s.pad_h &&
        s.dilation_w * (s.kernel_w - 1) + 1 <= s.width + 2 * s.pad_w)
      return s;
  }
}

Conv2dShape layer(int64_t b, int64_t cin, int64_t cout, int64_t hw, int64_t k, int64_t stride, int64_t pad) {
  Conv2dShape s;
  s.batch = b;
  s.in_channels = cin;
  s.out_channels = cout;
  s.height = s.width = hw;
  s.kernel_h = s.kernel_w = k;
  s.stride_h = s.stride_w = stride;
  s.pad_h = s.pad_w = pad;
  return s;
}

int64_t x_size(const Conv2dShape& s) { return s.batch * s.in_channels * s.height * s.width; }
int64_t y_size(const Conv2dShape& s) { return s.batch * s.out_channels * s.out_h() * s.out_w(); }
int64_t w_size(const Conv2dShape& s) { return s.out_channels * s.in_channels * s.kernel_h * s.kernel_w; }

std::vector<Conv2dShape> test_shapes(int n) {
  std::vector<Conv2dShape> v = {layer(2, 1, 32, 28, 3, 1, 1), layer(2, 32, 32, 14, 3, 1, 1),
                                layer(1, 64, 128, 7, 3, 1, 1), layer(2, 32, 64, 28, 3, 2, 1)};
  for (int i = 0; i < n; ++i) v.push_back(random_shape());
  return v;
}

void describe(char* buf, size_t n, const Conv2dShape& s) {
  std::snprintf(buf, n, "B%lld C%lld->%lld %lldx%lld k%lldx%lld s%lldx%lld p%lldx%lld d%lldx%lld", (long long)s.batch,
                (long long)s.in_channels, (long long)s.out_channels, (long long)s.height, (long long)s.width,
                (long long)s.kernel_h, (long long)s.kernel_w, (long long)s.stride_h, (long long)s.stride_w,
                (long long)s.pad_h, (long long)s.pad_w, (long long)s.dilation_h, (long long)s.dilation_w);
}

// The convolution in double (for central differences): y = conv(x, w) + b.
DVec conv_d(const Conv2dShape& s, const DVec& x, const DVec& w, const DVec& b) {
  const int64_t oh = s.out_h(), ow = s.out_w();
  DVec y(static_cast<size_t>(y_size(s)));
  for (int64_t n = 0; n < s.batch; ++n)
    for (int64_t o = 0; o < s.out_channels; ++o)
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j) {
          double acc = b[o];
          for (int64_t c = 0; c < s.in_channels; ++c)
            for (int64_t kh = 0; kh < s.kernel_h; ++kh)
              for (int64_t kw = 0; kw < s.kernel_w; ++kw) {
                const int64_t u = i * s.stride_h - s.pad_h + kh * s.dilation_h;
                const int64_t v = j * s.stride_w - s.pad_w + kw * s.dilation_w;
                if (u < 0 || u >= s.height || v < 0 || v >= s.width) continue;
                acc += w[((o * s.in_channels + c) * s.kernel_h + kh) * s.kernel_w + kw] *
                       x[((n * s.in_channels + c) * s.height + u) * s.width + v];
              }
          y[((n * s.out_channels + o) * oh + i) * ow + j] = acc;
        }
  return y;
}

}  // namespace

TEST_CASE(forward_every_level_vs_reference) {
  const std::vector<Conv2dShape> shapes = test_shapes(120);
  int variant = 0;
  for (const Conv2dShape& s : shapes) {
    Vec x = randv(x_size(s)), w = randv(w_size(s)), b = randv(s.out_channels);
    Vec yr(y_size(s), 7.f);
    Conv2dParams p;
    p.s = s;
    p.x = x.data();
    p.w = w.data();
    p.b = variant++ % 2 ? b.data() : nullptr;
    p.y = yr.data();
    conv2d_reference(p);
    for (SimdLevel level : kLevels) {
      Vec y(y_size(s), 9.f);
      p.y = y.data();
      conv2d_forward_at(level, p);
      const double e = rel_err(y, yr);
      char d[160];
      describe(d, sizeof d, s);
      CHECK(e < 2e-6 * std::sqrt(static_cast<double>(w_size(s) / s.out_channels)) + 1e-6, "level %d %s: err %g",
            static_cast<int>(level), d, e);
    }
  }
}

TEST_CASE(backward_every_level_vs_reference) {
  const std::vector<Conv2dShape> shapes = test_shapes(80);
  int variant = 0;
  for (const Conv2dShape& s : shapes) {
    const bool acc = variant++ % 2 == 1;
    Vec x = randv(x_size(s)), w = randv(w_size(s)), dy = randv(y_size(s));
    Vec dx0 = randv(x_size(s)), dw0 = randv(w_size(s)), db0 = randv(s.out_channels);
    Vec dxr = dx0, dwr = dw0, dbr = db0;
    Conv2dBackwardParams p;
    p.s = s;
    p.x = x.data();
    p.w = w.data();
    p.dy = dy.data();
    p.accumulate = acc;
    p.dx = dxr.data();
    p.dw = dwr.data();
    p.db = dbr.data();
    conv2d_backward_reference(p);
    const double terms = static_cast<double>(s.batch * s.out_h() * s.out_w() + w_size(s));
    const double tol = 2e-6 * std::sqrt(terms) + 1e-6;
    for (SimdLevel level : kLevels) {
      Vec dx = dx0, dw = dw0, db = db0;
      p.dx = dx.data();
      p.dw = dw.data();
      p.db = db.data();
      conv2d_backward_at(level, p);
      char d[160];
      describe(d, sizeof d, s);
      CHECK(rel_err(dx, dxr) < tol, "dx level %d %s: %g", static_cast<int>(level), d, rel_err(dx, dxr));
      CHECK(rel_err(dw, dwr) < tol, "dw level %d %s: %g", static_cast<int>(level), d, rel_err(dw, dwr));
      CHECK(rel_err(db, dbr) < tol, "db level %d %s: %g", static_cast<int>(level), d, rel_err(db, dbr));
    }
  }
}

TEST_CASE(results_independent_of_thread_count) {
  Conv2dShape s = layer(12, 5, 7, 20, 3, 1, 1);  // 4800 columns: several dW chunks per slot
  s.dilation_w = 2;
  Vec x = randv(x_size(s)), w = randv(w_size(s)), b = randv(s.out_channels), dy = randv(y_size(s));
  Vec y1, dx1, dw1, db1;
  for (int threads : {1, 2, 3, 5}) {
    Vec y(y_size(s)), dx(x_size(s)), dw(w_size(s)), db(s.out_channels);
    Conv2dParams p;
    p.s = s;
    p.x = x.data();
    p.w = w.data();
    p.b = b.data();
    p.y = y.data();
    p.threads = threads;
    conv2d_forward(p);
    Conv2dBackwardParams q;
    q.s = s;
    q.x = x.data();
    q.w = w.data();
    q.dy = dy.data();
    q.dx = dx.data();
    q.dw = dw.data();
    q.db = db.data();
    q.threads = threads;
    conv2d_backward(q);
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

TEST_CASE(gradient_central_differences) {
  Conv2dShape a = layer(2, 3, 4, 6, 3, 2, 1);
  a.width = 5;
  a.kernel_w = 2;
  a.stride_w = 1;
  a.pad_w = 0;
  a.dilation_w = 2;
  Conv2dShape c = layer(1, 2, 3, 7, 2, 3, 2);
  c.dilation_h = 2;
  for (const Conv2dShape& s : {a, c}) {
    Vec x = randv(x_size(s)), w = randv(w_size(s)), b = randv(s.out_channels), g = randv(y_size(s));
    DVec xd(x.begin(), x.end()), wd(w.begin(), w.end()), bd(b.begin(), b.end());
    auto loss = [&]() {
      DVec y = conv_d(s, xd, wd, bd);
      double sum = 0;
      for (size_t i = 0; i < y.size(); ++i) sum += g[i] * y[i];
      return sum;
    };
    for (SimdLevel level : kLevels) {
      Vec dx(x.size()), dw(w.size()), db(b.size());
      Conv2dBackwardParams p;
      p.s = s;
      p.x = x.data();
      p.w = w.data();
      p.dy = g.data();
      p.dx = dx.data();
      p.dw = dw.data();
      p.db = db.data();
      conv2d_backward_at(level, p);
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
}

TEST_CASE(bad_arguments) {
  Conv2dShape s = layer(1, 2, 3, 4, 3, 1, 0);
  Vec x(x_size(s), 1.f), w(w_size(s), 1.f), y(64);
  Conv2dParams p;
  p.s = s;
  p.x = x.data();
  p.w = w.data();
  p.y = y.data();
  conv2d_forward(p);
  p.s.kernel_h = 5;  // 5 > 4 + 2 * 0
  EXPECT_THROW_CODE(conv2d_forward(p), ErrorCode::DimMismatch);
  p.s.pad_h = 1;  // 5 <= 6: fits
  Vec y2(1 * 3 * 2 * 2);
  p.y = y2.data();
  p.w = w.data();
  p.s.kernel_h = 3;
  p.s.dilation_w = 3;  // 7 > 4
  EXPECT_THROW_CODE(conv2d_forward(p), ErrorCode::DimMismatch);
  p.s = s;
  p.s.stride_w = 0;
  EXPECT_THROW_CODE(conv2d_forward(p), ErrorCode::InvalidArgument);
  p.s = s;
  p.s.pad_h = -1;
  EXPECT_THROW_CODE(conv2d_forward(p), ErrorCode::InvalidArgument);
  p.s = s;
  p.s.in_channels = 0;
  EXPECT_THROW_CODE(conv2d_forward(p), ErrorCode::DimMismatch);
  p.s = s;
  p.s.batch = int64_t(1) << 30;
  p.s.height = p.s.width = int64_t(1) << 10;
  EXPECT_THROW_CODE(conv2d_forward(p), ErrorCode::DimMismatch);  // sizes overflow
  p.s = s;
  p.y = nullptr;
  EXPECT_THROW_CODE(conv2d_forward(p), ErrorCode::InvalidArgument);
  p.y = y.data();
  x[5] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THROW_CODE(conv2d_forward(p), ErrorCode::NonFinite);
  x[5] = 0.f;
  w[2] = std::numeric_limits<float>::infinity();
  EXPECT_THROW_CODE(conv2d_forward(p), ErrorCode::NonFinite);
  w[2] = 0.f;
  Vec dy(y_size(s), 1.f), dx(x_size(s));
  Conv2dBackwardParams q;
  q.s = s;
  q.x = x.data();
  q.dy = dy.data();
  q.dx = dx.data();
  EXPECT_THROW_CODE(conv2d_backward(q), ErrorCode::InvalidArgument);  // dx without w
  q.w = w.data();
  dy[1] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THROW_CODE(conv2d_backward(q), ErrorCode::NonFinite);
  dy[1] = 0.f;
  conv2d_backward(q);
  Conv2dParams e = p;  // an empty batch writes nothing
  e.s.batch = 0;
  e.x = nullptr;
  e.y = nullptr;
  conv2d_forward(e);
  CHECK(true, "empty batch");
}

TEST_MAIN()
