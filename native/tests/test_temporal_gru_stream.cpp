// The temporal family's GRU, streaming: gru_stream_step and GruStreamer (weights packed once) equal
// to the full forward at every SIMD level (streams stepped in subsets, masked steps skipped, with
// carry; many streams in several row chunks on 2 threads), the streamer's error codes, and state
// blobs (round trip, truncated, damaged, other model). (The forward, backward and bad arguments:
// test_temporal_gru.cpp; the shared model, batch and forward: gru_fixtures.h.)
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "fixtures.h"
#include "gru_fixtures.h"
#include "temporal/temporal.h"

using namespace simsage;
using namespace simsage_test;

TEST_CASE(streaming_equals_the_full_forward) {
  for (SimdLevel level : kLevels) {
    Model m(2, 5, 17);
    Batch bt(m, 4, 6, true, true);
    Forward f = run_forward(level, m, bt);
    const int64_t S = bt.B, L = m.L, H = m.H;
    Vec state(static_cast<size_t>(S * L * H));
    for (int64_t s = 0; s < S; ++s)
      for (int64_t l = 0; l < L; ++l) std::memcpy(&state[(s * L + l) * H], &bt.h0[(l * S + s) * H], sizeof(float) * H);
    double e = 0;
    for (int64_t t = 0; t < bt.T; ++t) {
      std::vector<int32_t> active;
      Vec x, carry;
      for (int64_t s = 0; s < S; ++s) {
        if (!bt.mask[s * bt.T + t]) continue;
        active.push_back(static_cast<int32_t>(s));
        x.insert(x.end(), &bt.x[(s * bt.T + t) * m.D], &bt.x[(s * bt.T + t + 1) * m.D]);
        carry.push_back(bt.carry[s * bt.T + t]);
      }
      Vec y(active.size() * H);
      GruStreamStepParams p;
      p.w = m.weights();
      p.streams = S;
      p.state = state.data();
      p.rows = static_cast<int64_t>(active.size());
      p.active = active.data();
      p.x = x.data();
      p.carry = carry.data();
      p.y = y.data();
      gru_stream_step_at(level, p);
      for (size_t r = 0; r < active.size(); ++r)
        for (int64_t j = 0; j < H; ++j)
          e = std::max(e, (double)std::fabs(y[r * H + j] - f.y[(active[r] * bt.T + t) * H + j]));
    }
    for (int64_t s = 0; s < S; ++s)
      for (int64_t l = 0; l < L; ++l)
        for (int64_t j = 0; j < H; ++j)
          e = std::max(e, (double)std::fabs(state[(s * L + l) * H + j] - f.hn[(l * S + s) * H + j]));
    CHECK(e < 1e-5, "%s: stream vs forward %g", simd_level_name(level), e);
  }
}

