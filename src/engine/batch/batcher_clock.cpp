// BatcherClock: steady time, or manual time that wakes its listeners on advance.
#include "cnai/core/error.hpp"
#include "cnai/engine/dynamic_batcher.hpp"

namespace cnai {

BatcherClock::BatcherClock(bool manual, time_point start) : manual_(manual), now_(start) {}

std::shared_ptr<BatcherClock> BatcherClock::steady() {
  static const auto clock = std::make_shared<BatcherClock>(false, time_point{});
  return clock;
}

std::shared_ptr<BatcherClock> BatcherClock::manual(time_point start) {
  return std::make_shared<BatcherClock>(true, start);
}

BatcherClock::time_point BatcherClock::now() const {
  if (!manual_) return std::chrono::steady_clock::now();
  std::lock_guard lock(time_mutex_);
  return now_;
}

void BatcherClock::advance(duration step) {
  if (!manual_) throw Error(ErrorCode::invalid_argument, "advance: the steady clock cannot be moved");
  if (step < duration::zero()) throw Error(ErrorCode::invalid_argument, "advance: a clock does not go back");
  {
    std::lock_guard lock(time_mutex_);
    now_ += step;
  }
  // Not under time_mutex_: listeners take their batcher's lock, and a batcher
  // reads now() while holding it.
  std::lock_guard lock(listeners_mutex_);
  for (auto& [id, fn] : listeners_) fn();
}

std::uint64_t BatcherClock::add_listener(std::function<void()> on_advance) {
  std::lock_guard lock(listeners_mutex_);
  const std::uint64_t id = next_listener_++;
  listeners_.emplace(id, std::move(on_advance));
  return id;
}

void BatcherClock::remove_listener(std::uint64_t id) {
  std::lock_guard lock(listeners_mutex_);
  listeners_.erase(id);
}

}  // namespace cnai
