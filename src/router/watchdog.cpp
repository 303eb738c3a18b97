#include "router/watchdog.hpp"

#include <algorithm>

namespace cnai::router {

Watchdog::~Watchdog() {
  if (thread_.joinable()) {
    thread_.request_stop();
    cv_.notify_all();
    thread_.join();
  }
}

void Watchdog::add(Watch* w) {
  {
    std::lock_guard lock(mutex_);
    watches_.insert(w);
    ++generation_;
    if (!thread_.joinable()) thread_ = std::jthread([this](std::stop_token s) { loop(s); });
  }
  cv_.notify_one();
}

void Watchdog::remove(Watch* w) {
  std::lock_guard lock(mutex_);
  watches_.erase(w);
}

void Watchdog::loop(std::stop_token stop) {
  std::unique_lock lock(mutex_);
  while (!stop.stop_requested()) {
    const auto now = Clock::now();
    const std::int64_t now_ns = now.time_since_epoch().count();
    std::int64_t earliest = (now + std::chrono::seconds(1)).time_since_epoch().count();
    for (Watch* w : watches_) {
      if (w->fired.load(std::memory_order_relaxed)) continue;
      const std::int64_t d = w->deadline_ns.load(std::memory_order_relaxed);
      if (d <= 0) continue;
      if (d <= now_ns) {
        w->fired.store(true, std::memory_order_release);
        w->source.request_stop();
      } else {
        earliest = std::min(earliest, d);
      }
    }
    // Woken by add() (a new deadline may be earlier) or at the earliest one;
    // a deadline moved later is simply found not due yet.
    const std::uint64_t seen = generation_;
    cv_.wait_until(lock, stop, Clock::time_point(Clock::duration(earliest)), [&] { return generation_ != seen; });
  }
}

}  // namespace cnai::router
