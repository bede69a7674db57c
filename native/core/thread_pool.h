// One process-wide pool of worker threads (the only pool simsage runs: two pools fighting over two
// cores make two threads slower than one). parallel_for runs tasks [0, n) on the calling thread
// plus up to threads-1 workers, schedules them dynamically, and rethrows the first exception on the
// calling thread. Concurrent parallel_for calls (e.g. two async searches) take turns on the pool;
// the caller of a job that has to wait simply runs its tasks alone rather than blocking.
#pragma once
#include <cstdint>
#include <functional>

namespace simsage {

// Cores available to this process (affinity mask aware), at least 1.
int available_cores();

// Default thread count for calls that do not pass one. Starts at available_cores();
// SIMSAGE_THREADS overrides at start-up.
int default_threads();
void set_default_threads(int threads);  // threads <= 0 resets to available_cores()

// Resolves a per-call request: <= 0 means default_threads(); clamped to [1, 256].
int resolve_threads(int requested);

// Runs fn(task, worker) for task in [0, n_tasks) on at most `threads` threads. `worker` is in
// [0, threads) and identifies the thread's scratch slot. Returns the number of threads used.
int parallel_for(int64_t n_tasks, int threads, const std::function<void(int64_t task, int worker)>& fn);

}  // namespace simsage
