// ThreadPool — the compute pool kernels run on.
// A fixed set of workers that spin briefly, then sleep, waiting for the next
// job; the calling thread takes part as thread 0. No allocation per job.
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

namespace cnai {

/// Number of physical cores (falls back to hardware_concurrency()).
int physical_core_count() noexcept;

class ThreadPool {
 public:
  /// n_threads <= 0 means physical_core_count().
  explicit ThreadPool(int n_threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const noexcept { return n_threads_; }

  /// Runs fn(thread_index, n_threads) once on each of the pool's threads (the
  /// caller is thread 0) and returns when all have finished. The first
  /// exception thrown by any thread is rethrown here. One caller at a time.
  template <class F>
  void run(F&& fn) {
    using Fn = std::remove_reference_t<F>;
    Job job{&fn, [](void* ctx, int i, int n) { (*static_cast<Fn*>(ctx))(i, n); }};
    dispatch(job);
  }

  /// Splits [0, n) into one contiguous range per thread, each a multiple of
  /// `grain` (except the last), and calls fn(begin, end) on each non-empty one.
  template <class F>
  void parallel_for(std::int64_t n, std::int64_t grain, F&& fn) {
    if (n <= 0) return;
    if (grain < 1) grain = 1;
    const std::int64_t chunks = (n + grain - 1) / grain;
    if (n_threads_ == 1 || chunks == 1) {
      fn(std::int64_t{0}, n);
      return;
    }
    run([&](int i, int nt) {
      const std::int64_t per = (chunks + nt - 1) / nt;
      const std::int64_t b = std::min<std::int64_t>(n, i * per * grain);
      const std::int64_t e = std::min<std::int64_t>(n, (i + 1) * per * grain);
      if (b < e) fn(b, e);
    });
  }

 private:
  struct Job {
    void* ctx;
    void (*call)(void*, int, int);
  };
  void dispatch(const Job& job);
  void worker_loop(int index);
  void run_job(const Job& job, int index) noexcept;

  int n_threads_;
  std::vector<std::thread> workers_;
  Job job_{};
  alignas(64) std::atomic<std::uint32_t> generation_{0};
  alignas(64) std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
  std::mutex error_mutex_;
  std::exception_ptr error_;
};

}  // namespace cnai
