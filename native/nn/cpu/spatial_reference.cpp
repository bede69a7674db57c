// Reference pooling and group norm (nn.h): direct window loops and double accumulation, the same
// checks as the fast paths. Ground truth for tests.
#include <cmath>
#include <cstdint>
#include <vector>

#include "nn/cpu/spatial_checks.h"
#include "nn/nn.h"

namespace simsage {

namespace {

using nn::cpu::PoolShape;

// fn(plane, oh, ow, h, w) for every real pixel of every window, windows in order, taps row-major.
template <class F>
void for_each_tap(const PoolShape& s, int64_t planes, const F& fn) {
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t oh = 0; oh < s.oh; ++oh)
      for (int64_t ow = 0; ow < s.ow; ++ow)
        for (int64_t i = 0; i < s.kh; ++i)
          for (int64_t j = 0; j < s.kw; ++j) {
            const int64_t h = oh * s.sh - s.ph + i, w = ow * s.sw - s.pw + j;
            if (h >= 0 && h < s.h && w >= 0 && w < s.w) fn(p, oh * s.ow + ow, h * s.w + w);
          }
}

}  // namespace

void max_pool2d_forward_reference(const Pool2dParams& p) {
  const PoolShape s = nn::cpu::pool_forward_check("max_pool2d_forward", p, true);
  const int64_t planes = p.batch * p.channels, in = s.h * s.w, out = s.oh * s.ow;
  for (int64_t i = 0; i < planes * out; ++i) p.argmax[i] = -1;
  for_each_tap(s, planes, [&](int64_t pl, int64_t o, int64_t i) {
    const float v = p.x[pl * in + i];
    int32_t& a = p.argmax[pl * out + o];
    if (a < 0 || v > p.y[pl * out + o]) {
      a = static_cast<int32_t>(i);
      p.y[pl * out + o] = v;
    }
  });
}

void avg_pool2d_forward_reference(const Pool2dParams& p) {
  const PoolShape s = nn::cpu::pool_forward_check("avg_pool2d_forward", p, false);
  const int64_t planes = p.batch * p.channels, in = s.h * s.w, out = s.oh * s.ow;
  std::vector<double> sum(static_cast<size_t>(planes * out), 0.0), cnt(sum.size(), 0.0);
  for_each_tap(s, planes, [&](int64_t pl, int64_t o, int64_t i) {
    sum[pl * out + o] += p.x[pl * in + i];
    cnt[pl * out + o] += 1;
  });
  for (size_t i = 0; i < sum.size(); ++i) p.y[i] = static_cast<float>(sum[i] / cnt[i]);
}

void max_pool2d_backward_reference(const Pool2dBackwardParams& p) {
  const PoolShape s = nn::cpu::pool_backward_check("max_pool2d_backward", p, true);
  const int64_t planes = p.shape.batch * p.shape.channels, in = s.h * s.w, out = s.oh * s.ow;
  for (int64_t i = 0; i < planes * in; ++i) p.dx[i] = 0.f;
  for (int64_t pl = 0; pl < planes; ++pl)
    for (int64_t o = 0; o < out; ++o)
      if (p.argmax[pl * out + o] >= 0) p.dx[pl * in + p.argmax[pl * out + o]] += p.dy[pl * out + o];
}

void avg_pool2d_backward_reference(const Pool2dBackwardParams& p) {
  const PoolShape s = nn::cpu::pool_backward_check("avg_pool2d_backward", p, false);
  const int64_t planes = p.shape.batch * p.shape.channels, in = s.h * s.w, out = s.oh * s.ow;
  std::vector<double> cnt(static_cast<size_t>(planes * out), 0.0), dx(static_cast<size_t>(planes * in), 0.0);
  for_each_tap(s, planes, [&](int64_t pl, int64_t o, int64_t) { cnt[pl * out + o] += 1; });
  for_each_tap(s, planes, [&](int64_t pl, int64_t o, int64_t i) {
    dx[pl * in + i] += static_cast<double>(p.dy[pl * out + o]) / cnt[pl * out + o];
  });
  for (size_t i = 0; i < dx.size(); ++i) p.dx[i] = static_cast<float>(dx[i]);
}

void group_norm_forward_reference(const GroupNormParams& p) {
  nn::cpu::group_norm_forward_check(p);
  const int64_t C = p.channels, G = p.groups, S = p.spatial, cg = C / G, n = cg * S;
  for (int64_t b = 0; b < p.batch; ++b)
    for (int64_t g = 0; g < G; ++g) {
      const int64_t base = (b * C + g * cg) * S;
      double mu = 0, var = 0;
      for (int64_t i = 0; i < n; ++i) mu += p.x[base + i];
      mu /= static_cast<double>(n);
      for (int64_t i = 0; i < n; ++i) var += (p.x[base + i] - mu) * (p.x[base + i] - mu);
      const double rs = 1.0 / std::sqrt(var / static_cast<double>(n) + p.eps);
      p.mean[b * G + g] = static_cast<float>(mu);
      p.rstd[b * G + g] = static_cast<float>(rs);
      for (int64_t i = 0; i < n; ++i) {
        const int64_t c = g * cg + i / S;
        const double xh = (p.x[base + i] - mu) * rs;
        p.y[base + i] = static_cast<float>(xh * (p.gamma ? p.gamma[c] : 1.f) + (p.beta ? p.beta[c] : 0.f));
      }
    }
}

void group_norm_backward_reference(const GroupNormBackwardParams& p) {
  nn::cpu::group_norm_backward_check(p);
  const int64_t C = p.channels, G = p.groups, S = p.spatial, cg = C / G, n = cg * S;
  std::vector<double> dgamma(static_cast<size_t>(C), 0.0), dbeta(static_cast<size_t>(C), 0.0);
  for (int64_t b = 0; b < p.batch; ++b)
    for (int64_t g = 0; g < G; ++g) {
      const int64_t base = (b * C + g * cg) * S;
      const double mu = p.mean[b * G + g], rs = p.rstd[b * G + g];
      double a = 0, bs = 0;
      for (int64_t i = 0; i < n; ++i) {
        const int64_t c = g * cg + i / S;
        const double xh = (p.x[base + i] - mu) * rs, d = p.dy[base + i], gv = d * (p.gamma ? p.gamma[c] : 1.f);
        a += gv;
        bs += gv * xh;
        dgamma[c] += d * xh;
        dbeta[c] += d;
      }
      a /= static_cast<double>(n);
      bs /= static_cast<double>(n);
      for (int64_t i = 0; i < n; ++i) {
        const int64_t c = g * cg + i / S;
        const double xh = (p.x[base + i] - mu) * rs, gv = p.dy[base + i] * (p.gamma ? p.gamma[c] : 1.f);
        p.dx[base + i] = static_cast<float>(rs * (gv - a - xh * bs));
      }
    }
  for (int64_t c = 0; c < C; ++c) {
    if (p.dgamma) p.dgamma[c] = static_cast<float>((p.accumulate ? p.dgamma[c] : 0.f) + dgamma[c]);
    if (p.dbeta) p.dbeta[c] = static_cast<float>((p.accumulate ? p.dbeta[c] : 0.f) + dbeta[c]);
  }
}

}  // namespace simsage
