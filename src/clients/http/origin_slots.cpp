#include "clients/http/origin_slots.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "cnai/core/error.hpp"

namespace cnai::clients::detail {

OriginSlots::Slot OriginSlots::acquire(const std::string& key, Clock::time_point deadline,
                                       std::chrono::milliseconds timeout, const CancelToken* cancel) {
  std::unique_lock lock(mutex_);
  Origin& origin = origins_[key];
  if (origin.active < limit_ && origin.queue.empty()) {
    ++origin.active;
    return Slot(this, key);
  }
  auto waiter = std::make_shared<Waiter>();
  origin.queue.push_back(waiter);
  lock.unlock();
  // The cancel callback takes mutex_ itself; it must be registered unlocked.
  const std::uint64_t callback = cancel ? cancel->add_callback([this, waiter] {
    std::lock_guard guard(mutex_);
    waiter->cancelled = true;
    waiter->wake.notify_one();
  })
                                        : 0;
  lock.lock();
  waiter->wake.wait_until(lock, deadline, [&] { return waiter->granted || waiter->cancelled; });
  const bool granted = waiter->granted, cancelled = waiter->cancelled;
  if (!granted) std::erase(origins_[key].queue, waiter);
  lock.unlock();
  if (cancel) cancel->remove_callback(callback);
  if (granted) {
    if (!cancelled) return Slot(this, key);
    release(key);  // granted and cancelled at once: pass the slot on
  }
  if (cancelled) {
    throw Error(ErrorCode::cancelled, fmt::format("HTTP request to {} cancelled while waiting for a connection", key));
  }
  throw Error(ErrorCode::timeout, fmt::format("connect timeout ({} ms) expired waiting for one of the {} connections to {}",
                                              timeout.count(), limit_, key));
}

void OriginSlots::release(const std::string& key) {
  std::lock_guard lock(mutex_);
  Origin& origin = origins_[key];
  if (!origin.queue.empty()) {  // hand the slot over: `active` stays the same
    std::shared_ptr<Waiter> next = std::move(origin.queue.front());
    origin.queue.pop_front();
    next->granted = true;
    next->wake.notify_one();
    return;
  }
  --origin.active;
}

std::size_t OriginSlots::in_flight(const std::string& key) const {
  std::lock_guard lock(mutex_);
  auto it = origins_.find(key);
  return it == origins_.end() ? 0 : it->second.active;
}

std::size_t OriginSlots::waiting(const std::string& key) const {
  std::lock_guard lock(mutex_);
  auto it = origins_.find(key);
  return it == origins_.end() ? 0 : it->second.queue.size();
}

}  // namespace cnai::clients::detail
