// CircuitBreaker: a count-bounded, time-bounded ring of outcomes; the state
// moves open -> half-open lazily when asked, so there is no timer thread.
#include "cnai/router/circuit_breaker.hpp"

#include <algorithm>

namespace cnai {

std::string_view to_string(BreakerState s) noexcept {
  switch (s) {
    case BreakerState::closed: return "closed";
    case BreakerState::open: return "open";
    case BreakerState::half_open: return "half_open";
  }
  return "unknown";
}

CircuitBreaker::CircuitBreaker(CircuitBreakerOptions options) : options_(options) {
  options_.window_calls = std::max(1, options_.window_calls);
  options_.minimum_calls = std::clamp(options_.minimum_calls, 1, options_.window_calls);
  options_.half_open_probes = std::max(1, options_.half_open_probes);
  options_.half_open_successes = std::max(1, options_.half_open_successes);
  ring_.reserve(static_cast<std::size_t>(options_.window_calls));
}

void CircuitBreaker::refresh_locked(Clock::time_point now) const {
  if (state_ == BreakerState::open && now >= open_until_) state_ = BreakerState::half_open;
}

void CircuitBreaker::open_locked(std::chrono::milliseconds cooldown, Clock::time_point now) {
  // A cooldown only ever grows: a failure reported late (a call started before
  // the breaker opened) must not bring the recovery time forward.
  open_until_ = std::max(open_until_, now + cooldown);
  state_ = BreakerState::open;
  probe_successes_ = 0;
}

CircuitBreaker::Admission CircuitBreaker::admit(Clock::time_point now) {
  std::lock_guard lock(mutex_);
  refresh_locked(now);
  switch (state_) {
    case BreakerState::closed: return Admission::normal;
    case BreakerState::open: return Admission::rejected;
    case BreakerState::half_open:
      if (probes_in_flight_ >= options_.half_open_probes) return Admission::rejected;
      ++probes_in_flight_;
      return Admission::probe;
  }
  return Admission::rejected;
}

void CircuitBreaker::release(Admission admission) {
  if (admission != Admission::probe) return;
  std::lock_guard lock(mutex_);
  if (probes_in_flight_ > 0) --probes_in_flight_;
}

void CircuitBreaker::record_success(Admission admission, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  if (admission == Admission::probe) {
    if (probes_in_flight_ > 0) --probes_in_flight_;
    refresh_locked(now);
    if (state_ == BreakerState::half_open && ++probe_successes_ >= options_.half_open_successes) {
      state_ = BreakerState::closed;
      ring_.clear();  // a fresh window: the failures that opened it are history
      next_ = 0;
      probe_successes_ = 0;
    }
    return;
  }
  if (state_ != BreakerState::closed) return;  // a late success does not close an open breaker
  Outcome o{now, false};
  if (ring_.size() < static_cast<std::size_t>(options_.window_calls)) {
    ring_.push_back(o);
  } else {
    ring_[next_] = o;
    next_ = (next_ + 1) % ring_.size();
  }
}

void CircuitBreaker::record_failure(Admission admission, std::optional<std::chrono::milliseconds> retry_after,
                                    Clock::time_point now) {
  std::lock_guard lock(mutex_);
  std::chrono::milliseconds cooldown = options_.cooldown;
  if (retry_after) cooldown = std::max(cooldown, std::min(*retry_after, options_.max_cooldown));
  if (admission == Admission::probe && probes_in_flight_ > 0) --probes_in_flight_;
  refresh_locked(now);
  if (state_ != BreakerState::closed || retry_after) {
    // A failed probe, a failure while open, or an upstream that said how long to wait.
    open_locked(cooldown, now);
    return;
  }
  Outcome o{now, true};
  if (ring_.size() < static_cast<std::size_t>(options_.window_calls)) {
    ring_.push_back(o);
  } else {
    ring_[next_] = o;
    next_ = (next_ + 1) % ring_.size();
  }
  int calls = 0, failures = 0;
  for (const Outcome& x : ring_) {
    if (now - x.at > options_.window) continue;
    ++calls;
    failures += x.failed ? 1 : 0;
  }
  if (calls >= options_.minimum_calls &&
      static_cast<double>(failures) >= options_.failure_rate * static_cast<double>(calls)) {
    open_locked(cooldown, now);
  }
}

void CircuitBreaker::trip(std::optional<std::chrono::milliseconds> cooldown, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  open_locked(std::min(cooldown.value_or(options_.cooldown), options_.max_cooldown), now);
}

BreakerState CircuitBreaker::state(Clock::time_point now) const {
  std::lock_guard lock(mutex_);
  refresh_locked(now);
  return state_;
}

CircuitBreaker::Clock::time_point CircuitBreaker::open_until() const {
  std::lock_guard lock(mutex_);
  return state_ == BreakerState::open ? open_until_ : Clock::time_point{};
}

}  // namespace cnai
