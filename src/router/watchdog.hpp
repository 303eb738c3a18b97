// Watchdog: one thread that stops attempts whose deadline passed (a stream's
// first-token or inter-chunk timeout, a call's total timeout) by requesting
// their stop_source. Deadlines only move by an atomic store, so a chunk costs
// no lock; the thread re-reads them when it wakes.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <stop_token>
#include <thread>
#include <unordered_set>

namespace cnai::router {

class Watchdog {
 public:
  using Clock = std::chrono::steady_clock;
  struct Watch {
    std::stop_source source;
    std::atomic<std::int64_t> deadline_ns{0};  // Clock epoch nanoseconds
    std::atomic<bool> fired{false};
    void set_deadline(Clock::time_point t) noexcept {
      deadline_ns.store(t.time_since_epoch().count(), std::memory_order_relaxed);
    }
  };

  Watchdog() = default;
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  void add(Watch* w);
  void remove(Watch* w);

 private:
  void loop(std::stop_token stop);
  std::mutex mutex_;
  std::condition_variable_any cv_;
  std::unordered_set<Watch*> watches_;
  std::uint64_t generation_ = 0;  // bumped by add(): wakes the thread
  std::jthread thread_;  // started by the first add()
};

}  // namespace cnai::router
