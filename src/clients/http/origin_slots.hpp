// At most N requests in flight per origin; the others wait for a slot of
// their own origin, first come first served: a freed slot goes straight to
// the oldest waiter of that origin (no polling, no thundering herd), and a
// waiter is woken at once by its cancel token or its deadline.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "clients/http/http_client.hpp"

namespace cnai::clients::detail {

class OriginSlots {
 public:
  using Clock = std::chrono::steady_clock;

  explicit OriginSlots(std::size_t per_origin) : limit_(per_origin) {}

  /// Holds one slot of an origin; releases it (or hands it to the next waiter) on destruction.
  class Slot {
   public:
    Slot(OriginSlots* owner, std::string key) : owner_(owner), key_(std::move(key)) {}
    Slot(Slot&& other) noexcept : owner_(std::exchange(other.owner_, nullptr)), key_(std::move(other.key_)) {}
    Slot& operator=(Slot&&) = delete;
    ~Slot() {
      if (owner_) owner_->release(key_);
    }

   private:
    OriginSlots* owner_;
    std::string key_;
  };

  /// Waits for a slot of `key` until `deadline`. Errors: timeout (naming
  /// `timeout`, the connect timeout that bounds the wait), cancelled.
  Slot acquire(const std::string& key, Clock::time_point deadline, std::chrono::milliseconds timeout,
               const CancelToken* cancel);

  /// Requests of `key` in flight and waiting (for tests and metrics).
  std::size_t in_flight(const std::string& key) const;
  std::size_t waiting(const std::string& key) const;

 private:
  struct Waiter {
    std::condition_variable wake;
    bool granted = false;
    bool cancelled = false;
  };
  struct Origin {
    std::size_t active = 0;
    std::deque<std::shared_ptr<Waiter>> queue;
  };
  void release(const std::string& key);

  const std::size_t limit_;
  mutable std::mutex mutex_;
  std::map<std::string, Origin> origins_;
};

}  // namespace cnai::clients::detail
