// The one chunked parallel loop of the kernel families: [0, n) cut into chunks of `chunk` items
// (the last one shorter), fn(begin, end, worker) per chunk on the thread pool (thread_pool.h).
// Chunk boundaries depend on n and chunk only, never on the thread count, so per-chunk results
// land and reduce the same way on every machine. `worker` is in [0, threads) and names the thread's
// scratch slot. With one chunk or one thread the chunks run in order on the calling thread, without
// a pool hand-off. Returns the number of threads used (0 when n <= 0).
#pragma once
#include <cstdint>

#include "core/thread_pool.h"

namespace simsage {

template <class F>
int parallel_chunks(int64_t n, int64_t chunk, int threads, const F& fn) {
  if (n <= 0) return 0;
  const int64_t tasks = (n + chunk - 1) / chunk;
  if (tasks == 1 || resolve_threads(threads) == 1) {
    for (int64_t b = 0; b < n; b += chunk) fn(b, b + chunk < n ? b + chunk : n, 0);
    return 1;
  }
  return parallel_for(tasks, threads, [&](int64_t t, int worker) {
    const int64_t b = t * chunk;
    fn(b, b + chunk < n ? b + chunk : n, worker);
  });
}

}  // namespace simsage
