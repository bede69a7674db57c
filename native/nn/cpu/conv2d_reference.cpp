// The reference 2-D convolution (nn.h): direct loops over the definition with double accumulation.
// Ground truth for tests.
#include <cstdint>
#include <vector>

#include "nn/nn.h"

namespace simsage {

namespace {

// Calls fn(o, x_index, w_index, y_index) for every term of the convolution whose input
// lies inside the image.
template <class F>
void for_each_term(const Conv2dShape& s, const F& fn) {
  const int64_t oh = s.out_h(), ow = s.out_w();
  for (int64_t b = 0; b < s.batch; ++b)
    for (int64_t o = 0; o < s.out_channels; ++o)
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j)
          for (int64_t c = 0; c < s.in_channels; ++c)
            for (int64_t kh = 0; kh < s.kernel_h; ++kh) {
              const int64_t u = i * s.stride_h - s.pad_h + kh * s.dilation_h;
              if (u < 0 || u >= s.height) continue;
              for (int64_t kw = 0; kw < s.kernel_w; ++kw) {
                const int64_t v = j * s.stride_w - s.pad_w + kw * s.dilation_w;
                if (v < 0 || v >= s.width) continue;
                const int64_t xi = ((b * s.in_channels + c) * s.height + u) * s.width + v;
                const int64_t wi = ((o * s.in_channels + c) * s.kernel_h + kh) * s.kernel_w + kw;
                const int64_t yi = ((b * s.out_channels + o) * oh + i) * ow + j;
                fn(o, xi, wi, yi);
              }
            }
}

}  // namespace

void conv2d_reference(const Conv2dParams& p) {
  conv2d_check(p);
  const Conv2dShape& s = p.s;
  const int64_t per_image = s.out_h() * s.out_w();
  std::vector<double> y(static_cast<size_t>(s.batch * s.out_channels * per_image));
  for (int64_t b = 0; b < s.batch; ++b)
    for (int64_t o = 0; o < s.out_channels; ++o)
      for (int64_t q = 0; q < per_image; ++q) y[(b * s.out_channels + o) * per_image + q] = p.b ? p.b[o] : 0.0;
  for_each_term(s,
                [&](int64_t, int64_t xi, int64_t wi, int64_t yi) { y[yi] += static_cast<double>(p.w[wi]) * p.x[xi]; });
  for (size_t i = 0; i < y.size(); ++i) p.y[i] = static_cast<float>(y[i]);
}

void conv2d_backward_reference(const Conv2dBackwardParams& p) {
  conv2d_backward_check(p);
  const Conv2dShape& s = p.s;
  const int64_t per_image = s.out_h() * s.out_w();
  std::vector<double> dx(p.dx ? static_cast<size_t>(s.batch * s.in_channels * s.height * s.width) : 0);
  std::vector<double> dw(static_cast<size_t>(s.out_channels * s.in_channels * s.kernel_h * s.kernel_w));
  std::vector<double> db(static_cast<size_t>(s.out_channels));
  for (int64_t b = 0; b < s.batch; ++b)
    for (int64_t o = 0; o < s.out_channels; ++o)
      for (int64_t q = 0; q < per_image; ++q) db[o] += p.dy[(b * s.out_channels + o) * per_image + q];
  for_each_term(s, [&](int64_t, int64_t xi, int64_t wi, int64_t yi) {
    if (p.dx) dx[xi] += static_cast<double>(p.w[wi]) * p.dy[yi];
    if (p.dw) dw[wi] += static_cast<double>(p.x[xi]) * p.dy[yi];
  });
  for (size_t i = 0; i < dx.size(); ++i) p.dx[i] = static_cast<float>(dx[i]);
  if (p.dw)
    for (size_t i = 0; i < dw.size(); ++i) p.dw[i] = static_cast<float>((p.accumulate ? p.dw[i] : 0.0) + dw[i]);
  if (p.db)
    for (size_t i = 0; i < db.size(); ++i) p.db[i] = static_cast<float>((p.accumulate ? p.db[i] : 0.0) + db[i]);
}

}  // namespace simsage
