// Fixtures of the GRU tests (test_temporal_gru.cpp, test_temporal_gru_stream.cpp): a random GRU's
// parameters, a random sequence batch (carry and mask optional), and the kernels' forward at a level.
#pragma once
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "fixtures.h"
#include "temporal/temporal.h"

namespace simsage_test {

// A GRU's parameters in float (what the kernels take) and double (what the reference takes).
struct Model {
  int64_t L, D, H;
  std::vector<Vec> t;
  std::vector<const float*> ptrs;
  Model(int64_t layers, int64_t d, int64_t h) : L(layers), D(d), H(h) {
    simsage::GruWeights w = shape();
    const float bound = 1.f / std::sqrt(static_cast<float>(H));
    std::uniform_real_distribution<float> u(-bound, bound);
    for (int64_t i = 0; i < 4 * L; ++i) {
      Vec v(static_cast<size_t>(simsage::gru_tensor_size(w, i)));
      for (auto& x : v) x = u(rng());
      t.push_back(v);
    }
    for (auto& v : t) ptrs.push_back(v.data());
  }
  simsage::GruWeights shape() const {
    simsage::GruWeights w;
    w.layers = L;
    w.input_size = D;
    w.hidden_size = H;
    return w;
  }
  simsage::GruWeights weights() const {
    simsage::GruWeights w = shape();
    w.tensors = ptrs.data();
    return w;
  }
};

// The inputs of one sequence batch (carry and mask optional).
struct Batch {
  int64_t B, T;
  Vec x, h0, carry;
  std::vector<uint8_t> mask;
  Batch(const Model& m, int64_t b, int64_t t, bool with_carry, bool with_mask) : B(b), T(t) {
    x = randv(static_cast<size_t>(B * T * m.D));
    h0 = randv(static_cast<size_t>(m.L * B * m.H), 0.5f);
    std::uniform_real_distribution<float> u(0.f, 1.f);
    if (with_carry) {
      carry.resize(static_cast<size_t>(B * T));
      for (auto& c : carry) {
        const float r = u(rng());
        c = r < 0.2f ? 0.f : (r < 0.4f ? 1.f : u(rng()));
      }
    }
    if (with_mask) {
      mask.resize(static_cast<size_t>(B * T));
      for (auto& k : mask) k = u(rng()) < 0.3f ? 0 : 1;
    }
  }
  const float* carry_ptr() const { return carry.empty() ? nullptr : carry.data(); }
  const uint8_t* mask_ptr() const { return mask.empty() ? nullptr : mask.data(); }
};

// One forward: y = [B, T, H], h_n = [L, B, H], the workspace the backward reads.
struct Forward {
  Vec y, hn, ws;
};

inline Forward run_forward(simsage::SimdLevel level, const Model& m, const Batch& bt, int threads = 0) {
  Forward f;
  f.y.assign(static_cast<size_t>(bt.B * bt.T * m.H), -7.f);
  f.hn.assign(static_cast<size_t>(m.L * bt.B * m.H), -7.f);
  f.ws.assign(static_cast<size_t>(simsage::gru_workspace_size(m.L, bt.B, bt.T, m.H)), 0.f);
  simsage::GruForwardParams p;
  p.w = m.weights();
  p.batch = bt.B;
  p.steps = bt.T;
  p.x = bt.x.data();
  p.h0 = bt.h0.data();
  p.carry = bt.carry_ptr();
  p.mask = bt.mask_ptr();
  p.y = f.y.data();
  p.h_n = f.hn.data();
  p.workspace = f.ws.data();
  p.threads = threads;
  simsage::gru_forward_at(level, p);
  return f;
}

}  // namespace simsage_test
