// Temporal family, the TCN streamer (TcnStreamer): streaming equal to the full forward for random
// lengths and stream subsets at every SIMD level, the one-row step path equal to the batched path,
// state round trip and bad blobs, reset. (The conv and block tests, and the bad arguments of conv,
// block and streamer: test_temporal_conv.cpp; the shared block and TCN fixtures: tcn_fixtures.h.)
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "core/error.h"
#include "fixtures.h"
#include "tcn_fixtures.h"
#include "temporal/temporal.h"

using namespace simsage;
using namespace simsage_test;

TEST_CASE(stream_equals_full_forward) {
  for (SimdLevel level : kLevels) {
    Tcn tcn = make_tcn(3, {5, 8, 8, 3}, {1, 2, 5});
    const int64_t S = 7, I = 5, O = 3;
    std::uniform_int_distribution<int> len(1, 40);
    std::vector<int64_t> T(S);
    std::vector<Vec> xs(S), full(S);
    for (int64_t s = 0; s < S; ++s) {
      T[s] = len(rng());
      xs[s] = randv(T[s] * I);
      full[s] = tcn.forward(xs[s], T[s]);
    }
    TcnStreamer st(3, tcn.weights(), S);
    std::vector<int64_t> at(S, 0);
    std::bernoulli_distribution coin(0.6);
    double worst = 0;
    bool all_steps = true;
    for (int round = 0; round < 1000; ++round) {
      std::vector<int32_t> active;
      for (int64_t s = 0; s < S; ++s)
        if (at[s] < T[s] && (all_steps || coin(rng()))) active.push_back(static_cast<int32_t>(s));
      if (active.empty()) {
        bool done = true;
        for (int64_t s = 0; s < S; ++s) done = done && at[s] == T[s];
        if (done) break;
        continue;
      }
      std::shuffle(active.begin(), active.end(), rng());
      const int64_t rows = static_cast<int64_t>(active.size());
      Vec x(rows * I), y(rows * O);
      for (int64_t r = 0; r < rows; ++r) std::memcpy(&x[r * I], &xs[active[r]][at[active[r]] * I], sizeof(float) * I);
      if (rows == S && round == 0) {
        // first round: every stream, rows in stream order without indices
        std::sort(active.begin(), active.end());
        for (int64_t r = 0; r < rows; ++r) std::memcpy(&x[r * I], &xs[r][0], sizeof(float) * I);
        st.step_at(level, x.data(), rows, nullptr, y.data());
      } else {
        st.step_at(level, x.data(), rows, active.data(), y.data());
      }
      for (int64_t r = 0; r < rows; ++r) {
        const int64_t s = active[r];
        for (int64_t o = 0; o < O; ++o) {
          const float want = full[s][at[s] * O + o];
          worst = std::max(worst, static_cast<double>(std::fabs(y[r * O + o] - want)) / std::max(1.f, std::fabs(want)));
        }
        ++at[s];
      }
      all_steps = false;
    }
    for (int64_t s = 0; s < S; ++s) CHECK(st.position(s) == T[s], "stream %lld position", (long long)s);
    CHECK(worst <= 1e-5, "level %d: stream vs forward worst %g", static_cast<int>(level), worst);
  }
}

// The one-row step (each stream alone: the in-place short-row path of the conv kernel, unpacked A)
// against the same steps taken by all streams in one call (packed register tiles), at every level,
// with a reduction longer than one K block (3 taps x 300 channels > kKc) and odd widths.
TEST_CASE(stream_one_row_path_equals_batched_path) {
  for (SimdLevel level : kLevels) {
    Tcn tcn = make_tcn(3, {300, 37, 37}, {1, 3});
    const int64_t S = 13, I = 300, O = 37, T = 9;
    TcnStreamer together(3, tcn.weights(), S), alone(3, tcn.weights(), S);
    double worst = 0;
    for (int64_t t = 0; t < T; ++t) {
      Vec x = randv(S * I), ya(S * O), yb(O);
      together.step_at(level, x.data(), S, nullptr, ya.data(), 1);
      const double scale = std::max(1.f, max_abs(ya));  // sums of 900 terms cancel: relative to the step's scale
      for (int32_t s = 0; s < S; ++s) {
        alone.step_at(level, &x[s * I], 1, &s, yb.data(), 2);
        for (int64_t o = 0; o < O; ++o)
          worst = std::max(worst, static_cast<double>(std::fabs(yb[o] - ya[s * O + o])) / scale);
      }
    }
    CHECK(worst <= 1e-5, "level %d: one-row steps vs batched steps worst %g", static_cast<int>(level), worst);
  }
}

TEST_CASE(stream_state_round_trip_and_bad_blobs) {
  Tcn tcn = make_tcn(2, {4, 6, 6}, {1, 3});
  const int64_t S = 3, I = 4, O = 6;
  TcnStreamer a(2, tcn.weights(), S), b(2, tcn.weights(), S);
  Vec x = randv(20 * S * I), ya(S * O), yb(S * O);
  for (int t = 0; t < 5; ++t) a.step(&x[t * S * I], S, nullptr, ya.data());
  std::vector<uint8_t> blob = a.save(1);
  CHECK(blob.size() == a.state_size(), "size");
  b.restore(2, blob.data(), blob.size());
  CHECK(b.position(2) == 5, "position restored");
  int32_t ia = 1, ib = 2;
  for (int t = 5; t < 12; ++t) {
    a.step(&x[t * S * I], 1, &ia, ya.data());
    b.step(&x[t * S * I], 1, &ib, yb.data());
    CHECK(std::memcmp(ya.data(), yb.data(), sizeof(float) * O) == 0, "restored stream continues identically at %d", t);
  }
  // Truncated, corrupted, other model's.
  EXPECT_THROW_CODE(b.restore(0, blob.data(), blob.size() - 1), ErrorCode::CorruptFile);
  EXPECT_THROW_CODE(b.restore(0, blob.data(), 10), ErrorCode::CorruptFile);
  std::vector<uint8_t> bad = blob;
  bad[bad.size() / 2] ^= 0x10;
  EXPECT_THROW_CODE(b.restore(0, bad.data(), bad.size()), ErrorCode::CorruptFile);
  Tcn other = make_tcn(2, {4, 6, 6}, {1, 4});
  TcnStreamer c(2, other.weights(), S);
  std::vector<uint8_t> foreign = c.save(0);
  EXPECT_THROW_CODE(b.restore(0, foreign.data(), foreign.size()), ErrorCode::StateMismatch);
  EXPECT_THROW_CODE(b.restore(3, blob.data(), blob.size()), ErrorCode::InvalidArgument);
  // reset: back to the first step's output
  TcnStreamer fresh(2, tcn.weights(), S);
  Vec y1(S * O), y2(S * O);
  fresh.step(x.data(), S, nullptr, y1.data());
  a.reset_all();
  a.step(x.data(), S, nullptr, y2.data());
  CHECK(y1 == y2, "reset_all");
}

TEST_MAIN()
