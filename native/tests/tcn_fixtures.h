// Fixtures of the TCN tests (test_temporal_conv.cpp, test_temporal_stream.cpp): a temporal block's
// random weights and its params, and a random TCN (a stack of blocks) with its full-sequence forward.
#pragma once
#include <cstdint>
#include <vector>

#include "fixtures.h"
#include "temporal/temporal.h"

namespace simsage_test {

// One block: x = [B, T, I], conv weights [O, I, K] and [O, O, K], the 1x1 projection [O, I] when I != O.
struct BlockFixture {
  int64_t B, T, I, O, K, d;
  Vec x, w1, b1, w2, b2, wd, bd;
  BlockFixture(int64_t B_, int64_t T_, int64_t I_, int64_t O_, int64_t K_, int64_t d_)
      : B(B_), T(T_), I(I_), O(O_), K(K_), d(d_) {
    x = randv(B * T * I);
    w1 = randv(O * I * K, 0.5f);
    b1 = randv(O, 0.5f);
    w2 = randv(O * O * K, 0.5f);
    b2 = randv(O, 0.5f);
    if (I != O) {
      wd = randv(O * I, 0.5f);
      bd = randv(O, 0.5f);
    }
  }
  simsage::TemporalBlockParams params(float* a1, float* a2, float* y, float dropout, bool training) const {
    simsage::TemporalBlockParams p;
    p.batch = B;
    p.steps = T;
    p.in_channels = I;
    p.out_channels = O;
    p.kernel_size = K;
    p.dilation = d;
    p.x = x.data();
    p.w1 = w1.data();
    p.b1 = b1.data();
    p.w2 = w2.data();
    p.b2 = b2.data();
    p.wd = I != O ? wd.data() : nullptr;
    p.bd = I != O ? bd.data() : nullptr;
    p.dropout = dropout;
    p.training = training;
    p.seed = 1234;
    p.a1 = a1;
    p.a2 = a2;
    p.y = y;
    return p;
  }
};

// A random TCN and its full-sequence forward (eval) for one sequence.
struct Tcn {
  int64_t K;
  std::vector<BlockFixture> blocks;
  std::vector<simsage::TcnBlockWeights> weights() const {
    std::vector<simsage::TcnBlockWeights> w;
    for (const BlockFixture& f : blocks) {
      simsage::TcnBlockWeights b;
      b.in_channels = f.I;
      b.out_channels = f.O;
      b.dilation = f.d;
      b.w1 = f.w1.data();
      b.b1 = f.b1.data();
      b.w2 = f.w2.data();
      b.b2 = f.b2.data();
      b.wd = f.I != f.O ? f.wd.data() : nullptr;
      b.bd = f.I != f.O ? f.bd.data() : nullptr;
      w.push_back(b);
    }
    return w;
  }
  Vec forward(const Vec& x, int64_t T) const {
    Vec in = x;
    for (const BlockFixture& f : blocks) {
      const int64_t n = T * f.O;
      Vec a1(n), a2(n), y(n);
      simsage::TemporalBlockParams p = f.params(a1.data(), a2.data(), y.data(), 0.f, false);
      p.batch = 1;
      p.steps = T;
      p.x = in.data();
      simsage::temporal_block_forward(p);
      in = y;
    }
    return in;
  }
};

inline Tcn make_tcn(int64_t K, std::vector<int64_t> chans, std::vector<int64_t> dils) {
  Tcn t{K, {}};
  for (size_t i = 0; i + 1 < chans.size(); ++i) t.blocks.emplace_back(1, 1, chans[i], chans[i + 1], K, dils[i]);
  return t;
}

}  // namespace simsage_test
