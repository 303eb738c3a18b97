// ComputePool: a mutex-guarded deque and N threads.
#include "server/compute_pool.hpp"

namespace cnai::server {

ComputePool::ComputePool(int threads, std::size_t max_queued) : max_queued_(max_queued) {
  for (int i = 0; i < std::max(1, threads); ++i) threads_.emplace_back([this] { run(); });
}

ComputePool::~ComputePool() { shutdown(); }

void ComputePool::shutdown() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

bool ComputePool::try_submit(std::function<void()> job) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return false;
    // Idle threads take work at once; only waiting work counts against the bound.
    const std::size_t idle = threads_.size() - busy_;
    if (queue_.size() >= idle + max_queued_) return false;
    queue_.push_back(std::move(job));
  }
  cv_.notify_one();
  return true;
}

std::size_t ComputePool::queued() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

std::size_t ComputePool::busy() const {
  std::lock_guard lock(mutex_);
  return busy_;
}

void ComputePool::run() {
  std::unique_lock lock(mutex_);
  while (true) {
    cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, nothing left
    auto job = std::move(queue_.front());
    queue_.pop_front();
    ++busy_;
    lock.unlock();
    job();  // jobs catch their own exceptions
    lock.lock();
    --busy_;
  }
}

}  // namespace cnai::server
