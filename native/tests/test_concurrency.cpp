// Concurrency of the shared pieces, for the ThreadSanitizer build (npm run test:tsan) as much as for
// the plain one: searches racing add/remove/reserve/export on one VectorStore (the reader/writer
// lock), concurrent parallel_for calls from several threads on the one pool, and searches with
// several threads each. Every search result must be a consistent snapshot: ids present, distinct,
// sorted by score.
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <random>
#include <thread>
#include <vector>

#include "check.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "similarity/similarity.h"

using namespace simsage;

namespace {
// Vectors of id i are all equal to i + 1 (dim values), so a search result can be checked without
// knowing which mutations happened: under ip with an all-ones query, score = dim * (id + 1).
std::vector<float> rows_for(const std::vector<int64_t>& ids, int64_t dim) {
  std::vector<float> v(ids.size() * dim);
  for (size_t i = 0; i < ids.size(); ++i)
    for (int64_t d = 0; d < dim; ++d) v[i * dim + d] = static_cast<float>(ids[i] + 1);
  return v;
}
}  // namespace

TEST_CASE(searches_race_mutations_on_one_store) {
  const int64_t dim = 8, k = 5;
  VectorStore s(dim, Metric::InnerProduct);
  std::vector<int64_t> seed_ids;
  for (int64_t i = 0; i < 64; ++i) seed_ids.push_back(i);
  auto seed = rows_for(seed_ids, dim);
  s.add(seed_ids.data(), seed.data(), static_cast<int64_t>(seed_ids.size()));

  std::atomic<bool> stop{false};
  std::atomic<int> bad{0}, searches{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&, t] {
      std::vector<float> q(dim * 2, 1.f);
      std::vector<int64_t> ids(2 * k);
      std::vector<float> scores(2 * k);
      std::vector<int32_t> counts(2);
      std::vector<int64_t> deny = {3, 5};
      while (!stop.load()) {
        TopkParams p;
        p.queries = q.data();
        p.nq = 2;
        p.dim = dim;
        p.k = k;
        p.threads = 1 + t % 2;
        p.out_ids = ids.data();
        p.out_scores = scores.data();
        p.out_counts = counts.data();
        FilterSpec f;
        f.deny = deny.data();
        f.n_deny = 2;
        s.search(p, f);
        for (int qi = 0; qi < 2; ++qi)
          for (int j = 0; j < counts[qi]; ++j) {
            const int64_t id = ids[qi * k + j];
            const float sc = scores[qi * k + j];
            if (id < 0 || id == 3 || id == 5 || sc != static_cast<float>(dim * (id + 1))) ++bad;
            if (j > 0 && !(scores[qi * k + j - 1] >= sc)) ++bad;
          }
        ++searches;
      }
    });
  }
  std::mt19937_64 rng(7);
  for (int step = 0; step < 300; ++step) {
    std::vector<int64_t> ids;
    for (int i = 0; i < 8; ++i) ids.push_back(static_cast<int64_t>(rng() % 200));
    auto v = rows_for(ids, dim);
    switch (step % 4) {
      case 0:
      case 1:
        s.add(ids.data(), v.data(), static_cast<int64_t>(ids.size()));
        break;
      case 2:
        s.remove(ids.data(), static_cast<int64_t>(ids.size()));
        break;
      default: {
        s.reserve(s.size() + 64);
        std::vector<float> out(static_cast<size_t>(s.size() + 64) * dim);
        std::vector<int64_t> out_ids(static_cast<size_t>(s.size() + 64));
        s.export_rows(out.data(), out_ids.data(), static_cast<int64_t>(out_ids.size()));
        break;
      }
    }
    CHECK(s.has(ids[0]) || step % 4 == 2 || step % 4 == 3, "id %lld missing after add", (long long)ids[0]);
  }
  // On a loaded machine the readers may not have been scheduled yet: give them up to 60 s to run
  // at least one search before stopping them.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (searches.load() == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  stop = true;
  for (auto& t : readers) t.join();
  CHECK(bad.load() == 0, "%d inconsistent results in %d searches", bad.load(), searches.load());
  CHECK(searches.load() > 0, "no search ran");
}

TEST_CASE(parallel_for_from_several_threads) {
  std::vector<std::thread> callers;
  std::atomic<int> bad{0};
  for (int c = 0; c < 4; ++c) {
    callers.emplace_back([&, c] {
      for (int rep = 0; rep < 50; ++rep) {
        std::vector<std::atomic<int>> hits(257);
        parallel_for(257, 1 + (c + rep) % 4, [&](int64_t task, int) { hits[task].fetch_add(1); });
        for (auto& h : hits)
          if (h.load() != 1) ++bad;
      }
    });
  }
  for (auto& t : callers) t.join();
  CHECK(bad.load() == 0, "%d tasks not run exactly once", bad.load());
}

TEST_CASE(parallel_for_errors_from_several_threads) {
  std::vector<std::thread> callers;
  std::atomic<int> caught{0};
  for (int c = 0; c < 3; ++c) {
    callers.emplace_back([&] {
      for (int rep = 0; rep < 30; ++rep) {
        try {
          parallel_for(64, 3, [&](int64_t task, int) {
            if (task == 17) throw_error(ErrorCode::InvalidArgument, "task 17");
          });
        } catch (const Error&) {
          ++caught;
        }
      }
    });
  }
  for (auto& t : callers) t.join();
  CHECK(caught.load() == 90, "%d of 90 errors reached their caller", caught.load());
}

TEST_MAIN()