// GruStreamer (weights packed once, one streamer reused for every step and level) against the full
// forward: one stream, and many streams in several row chunks on 2 threads, stepped in subsets
// (masked steps skipped) with carry. The caller's weights are overwritten after construction: the
// snapshot must not see it.
TEST_CASE(streamer_equals_the_full_forward) {
  struct Shape {
    int64_t L, D, H, S;
    int threads;
  };
  for (const Shape& sh :
       {Shape{2, 5, 17, 1, 1}, Shape{1, 128, 128, 1, 1}, Shape{2, 33, 40, 150, 2}, Shape{1, 128, 128, 70, 2}}) {
    Model m(sh.L, sh.D, sh.H);
    Batch bt(m, sh.S, 5, true, true);
    Model caller = m;
    caller.ptrs.clear();
    for (auto& v : caller.t) caller.ptrs.push_back(v.data());
    GruStreamer streamer(caller.weights());
    for (auto& v : caller.t) std::fill(v.begin(), v.end(), 9.f);
    for (SimdLevel level : kLevels) {
      Forward f = run_forward(level, m, bt);
      const int64_t S = bt.B, L = m.L, H = m.H;
      Vec state(static_cast<size_t>(S * L * H));
      for (int64_t s = 0; s < S; ++s)
        for (int64_t l = 0; l < L; ++l)
          std::memcpy(&state[(s * L + l) * H], &bt.h0[(l * S + s) * H], sizeof(float) * H);
      double e = 0;
      for (int64_t t = 0; t < bt.T; ++t) {
        std::vector<int32_t> active;
        Vec x, carry;
        for (int64_t s = S - 1; s >= 0; --s) {  // reversed: row order differs from stream order
          if (!bt.mask[s * bt.T + t]) continue;
          active.push_back(static_cast<int32_t>(s));
          x.insert(x.end(), &bt.x[(s * bt.T + t) * m.D], &bt.x[(s * bt.T + t + 1) * m.D]);
          carry.push_back(bt.carry[s * bt.T + t]);
        }
        Vec y(active.size() * H, -7.f);
        GruStreamStepParams p;  // p.w left empty: the streamer uses its snapshot
        p.streams = S;
        p.state = state.data();
        p.rows = static_cast<int64_t>(active.size());
        p.active = active.data();
        p.x = x.data();
        p.carry = carry.data();
        p.y = y.data();
        p.threads = sh.threads;
        streamer.step_at(level, p);
        for (size_t r = 0; r < active.size(); ++r)
          for (int64_t j = 0; j < H; ++j)
            e = std::max(e, (double)std::fabs(y[r * H + j] - f.y[(active[r] * bt.T + t) * H + j]));
      }
      for (int64_t s = 0; s < S; ++s)
        for (int64_t l = 0; l < L; ++l)
          for (int64_t j = 0; j < H; ++j)
            e = std::max(e, (double)std::fabs(state[(s * L + l) * H + j] - f.hn[(l * S + s) * H + j]));
      CHECK(e < 1e-5, "%s L%lld D%lld H%lld S%lld: streamer vs forward %g", simd_level_name(level), (long long)sh.L,
            (long long)sh.D, (long long)sh.H, (long long)sh.S, e);
    }
    CHECK(streamer.native_bytes() > 0, "native_bytes");
  }
  // Every stream without active indices, and the error codes of a streamer.
  Model m(1, 4, 8);
  GruStreamer streamer(m.weights());
  Vec state(3 * 8), x(3 * 4, 0.5f), y(3 * 8);
  GruStreamStepParams p;
  p.streams = 3;
  p.state = state.data();
  p.rows = 3;
  p.x = x.data();
  p.y = y.data();
  streamer.step(p);
  Vec state2(3 * 8), y2(3 * 8);
  p.w = m.weights();
  p.state = state2.data();
  p.y = y2.data();
  gru_stream_step(p);
  CHECK(y == y2 && state == state2, "streamer and gru_stream_step differ");
  p.rows = 2;
  EXPECT_THROW_CODE(streamer.step(p), ErrorCode::DimMismatch);
  const int32_t twice[2] = {1, 1};
  p.active = twice;
  EXPECT_THROW_CODE(streamer.step(p), ErrorCode::InvalidArgument);
  p.active = nullptr;
  p.rows = 3;
  x[5] = std::nanf("");
  EXPECT_THROW_CODE(streamer.step(p), ErrorCode::NonFinite);
  std::vector<const float*> nulls(m.ptrs);
  nulls[1] = nullptr;
  GruWeights bad = m.weights();
  bad.tensors = nulls.data();
  EXPECT_THROW_CODE(GruStreamer{bad}, ErrorCode::InvalidArgument);
  bad = m.weights();
  bad.hidden_size = 0;
  EXPECT_THROW_CODE(GruStreamer{bad}, ErrorCode::DimMismatch);
}

TEST_CASE(state_blobs_round_trip_and_reject_bad_ones) {
  Model m(2, 3, 5);
  const GruWeights w = m.weights();
  const Vec state = randv(static_cast<size_t>(m.L * m.H));
  std::vector<uint8_t> blob(gru_state_bytes(w));
  gru_state_save(w, state.data(), blob.data());
  Vec back(state.size(), 0.f);
  gru_state_restore(w, blob.data(), blob.size(), back.data());
  CHECK(back == state, "round trip changed the state");

  Vec untouched(state.size(), 3.f);
  EXPECT_THROW_CODE(gru_state_restore(w, blob.data(), blob.size() - 1, untouched.data()), ErrorCode::CorruptFile);
  EXPECT_THROW_CODE(gru_state_restore(w, blob.data(), 10, untouched.data()), ErrorCode::CorruptFile);
  EXPECT_THROW_CODE(gru_state_restore(w, blob.data(), 0, untouched.data()), ErrorCode::CorruptFile);
  for (size_t at : {size_t(0), size_t(5), size_t(9), size_t(30), blob.size() - 1}) {
    std::vector<uint8_t> bad = blob;
    bad[at] ^= 0x10;
    EXPECT_THROW_CODE(gru_state_restore(w, bad.data(), bad.size(), untouched.data()), ErrorCode::CorruptFile);
  }
  CHECK(untouched == Vec(state.size(), 3.f), "a failed restore wrote the state");

  for (auto shape : {std::vector<int64_t>{1, 3, 10}, {2, 4, 5}, {1, 3, 5}, {2, 3, 6}}) {
    Model other(shape[0], shape[1], shape[2]);
    const GruWeights ow = other.weights();
    Vec os(static_cast<size_t>(other.L * other.H), 0.f);
    EXPECT_THROW_CODE(gru_state_restore(ow, blob.data(), blob.size(), os.data()), ErrorCode::StateMismatch);
  }
}

TEST_MAIN()
