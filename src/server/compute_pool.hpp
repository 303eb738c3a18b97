// The threads that run Backend calls for the server, with a bounded queue:
// a request that finds the queue full is refused (429) instead of waiting,
// and no I/O thread ever runs one.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace cnai::server {

class ComputePool {
 public:
  ComputePool(int threads, std::size_t max_queued);
  ~ComputePool();  // shutdown()
  /// Runs what is queued, then joins the threads; try_submit refuses after it.
  void shutdown();
  ComputePool(const ComputePool&) = delete;
  ComputePool& operator=(const ComputePool&) = delete;

  /// False (and `job` dropped) when max_queued jobs are already waiting.
  bool try_submit(std::function<void()> job);
  std::size_t queued() const;
  std::size_t busy() const;
  int threads() const { return static_cast<int>(threads_.size()); }

 private:
  void run();
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  std::size_t max_queued_;
  std::size_t busy_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace cnai::server
