#include "clients/deadline_guard.hpp"

namespace cnai::clients {

DeadlineGuard::DeadlineGuard(std::optional<Clock::time_point> deadline, const CancelToken* outer) : outer_(outer) {
  if (outer_) outer_callback_ = outer_->add_callback([this] { token_.cancel(); });
  if (!deadline) return;
  watcher_ = std::thread([this, when = *deadline] {
    std::unique_lock lock(mutex_);
    if (cv_.wait_until(lock, when, [this] { return done_; })) return;
    expired_ = true;
    lock.unlock();
    token_.cancel();
  });
}

DeadlineGuard::~DeadlineGuard() {
  {
    std::lock_guard lock(mutex_);
    done_ = true;
  }
  cv_.notify_all();
  if (watcher_.joinable()) watcher_.join();
  if (outer_) outer_->remove_callback(outer_callback_);
}

bool DeadlineGuard::expired() const {
  std::lock_guard lock(mutex_);
  return expired_;
}

}  // namespace cnai::clients
