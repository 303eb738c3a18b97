// ThreadPool — the compute pool kernels run on.
// A fixed set of workers that spin briefly, then sleep, waiting for the next
// job; the calling thread takes part. No allocation per job. A job's shares are
// claimed by whichever thread is free, so a descheduled worker (an
// oversubscribed machine) cannot stall the caller for a whole time slice.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

#include "cnai/core/error.hpp"

namespace cnai {

/// Physical cores this process may use: those of the CPUs in its affinity
/// mask (taskset, cpuset), at most its cgroup CPU quota rounded up (a
/// container's --cpus); hardware_concurrency() if none of that is readable.
int physical_core_count() noexcept;

class ThreadPool {
 public:
  /// n_threads <= 0 means physical_core_count(). Errors: invalid_argument
  /// above kMaxThreads; out_of_memory when a thread cannot be started (those
  /// already started are stopped first).
  explicit ThreadPool(int n_threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const noexcept { return n_threads_; }

  /// Callers that share one pool from several threads (contexts or engines
  /// of several models) take turns by holding this while they compute; run()
  /// itself refuses a concurrent caller.
  std::mutex& turn() noexcept { return turn_; }

  /// Runs fn(index, n_threads) once for each index in [0, n_threads), spread over
  /// the pool's threads (the caller included), and returns when all have
  /// finished. The first exception thrown is rethrown here. One caller at a
  /// time: a nested call (from inside fn) or a concurrent one (another thread)
  /// throws Error(invalid_argument) instead of hanging.
  template <class F>
  void run(F&& fn) {
    using Fn = std::remove_reference_t<F>;
    Job job{&fn, [](void* ctx, int i, int n) { (*static_cast<Fn*>(ctx))(i, n); }};
    dispatch(job);
  }

  /// Splits [0, n) into contiguous ranges, each a multiple of `grain` (except
  /// the last), and calls fn(begin, end) on each. Ranges (a few per thread) are
  /// handed out dynamically, so a slow or descheduled thread holds back little.
  template <class F>
  void parallel_for(std::int64_t n, std::int64_t grain, F&& fn) {
    if (n <= 0) return;
    if (grain < 1) grain = 1;
    const std::int64_t chunks = (n + grain - 1) / grain;
    if (n_threads_ == 1 || chunks == 1) {
      fn(std::int64_t{0}, n);
      return;
    }
    const std::int64_t pieces = std::min<std::int64_t>(chunks, std::int64_t{n_threads_} * kPiecesPerThread);
    const std::int64_t span = (chunks + pieces - 1) / pieces * grain;
    std::atomic<std::int64_t> next{0};
    run([&](int, int) {
      for (;;) {
        const std::int64_t b = next.fetch_add(1, std::memory_order_relaxed) * span;
        if (b >= n) return;
        fn(b, std::min(n, b + span));
      }
    });
  }

 static constexpr int kMaxThreads = 1024;

 private:
  static constexpr std::int64_t kPiecesPerThread = 4;
  struct Job {
    void* ctx;
    void (*call)(void*, int, int);
  };
  void dispatch(const Job& job);
  void worker_loop(int index);
  void run_job(const Job& job, int index) noexcept;
  void run_claimed(std::uint32_t gen) noexcept;
  void stop_workers() noexcept;

  int n_threads_;
  std::vector<std::thread> workers_;
  Job job_{};
  alignas(64) std::atomic<std::uint32_t> generation_{0};
  // (generation << 32) | next unclaimed index of the current job.
  alignas(64) std::atomic<std::uint64_t> claim_{0};
  alignas(64) std::atomic<int> done_{0};
  std::atomic<bool> stop_{false};
  std::atomic<bool> running_{false};  // a run() is in progress
  std::mutex error_mutex_;
  std::exception_ptr error_;
  std::mutex turn_;
};

}  // namespace cnai
