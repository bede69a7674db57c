#include "core/thread_pool.h"

#include <sched.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "core/error.h"

namespace simsage {
namespace {

int detect_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  unsigned hc = std::thread::hardware_concurrency();
  return hc > 0 ? static_cast<int>(hc) : 1;
}

int initial_threads() {
  if (const char* env = std::getenv("SIMSAGE_THREADS")) {
    int v = std::atoi(env);
    if (v > 0) return v > 256 ? 256 : v;
  }
  return detect_cores();
}

std::atomic<int> g_default_threads{0};

// How long a worker keeps polling for the next job after one ends, and the caller polls for its
// helpers to finish, before sleeping on a condition variable. A futex wake-up costs 10-20 us on
// these machines, more than a small parallel region (a streaming step runs a dozen of them back to
// back); polling keeps the worker on hand for the next region. Bounded, so an idle pool sleeps.
// SIMSAGE_SPIN_US overrides it at start-up (0: sleep at once, e.g. under a CPU quota smaller
// than the cores the affinity mask shows).
std::chrono::microseconds spin_time() {
  static const std::chrono::microseconds t = [] {
    if (const char* env = std::getenv("SIMSAGE_SPIN_US")) {
      const int v = std::atoi(env);
      if (v >= 0) return std::chrono::microseconds(v > 10000 ? 10000 : v);
    }
    return std::chrono::microseconds(50);
  }();
  return t;
}

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Polls pred() for at most kSpin; true as soon as it holds.
template <class P>
bool spin_until(const P& pred) {
  if (spin_time().count() == 0) return pred();
  const auto end = std::chrono::steady_clock::now() + spin_time();
  for (int i = 0;; ++i) {
    if (pred()) return true;
    cpu_relax();
    if ((i & 63) == 63 && std::chrono::steady_clock::now() >= end) return pred();
  }
}

// A job shared by the caller and the workers that joined it.
struct Job {
  const std::function<void(int64_t, int)>* fn = nullptr;
  int64_t n_tasks = 0;
  std::atomic<int64_t> next{0};
  std::atomic<int> next_worker_slot{1};  // slot 0 is the caller
  int max_helpers = 0;
  std::atomic<int> helpers_joined{0};
  std::atomic<int> active{0};
  std::mutex err_mu;
  std::exception_ptr error;

  void run(int slot) {
    for (;;) {
      int64_t t = next.fetch_add(1, std::memory_order_relaxed);
      if (t >= n_tasks) break;
      try {
        (*fn)(t, slot);
      } catch (...) {
        std::lock_guard<std::mutex> lk(err_mu);
        if (!error) error = std::current_exception();
        next.store(n_tasks, std::memory_order_relaxed);  // stop handing out tasks
      }
    }
  }
};

class Pool {
 public:
  static Pool& instance() {
    static Pool* pool = new Pool();  // never destroyed: workers may outlive static destruction
    return *pool;
  }

  int run(int64_t n_tasks, int threads, const std::function<void(int64_t, int)>& fn) {
    if (n_tasks <= 0) return 0;
    if (threads > n_tasks) threads = static_cast<int>(n_tasks);
    Job job;
    job.fn = &fn;
    job.n_tasks = n_tasks;
    job.max_helpers = threads - 1;
    bool shared = false;
    if (threads > 1) {
      std::unique_lock<std::mutex> lk(mu_, std::try_to_lock);
      if (lk.owns_lock() && current_ == nullptr) {
        ensure_workers(threads - 1);
        current_ = &job;
        ++generation_;
        published_.store(generation_, std::memory_order_release);
        shared = true;
        cv_.notify_all();
      }
    }
    job.run(0);
    if (shared) {
      {
        std::lock_guard<std::mutex> lk(mu_);
        current_ = nullptr;  // no new helper may join; `active` only falls from here
      }
      if (!spin_until([&] { return job.active.load(std::memory_order_acquire) == 0; })) {
        std::unique_lock<std::mutex> lk(mu_);
        done_cv_.wait(lk, [&] { return job.active.load() == 0; });
      }
    }
    if (job.error) std::rethrow_exception(job.error);
    return shared ? 1 + job.helpers_joined.load() : 1;
  }

 private:
  void ensure_workers(int n) {
    while (static_cast<int>(workers_.size()) < n) {
      workers_.emplace_back([this] { worker_loop(); });
      workers_.back().detach();
    }
  }

  void worker_loop() {
    uint64_t seen = 0;
    std::unique_lock<std::mutex> lk(mu_);
    for (;;) {
      if (generation_ == seen) {
        lk.unlock();
        spin_until([&] { return published_.load(std::memory_order_acquire) != seen; });
        lk.lock();
      }
      cv_.wait(lk, [&] { return current_ != nullptr && generation_ != seen; });
      seen = generation_;
      Job* job = current_;
      if (job->helpers_joined.load() >= job->max_helpers) continue;
      job->helpers_joined.fetch_add(1);
      int slot = job->next_worker_slot.fetch_add(1);
      job->active.fetch_add(1);
      lk.unlock();
      job->run(slot);
      lk.lock();
      if (job->active.fetch_sub(1, std::memory_order_acq_rel) == 1) done_cv_.notify_all();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable done_cv_;
  Job* current_ = nullptr;
  uint64_t generation_ = 0;
  std::atomic<uint64_t> published_{0};  // generation_, readable without mu_ (the workers' polling)
  std::vector<std::thread> workers_;
};

}  // namespace

int available_cores() {
  static const int cores = detect_cores();
  return cores;
}

int default_threads() {
  int v = g_default_threads.load();
  if (v <= 0) {
    v = initial_threads();
    g_default_threads.store(v);
  }
  return v;
}

void set_default_threads(int threads) {
  if (threads > 256) throw_error(ErrorCode::InvalidArgument, "threads must be at most 256");
  g_default_threads.store(threads <= 0 ? available_cores() : threads);
}

int resolve_threads(int requested) {
  int t = requested <= 0 ? default_threads() : requested;
  return t < 1 ? 1 : (t > 256 ? 256 : t);
}

int parallel_for(int64_t n_tasks, int threads, const std::function<void(int64_t, int)>& fn) {
  return Pool::instance().run(n_tasks, resolve_threads(threads), fn);
}

}  // namespace simsage
